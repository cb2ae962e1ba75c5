package fsm

import (
	fsmv1 "github.com/bookd/bookd/proto/bookd/fsm/v1"
	"google.golang.org/protobuf/proto"
)

// Members' RPC addresses are replicated state so that every node can tell a
// client, or forward a request, to the leader's RPC endpoint. Raft itself
// only knows members' Raft addresses.

func (t *txn) registerMember(r *fsmv1.RegisterMember) (proto.Message, *Error) {
	if err := checkText("id", r.GetId(), MaxIDLen, true); err != nil {
		return nil, err
	}
	if err := checkText("rpc_address", r.GetRpcAddress(), MaxIDLen, true); err != nil {
		return nil, err
	}
	t.set(memberKey(r.GetId()), []byte(r.GetRpcAddress()))
	return r, nil
}

func (t *txn) unregisterMember(r *fsmv1.UnregisterMember) (proto.Message, *Error) {
	t.delete(memberKey(r.GetId()))
	return r, nil
}
