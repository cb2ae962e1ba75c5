package raftnode_test

import (
	"bytes"
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
