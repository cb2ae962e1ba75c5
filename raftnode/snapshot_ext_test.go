package raftnode_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/bookd/bookd/raftnode"
)

// With a low snapshot threshold the leader compacts its log; a node added
// afterwards catches up from a snapshot, and a restart from a snapshot keeps
// the state.
func TestSnapshotCompactionAndCatchUp(t *testing.T) {
	cfg := nodeConfig(t, "n1")
	cfg.SnapshotInterval = 50 * time.Millisecond
	cfg.SnapshotThreshold = 8
	cfg.TrailingLogs = 4
	n1 := singleNode(t, cfg)

	var ids []string
	for i := range 40 {
		ids = append(ids, createEvent(t, n1, fmt.Sprintf("event %d", i), 2).GetId())
	}
	waitFor(t, waitLong, func() error {
		first, err := n1.FirstLogIndex()
		if err != nil {
			return err
		}
		if first <= uint64(len(ids))/2 {
			return fmt.Errorf("log still starts at %d", first)
		}
		return nil
	})

	cfg2 := nodeConfig(t, "n2")
	n2 := openNode(t, cfg2)
	if err := n1.AddNode(context.Background(), "n2", cfg2.RaftAddr, cfg2.RPCAddr, true); err != nil {
		t.Fatalf("AddNode n2: %v", err)
	}
	waitApplied(t, n2, n1.FSM().AppliedIndex())
	for _, id := range ids {
		if _, err := n2.FSM().Event(id); err != nil {
			t.Fatalf("n2 after catching up from a snapshot: event %s: %v", id, err)
		}
	}
	// The log before the snapshot is gone, so n2 got it by InstallSnapshot.
	if first, err := n2.FirstLogIndex(); err != nil || first <= 1 {
		t.Errorf("n2's log starts at %d (%v), want after the leader's snapshot", first, err)
	}
	waitSameDigest(t, n1, n2)

	// Restart the new member from its snapshot and log.
	applied := n2.FSM().AppliedIndex()
	if err := n2.Close(); err != nil {
		t.Fatalf("close n2: %v", err)
	}
	n2 = openNode(t, cfg2)
	if got := n2.FSM().AppliedIndex(); got < applied {
		t.Errorf("n2 reopened at applied %d, below %d", got, applied)
	}
	leader := waitReady(t, []*raftnode.Node{n1, n2})
	ev := createEvent(t, leader, "after restart", 1)
	for _, n := range []*raftnode.Node{n1, n2} {
		waitApplied(t, n, indexOf(t, ev.GetId()))
		if _, err := n.FSM().Event(ids[0]); err != nil {
			t.Errorf("%s: first event after restart: %v", n.ID(), err)
		}
	}
}
