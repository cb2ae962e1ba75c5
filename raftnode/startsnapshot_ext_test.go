package raftnode_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"

	"github.com/bookd/bookd/raftnode"
)

// A restarted node starts Raft from its store's applied index, with the
// configuration the store recorded: before it hears from any leader, Raft
// has applied (skipped) everything the store held and knows every member,
// the one added last included. It then catches up with the cluster, and
// takes real snapshots as before.
func TestRestartStartsFromTheStore(t *testing.T) {
	nodes, cfgs := startCluster(t, 3)
	leader := waitReady(t, nodes)
	cfg4 := nodeConfig(t, "n4")
	openNode(t, cfg4)
	if err := leader.AddNode(context.Background(), "n4", cfg4.RaftAddr, cfg4.RPCAddr, false); err != nil {
		t.Fatalf("add n4: %v", err)
	}
	var ids []string
	for i := range 20 {
		ids = append(ids, createEvent(t, leader, fmt.Sprintf("event %d", i), 2).GetId())
	}
	follower := others(nodes, leader)[0]
	waitApplied(t, follower, indexOf(t, ids[len(ids)-1]))
	held := follower.FSM().AppliedIndex()
	if err := follower.Close(); err != nil {
		t.Fatal(err)
	}
	var cfg raftnode.Config
	for _, c := range cfgs {
		if c.ID == follower.ID() {
			cfg = c
		}
	}
	cfg.InitialCluster = nil
	n := openNode(t, cfg)

	// Nothing has been heard from a leader yet that could explain these.
	stats := n.Raft().Stats()
	if got := stats["last_snapshot_index"]; got != strconv.FormatUint(held, 10) {
		t.Errorf("raft starts from snapshot index %s, want the store's applied index %d", got, held)
	}
	if got := n.Raft().AppliedIndex(); got < held {
		t.Errorf("raft's applied index after open is %d, want the store's %d", got, held)
	}
	cf := n.Raft().GetConfiguration()
	if err := cf.Error(); err != nil {
		t.Fatal(err)
	}
	if got := len(cf.Configuration().Servers); got != 4 {
		t.Errorf("restarted node knows %d members, want 4: %+v", got, cf.Configuration().Servers)
	}

	nodes = append(others(nodes, follower), n)
	leader = waitReady(t, nodes)
	ev := createEvent(t, leader, "after restart", 1)
	waitApplied(t, n, indexOf(t, ev.GetId()))
	if _, err := n.FSM().Event(ids[0]); err != nil {
		t.Errorf("first event after restart: %v", err)
	}
	waitFor(t, waitLong, func() error {
		if st := n.Startup(); st.StateComplete.IsZero() || st.StateComplete.Before(st.Opened) || st.Opened.Before(st.Started) {
			return fmt.Errorf("startup times missing or out of order: %+v", st)
		}
		return nil
	})
	// A real snapshot after such a start describes a real state.
	if err := n.Raft().Snapshot().Error(); err != nil {
		t.Fatalf("snapshot after restart: %v", err)
	}
	if got := n.Raft().Stats()["last_snapshot_index"]; got == strconv.FormatUint(held, 10) {
		t.Errorf("snapshot index still %s after a snapshot past it", got)
	}
	waitSameDigest(t, leader, n)
}
