package fsm

import (
	fsmv1 "github.com/bookd/bookd/proto/bookd/fsm/v1"
	"google.golang.org/protobuf/proto"
)

// Members' RPC addresses are replicated state so that every node can tell a
// client, or forward a request, to the leader's RPC endpoint. Raft itself
// only knows members' Raft addresses.

// ValidateMember checks a member's id, and its RPC address unless it is
// empty, as RegisterMember will: a membership change checks them before it
// touches the Raft configuration, so that a member is never added that can
// never register.
func ValidateMember(id, rpcAddr string) *Error {
	if err := checkText("id", id, MaxIDLen, true); err != nil {
		return err
	}
	return checkText("rpc_address", rpcAddr, MaxIDLen, false)
}

func (t *txn) registerMember(r *fsmv1.RegisterMember) (proto.Message, *Error) {
	if err := ValidateMember(r.GetId(), r.GetRpcAddress()); err != nil {
		return nil, err
	}
	if r.GetRpcAddress() == "" {
		return nil, invalid("rpc_address: required")
	}
	t.set(memberKey(r.GetId()), []byte(r.GetRpcAddress()))
	return r, nil
}

func (t *txn) unregisterMember(r *fsmv1.UnregisterMember) (proto.Message, *Error) {
	t.delete(memberKey(r.GetId()))
	return r, nil
}
