package raftnode_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

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

// A node restarted from its store, whose log was compacted behind a real
// snapshot older than the store, sends a member added afterwards a
// snapshot at or past the index Raft started from (the store's), never the
// older real one: after that older one the leader would look for entries
// its log no longer holds, and send it again for ever. The new member
// catches up to the same state, and so does it after a restart of its own.
func TestRestartedFromStoreSendsSnapshotOfStore(t *testing.T) {
	cfg := nodeConfig(t, "n1")
	cfg.SnapshotInterval = time.Hour // snapshots only when the test takes one
	cfg.SnapshotThreshold = 1 << 20
	cfg.TrailingLogs = 2
	n1 := singleNode(t, cfg)
	var ids []string
	for i := range 20 {
		ids = append(ids, createEvent(t, n1, fmt.Sprintf("event %d", i), 2).GetId())
	}
	if err := n1.Raft().Snapshot().Error(); err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	real := n1.Raft().Stats()["last_snapshot_index"]
	for i := range 5 {
		ids = append(ids, createEvent(t, n1, fmt.Sprintf("after the snapshot %d", i), 2).GetId())
	}
	held := n1.FSM().AppliedIndex()
	if err := n1.Close(); err != nil {
		t.Fatal(err)
	}
	cfg.InitialCluster = nil
	n1 = openNode(t, cfg)
	if got := n1.Raft().Stats()["last_snapshot_index"]; got != strconv.FormatUint(held, 10) {
		t.Fatalf("raft starts from snapshot index %s (the real one is at %s), want the store's applied index %d", got, real, held)
	}
	waitReady(t, []*raftnode.Node{n1})
	if first, err := n1.FirstLogIndex(); err != nil || first <= 1 {
		t.Fatalf("n1's log starts at %d (%v), want compacted", first, err)
	}

	cfg2 := nodeConfig(t, "n2")
	n2 := openNode(t, cfg2)
	if err := n1.AddNode(context.Background(), "n2", cfg2.RaftAddr, cfg2.RPCAddr, true); err != nil {
		t.Fatalf("AddNode n2: %v", err)
	}
	ev := createEvent(t, n1, "after n2 joined", 1)
	waitApplied(t, n2, indexOf(t, ev.GetId()))
	waitSameDigest(t, n1, n2)
	got, err := strconv.ParseUint(n2.Raft().Stats()["last_snapshot_index"], 10, 64)
	if err != nil || got < held {
		t.Errorf("n2 installed a snapshot at %d (%v), want at or past n1's start point %d", got, err, held)
	}
	for _, id := range ids {
		if _, err := n2.FSM().Event(id); err != nil {
			t.Fatalf("n2: event %s: %v", id, err)
		}
	}

	// n2 restarts from its own store and still follows.
	if err := n2.Close(); err != nil {
		t.Fatal(err)
	}
	n2 = openNode(t, cfg2)
	leader := waitReady(t, []*raftnode.Node{n1, n2})
	ev = createEvent(t, leader, "after n2 restarted", 1)
	waitApplied(t, n2, indexOf(t, ev.GetId()))
	waitSameDigest(t, n1, n2)
}
