package raftnode

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/bookd/bookd/fsm"
	fsmv1 "github.com/bookd/bookd/proto/bookd/fsm/v1"
	"github.com/hashicorp/raft"
)

// AddNode adds a member to the Raft configuration (a no-op for a member
// already there with the same address) and records its RPC address. An
// operator's add also clears a removal's tombstone for id; see AddSelf for
// a node asking for itself.
func (n *Node) AddNode(ctx context.Context, id, raftAddr, rpcAddr string, voter bool) error {
	return n.addMember(ctx, id, raftAddr, rpcAddr, voter, false)
}

// AddSelf is a node asking for itself: to join (it is in no configuration
// the leader knows), to have its RPC address recorded, or to have its new
// Raft address recorded. It never changes the suffrage of a member already
// in the configuration, and fails with ErrRemoved for a member an operator
// removed, so a request sent just before a removal cannot add the node back
// after it.
func (n *Node) AddSelf(ctx context.Context, id, raftAddr, rpcAddr string, voter bool) error {
	return n.addMember(ctx, id, raftAddr, rpcAddr, voter, true)
}

func (n *Node) addMember(ctx context.Context, id, raftAddr, rpcAddr string, voter, self bool) error {
	if err := checkMember(id, raftAddr, rpcAddr); err != nil {
		return err
	}
	if n.raft.State() != raft.Leader {
		return ErrNotLeader
	}
	// Membership changes on this leader run one at a time, and each starts
	// from a state that holds every committed change (a removal's tombstone
	// included), so an addition is never queued behind a removal it did
	// not see.
	n.membership.Lock()
	defer n.membership.Unlock()
	if err := n.ReadBarrier(ctx); err != nil {
		return err
	}
	removed, err := n.Removed(id)
	if err != nil {
		return err
	}
	if removed && self {
		return fmt.Errorf("%w: %s", ErrRemoved, id)
	}
	current, inConfig, err := n.configMember(id)
	if err != nil {
		return err
	}
	addr := serverAddress(id, raftAddr)
	switch {
	case !self || !inConfig: // an operator's add, or a join
	case current.Address != addr: // a member that moved keeps its suffrage
		voter = current.Suffrage == raft.Voter
	default: // a member recording its RPC address: no configuration change
		addr = ""
	}
	if addr != "" {
		add := n.raft.AddVoter
		if !voter {
			add = n.raft.AddNonvoter
		}
		if err := add(raft.ServerID(id), addr, 0, enqueueTimeout).Error(); err != nil {
			return proposeError(err)
		}
	}
	if rpcAddr == "" && removed { // an operator adds it back: drop the tombstone
		return n.proposeInternal(&fsm.Command{Op: &fsmv1.Command_UnregisterMember{UnregisterMember: &fsmv1.UnregisterMember{Id: id}}})
	}
	if rpcAddr == "" {
		return nil
	}
	return n.RegisterMember(id, rpcAddr)
}

// checkMember checks a member to be added before the configuration
// changes: its id and RPC address as the state machine will when it
// records them, and that its addresses can be dialled. Each failure is an
// *fsm.Error with code INVALID_ARGUMENT naming the field.
func checkMember(id, raftAddr, rpcAddr string) error {
	if err := fsm.ValidateMember(id, rpcAddr); err != nil {
		return err
	}
	if err := dialable("raft_address", raftAddr); err != nil || rpcAddr == "" {
		return err
	}
	return dialable("rpc_address", rpcAddr) // a removal's tombstone is no address either
}

// dialable is checkRoutable's answer as an INVALID_ARGUMENT naming field.
func dialable(field, addr string) error {
	if err := checkRoutable(field, addr); err != nil {
		return &fsm.Error{Code: fsm.CodeInvalidArgument, Message: strings.TrimPrefix(err.Error(), "raftnode: ")}
	}
	return nil
}

// configMember looks id up in the latest Raft configuration.
func (n *Node) configMember(id string) (raft.Server, bool, error) {
	cf := n.raft.GetConfiguration()
	if err := cf.Error(); err != nil {
		return raft.Server{}, false, proposeError(err)
	}
	for _, s := range cf.Configuration().Servers {
		if string(s.ID) == id {
			return s, true, nil
		}
	}
	return raft.Server{}, false, nil
}

// RegisterMember records a member's RPC address, unless it is recorded already.
func (n *Node) RegisterMember(id, rpcAddr string) error {
	members, err := n.fsm.Members()
	if err != nil {
		return err
	}
	for _, m := range members {
		if m.ID == id && m.RPCAddress == rpcAddr {
			return nil
		}
	}
	return n.proposeInternal(&fsm.Command{Op: &fsmv1.Command_RegisterMember{RegisterMember: &fsmv1.RegisterMember{Id: id, RpcAddress: rpcAddr}}})
}

// MinVoters is the fewest voters RemoveNode leaves without force.
const MinVoters = 3

// ErrTooFewVoters: removing the voter would leave fewer than MinVoters.
var ErrTooFewVoters = errors.New("raftnode: too few voters would remain")

// RemoveNode removes a member from the Raft configuration. Unless force is
// set it refuses to leave fewer than MinVoters voters: with two, any fault
// stops the cluster, and hashicorp/raft voters refuse candidates missing
// from their own configuration, so a voter that missed the removal can block
// every election for good. Replace a node by adding the new one first.
func (n *Node) RemoveNode(ctx context.Context, id string, force bool) error {
	if n.raft.State() != raft.Leader {
		return ErrNotLeader
	}
	n.membership.Lock()
	defer n.membership.Unlock()
	if !force {
		if err := n.checkVotersLeft(id); err != nil {
			return err
		}
	}
	// The tombstone commits before the removal is proposed: whichever
	// leader handles a later request of the node to add itself has it.
	tomb := &fsmv1.RegisterMember{Id: id, RpcAddress: removedMarker}
	if err := n.proposeInternal(&fsm.Command{Op: &fsmv1.Command_RegisterMember{RegisterMember: tomb}}); err != nil {
		return err
	}
	if err := n.raft.RemoveServer(raft.ServerID(id), 0, enqueueTimeout).Error(); err != nil {
		return proposeError(err)
	}
	return nil
}

// TransferLeadership hands leadership to the voter id, or to the most
// caught-up voter when id is empty, and waits for the hand-over.
func (n *Node) TransferLeadership(ctx context.Context, id string) error {
	if n.raft.State() != raft.Leader {
		return ErrNotLeader
	}
	if id == n.cfg.ID {
		return nil // already there: a retried transfer must not fail
	}
	var f raft.Future
	if id == "" {
		f = n.raft.LeadershipTransfer()
	} else {
		addr, err := n.raftAddress(id)
		if err != nil {
			return err
		}
		f = n.raft.LeadershipTransferToServer(raft.ServerID(id), raft.ServerAddress(addr))
	}
	if err := f.Error(); err != nil {
		return proposeError(err)
	}
	return nil
}

// checkVotersLeft refuses a removal that leaves fewer than MinVoters voters.
func (n *Node) checkVotersLeft(id string) error {
	cf := n.raft.GetConfiguration()
	if err := cf.Error(); err != nil {
		return proposeError(err)
	}
	voters, removingVoter := 0, false
	for _, s := range cf.Configuration().Servers {
		if s.Suffrage != raft.Voter {
			continue
		}
		if string(s.ID) == id {
			removingVoter = true
			continue
		}
		voters++
	}
	if removingVoter && voters < MinVoters {
		return fmt.Errorf("%w: removing voter %s would leave %d; add its replacement first, or force the removal", ErrTooFewVoters, id, voters)
	}
	return nil
}

func (n *Node) raftAddress(id string) (string, error) {
	s, ok, err := n.configMember(id)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", fmt.Errorf("%w: %s", ErrUnknownMember, id)
	}
	return string(s.Address), nil
}

// CommittedMember reports whether this node is in the Raft configuration
// and that configuration is committed (as far as this node has applied).
func (n *Node) CommittedMember() (bool, error) {
	cf := n.raft.GetConfiguration()
	if err := cf.Error(); err != nil {
		return false, proposeError(err)
	}
	for _, s := range cf.Configuration().Servers {
		if string(s.ID) == n.cfg.ID {
			return n.raft.AppliedIndex() >= cf.Index(), nil
		}
	}
	return false, nil
}

// ErrUnknownMember: no member has that id.
var ErrUnknownMember = fmt.Errorf("raftnode: no such member")

// proposeInternal proposes a command whose result carries no business error.
func (n *Node) proposeInternal(cmd *fsm.Command) error {
	res, err := n.Propose(context.Background(), cmd)
	if err != nil {
		return err
	}
	if res.Err != nil {
		return res.Err
	}
	return nil
}
