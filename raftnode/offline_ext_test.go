package raftnode_test

import (
	"bytes"
	"context"
	"log/slog"
	"slices"
	"testing"

	"github.com/bookd/bookd/fsm"
	"github.com/bookd/bookd/raftnode"
)

// A cluster seeded from a backup keeps the bookings but not the old
// cluster's member records: forwarding by them would send the new
// cluster's writes, and its members' requests to be registered, to the old
// cluster's nodes (which may well still be running).
func TestSeedFromBackupForgetsTheOldMembers(t *testing.T) {
	old := singleNode(t, nodeConfig(t, "old1"))
	ev := createEvent(t, old, "Kept", 10)
	var backup bytes.Buffer
	if _, err := old.FSM().WriteBackup(&backup); err != nil {
		t.Fatal(err)
	}

	cfg := nodeConfig(t, "new1")
	if _, err := raftnode.SeedFromBackup(cfg.DataDir, &backup, []raftnode.Peer{{ID: cfg.ID, RaftAddr: cfg.RaftAddr}}, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	seeded := openNode(t, cfg)
	waitReady(t, []*raftnode.Node{seeded})
	if got, err := seeded.FSM().Event(ev.GetId()); err != nil || got.GetName() != "Kept" {
		t.Fatalf("event %s in the seeded cluster: %v, %v", ev.GetId(), got, err)
	}
	members, err := seeded.FSM().Members()
	if want := []fsm.Member{{ID: "new1", RPCAddress: cfg.RPCAddr}}; err != nil || !slices.Equal(members, want) {
		t.Errorf("seeded cluster's members: %v, %v; want %v", members, err, want)
	}

	// The store still records the old cluster's Raft configuration (the
	// backup's state); a restart past the seed's snapshot starts from the
	// store with the seed's configuration, and leads again.
	after := createEvent(t, seeded, "After the seed", 1)
	if err := seeded.Close(); err != nil {
		t.Fatal(err)
	}
	seeded = openNode(t, cfg)
	servers := seeded.Raft().GetConfiguration().Configuration().Servers
	if len(servers) != 1 || servers[0].ID != "new1" {
		t.Fatalf("restarted seeded node's configuration: %+v, want new1 alone", servers)
	}
	waitReady(t, []*raftnode.Node{seeded})
	if _, err := seeded.FSM().Event(after.GetId()); err != nil {
		t.Errorf("event written after the seed, after a restart: %v", err)
	}
}

// A node recovered alone (RecoverCluster) after its cluster added a member
// restarts, once it has written past the recovery's snapshot, with the
// recovered configuration, not the one its store recorded before: it
// leads alone again.
func TestRecoveredNodeRestartsWithTheRecoveredConfiguration(t *testing.T) {
	cfg := nodeConfig(t, "n1")
	n1 := singleNode(t, cfg)
	cfg2 := nodeConfig(t, "n2")
	n2 := openNode(t, cfg2)
	if err := n1.AddNode(context.Background(), "n2", cfg2.RaftAddr, cfg2.RPCAddr, true); err != nil {
		t.Fatalf("AddNode n2: %v", err)
	}
	before := createEvent(t, n1, "Before the loss", 2)
	waitApplied(t, n2, indexOf(t, before.GetId()))
	for _, n := range []*raftnode.Node{n1, n2} {
		if err := n.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := raftnode.RecoverCluster("n1", cfg.DataDir, []raftnode.Peer{{ID: "n1", RaftAddr: cfg.RaftAddr}}, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	cfg.InitialCluster = nil
	n1 = openNode(t, cfg)
	waitReady(t, []*raftnode.Node{n1})
	after := createEvent(t, n1, "After the recovery", 1)
	if err := n1.Close(); err != nil {
		t.Fatal(err)
	}
	n1 = openNode(t, cfg)
	if servers := n1.Raft().GetConfiguration().Configuration().Servers; len(servers) != 1 || servers[0].ID != "n1" {
		t.Fatalf("recovered node's configuration after a restart: %+v, want n1 alone", servers)
	}
	waitReady(t, []*raftnode.Node{n1})
	for _, ev := range []string{before.GetId(), after.GetId()} {
		if _, err := n1.FSM().Event(ev); err != nil {
			t.Errorf("event %s after the restart: %v", ev, err)
		}
	}
}
