package raftnode_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/bookd/bookd/raftnode"
)

func TestThreeNodeRoles(t *testing.T) {
	nodes, cfgs := startCluster(t, 3)
	leader := waitReady(t, nodes)
	rpcOf := map[string]string{}
	raftOf := map[string]string{}
	for _, c := range cfgs {
		rpcOf[c.ID], raftOf[c.ID] = c.RPCAddr, c.RaftAddr
	}
	ctx := context.Background()

	ev := createEvent(t, leader, "concert", 100)
	for _, f := range others(nodes, leader) {
		if _, err := f.Propose(ctx, createEventCmd("on a follower", 1)); !errors.Is(err, raftnode.ErrNotLeader) {
			t.Errorf("Propose on follower %s = %v, want ErrNotLeader", f.ID(), err)
		}
		if err := f.ReadBarrier(ctx); !errors.Is(err, raftnode.ErrNotLeader) {
			t.Errorf("ReadBarrier on follower %s = %v, want ErrNotLeader", f.ID(), err)
		}
		if err := f.AddNode(ctx, "n9", "127.0.0.1:7009", "127.0.0.1:8009", true); !errors.Is(err, raftnode.ErrNotLeader) {
			t.Errorf("AddNode on follower %s = %v, want ErrNotLeader", f.ID(), err)
		}
		if err := f.RemoveNode(ctx, leader.ID(), false); !errors.Is(err, raftnode.ErrNotLeader) {
			t.Errorf("RemoveNode on follower %s = %v, want ErrNotLeader", f.ID(), err)
		}
		if err := f.TransferLeadership(ctx, f.ID()); !errors.Is(err, raftnode.ErrNotLeader) {
			t.Errorf("TransferLeadership on follower %s = %v, want ErrNotLeader", f.ID(), err)
		}
	}
	if err := leader.ReadBarrier(ctx); err != nil {
		t.Errorf("ReadBarrier on the leader: %v", err)
	}

	// Followers learn the leader's RPC address from the replicated state
	// and apply what the leader applied.
	waitFor(t, waitLong, func() error {
		for _, f := range others(nodes, leader) {
			id, addr := f.Leader()
			if id != leader.ID() || addr != leader.RPCAddr() {
				return fmt.Errorf("%s: Leader() = %q, %q; want %s, %s", f.ID(), id, addr, leader.ID(), leader.RPCAddr())
			}
		}
		return nil
	})
	for _, f := range others(nodes, leader) {
		waitApplied(t, f, indexOf(t, ev.GetId()))
		if got, err := f.FSM().Event(ev.GetId()); err != nil || got.GetName() != "concert" {
			t.Errorf("follower %s: event %s = %v, %v", f.ID(), ev.GetId(), got, err)
		}
		if d := f.LastContact(); d <= 0 || d > 10*testHeartbeat {
			t.Errorf("follower %s: LastContact() = %s, want a recent contact", f.ID(), d)
		}
	}

	for _, n := range nodes {
		st, err := n.Status()
		if err != nil {
			t.Fatalf("Status on %s: %v", n.ID(), err)
		}
		wantState := "Follower"
		if n == leader {
			wantState = "Leader"
		}
		if st.NodeID != n.ID() || st.State != wantState || st.LeaderID != leader.ID() || st.LeaderRPC != leader.RPCAddr() {
			t.Errorf("Status on %s = %+v, want node %s, state %s, leader %s at %s", n.ID(), st, n.ID(), wantState, leader.ID(), leader.RPCAddr())
		}
		if len(st.Members) != 3 {
			t.Errorf("Status on %s lists %d members, want 3: %+v", n.ID(), len(st.Members), st.Members)
		}
		leaders := 0
		for _, m := range st.Members {
			if !m.Voter {
				t.Errorf("Status on %s: member %s is not a voter", n.ID(), m.ID)
			}
			if m.RaftAddr != raftOf[m.ID] {
				t.Errorf("Status on %s: member %s at raft address %q, want %q", n.ID(), m.ID, m.RaftAddr, raftOf[m.ID])
			}
			if m.Leader {
				leaders++
				if m.ID != leader.ID() {
					t.Errorf("Status on %s marks %s as leader, want %s", n.ID(), m.ID, leader.ID())
				}
				if m.RPCAddr != rpcOf[m.ID] {
					t.Errorf("Status on %s: leader %s at rpc address %q, want %q", n.ID(), m.ID, m.RPCAddr, rpcOf[m.ID])
				}
			}
		}
		if leaders != 1 {
			t.Errorf("Status on %s marks %d members as leader, want 1", n.ID(), leaders)
		}
	}
}

func TestMembershipChanges(t *testing.T) {
	nodes, _ := startCluster(t, 3)
	leader := waitReady(t, nodes)
	ctx := context.Background()
	ev := createEvent(t, leader, "before join", 10)

	// A node with no initial cluster waits to be added.
	cfg4 := nodeConfig(t, "n4")
	n4 := openNode(t, cfg4)
	if n4.IsLeader() {
		t.Fatal("a node without an initial cluster leads on its own")
	}
	if id, addr := n4.Leader(); id != "" || addr != "" {
		t.Errorf("n4 before joining: Leader() = %q, %q; want none", id, addr)
	}
	if st := mustStatus(t, n4); len(st.Members) != 0 || st.LeaderID != "" {
		t.Errorf("n4 before joining: Status() = %+v, want no members and no leader", st)
	}
	if err := leader.AddNode(ctx, "n4", cfg4.RaftAddr, cfg4.RPCAddr, true); err != nil {
		t.Fatalf("AddNode n4: %v", err)
	}
	// Adding it again with the same address is a no-op.
	if err := leader.AddNode(ctx, "n4", cfg4.RaftAddr, cfg4.RPCAddr, true); err != nil {
		t.Errorf("AddNode n4 again: %v", err)
	}
	want := leader.FSM().AppliedIndex()
	waitApplied(t, n4, want)
	if got, err := n4.FSM().Event(ev.GetId()); err != nil || got.GetName() != "before join" {
		t.Errorf("n4 after catching up: event %s = %v, %v", ev.GetId(), got, err)
	}
	after := createEvent(t, leader, "after join", 10)
	waitApplied(t, n4, indexOf(t, after.GetId()))
	waitFor(t, waitLong, func() error {
		if id, addr := n4.Leader(); id != leader.ID() || addr != leader.RPCAddr() {
			return fmt.Errorf("n4: Leader() = %q, %q; want %s, %s", id, addr, leader.ID(), leader.RPCAddr())
		}
		return nil
	})
	st := mustStatus(t, leader)
	if m, ok := member(st, "n4"); !ok || !m.Voter || m.RaftAddr != cfg4.RaftAddr || m.RPCAddr != cfg4.RPCAddr {
		t.Errorf("after AddNode, Status member n4 = %+v (found %v), want a voter at %s / %s", m, ok, cfg4.RaftAddr, cfg4.RPCAddr)
	}
	if len(st.Members) != 4 {
		t.Errorf("after AddNode, Status lists %d members, want 4", len(st.Members))
	}

	if err := leader.RemoveNode(ctx, "n4", false); err != nil {
		t.Fatalf("RemoveNode n4: %v", err)
	}
	st = mustStatus(t, leader)
	if m, ok := member(st, "n4"); ok {
		t.Errorf("after RemoveNode, Status still lists %+v", m)
	}
	if len(st.Members) != 3 {
		t.Errorf("after RemoveNode, Status lists %d members, want 3", len(st.Members))
	}
	if err := registered(leader, "n4", cfg4.RPCAddr); err == nil {
		t.Error("after RemoveNode, n4's RPC address is still registered")
	}
	if err := n4.Close(); err != nil {
		t.Errorf("close n4: %v", err)
	}

	// A non-voter catches up too, and is listed as such.
	cfg5 := nodeConfig(t, "n5")
	n5 := openNode(t, cfg5)
	if err := leader.AddNode(ctx, "n5", cfg5.RaftAddr, cfg5.RPCAddr, false); err != nil {
		t.Fatalf("AddNode n5 as non-voter: %v", err)
	}
	waitApplied(t, n5, leader.FSM().AppliedIndex())
	if m, ok := member(mustStatus(t, leader), "n5"); !ok || m.Voter {
		t.Errorf("after AddNode as non-voter, Status member n5 = %+v (found %v), want a non-voter", m, ok)
	}
	if err := leader.RemoveNode(ctx, "n5", false); err != nil {
		t.Fatalf("RemoveNode n5: %v", err)
	}
	if err := n5.Close(); err != nil {
		t.Errorf("close n5: %v", err)
	}

	// Unroutable addresses are refused before Raft sees them.
	for _, addr := range []string{"0.0.0.0:7009", ":7009", "127.0.0.1:0", "nonsense"} {
		err := leader.AddNode(ctx, "n9", addr, "127.0.0.1:8009", true)
		if err == nil || !strings.Contains(err.Error(), "raft_address") {
			t.Errorf("AddNode with raft address %q = %v, want an error about raft_address", addr, err)
		}
	}
	if st := mustStatus(t, leader); len(st.Members) != 3 {
		t.Errorf("after refused AddNode calls, Status lists %d members, want 3: %+v", len(st.Members), st.Members)
	}
}

func TestTransferLeadership(t *testing.T) {
	nodes, _ := startCluster(t, 3)
	leader := waitReady(t, nodes)
	ctx := context.Background()

	// To itself: nothing to do, and not an error.
	if err := leader.TransferLeadership(ctx, leader.ID()); err != nil {
		t.Errorf("TransferLeadership to the leader itself: %v", err)
	}
	if !leader.IsLeader() {
		t.Fatalf("%s lost leadership after a transfer to itself", leader.ID())
	}
	if err := leader.TransferLeadership(ctx, "nobody"); !errors.Is(err, raftnode.ErrUnknownMember) {
		t.Errorf("TransferLeadership to an unknown id = %v, want ErrUnknownMember", err)
	}

	target := others(nodes, leader)[1]
	if err := leader.TransferLeadership(ctx, target.ID()); err != nil {
		t.Fatalf("TransferLeadership %s -> %s: %v", leader.ID(), target.ID(), err)
	}
	if got := waitReady(t, nodes); got != target {
		t.Fatalf("after transfer to %s, %s leads", target.ID(), got.ID())
	}
	if _, err := leader.Propose(ctx, createEventCmd("old leader", 1)); !errors.Is(err, raftnode.ErrNotLeader) {
		t.Errorf("Propose on the former leader = %v, want ErrNotLeader", err)
	}
	createEvent(t, target, "new leader", 1)

	// With no id, leadership goes to some other voter.
	if err := target.TransferLeadership(ctx, ""); err != nil {
		t.Fatalf("TransferLeadership from %s to anyone: %v", target.ID(), err)
	}
	if got := waitReady(t, nodes); got == target {
		t.Errorf("after a transfer to anyone, %s still leads", target.ID())
	}
}

// A leader can remove itself: it steps down and the others carry on.
func TestRemoveLeaderItself(t *testing.T) {
	nodes, _ := startCluster(t, 3)
	old := waitReady(t, nodes)
	ctx := context.Background()
	// Two voters would be left: refused unless forced.
	if err := old.RemoveNode(ctx, old.ID(), false); !errors.Is(err, raftnode.ErrTooFewVoters) {
		t.Fatalf("leader %s removing itself from 3 voters without force = %v, want ErrTooFewVoters", old.ID(), err)
	}
	if err := old.RemoveNode(ctx, old.ID(), true); err != nil {
		t.Fatalf("leader %s removing itself: %v", old.ID(), err)
	}
	rest := others(nodes, old)
	leader := waitReady(t, rest)
	st := mustStatus(t, leader)
	if m, ok := member(st, old.ID()); ok || len(st.Members) != 2 {
		t.Errorf("after %s removed itself, Status on %s lists %d members (%+v), want 2 without it", old.ID(), leader.ID(), len(st.Members), m)
	}
	waitFor(t, waitLong, func() error {
		if old.IsLeader() {
			return fmt.Errorf("%s still leads after removing itself", old.ID())
		}
		return nil
	})
	ev := createEvent(t, leader, "after removal", 1)
	for _, n := range rest {
		waitApplied(t, n, indexOf(t, ev.GetId()))
	}
}

func mustStatus(t *testing.T, n *raftnode.Node) raftnode.Status {
	t.Helper()
	st, err := n.Status()
	if err != nil {
		t.Fatalf("Status on %s: %v", n.ID(), err)
	}
	return st
}

func member(st raftnode.Status, id string) (raftnode.MemberStatus, bool) {
	for _, m := range st.Members {
		if m.ID == id {
			return m, true
		}
	}
	return raftnode.MemberStatus{}, false
}
