package raftnode

import (
	"context"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/bookd/bookd/fsm"
	fsmv1 "github.com/bookd/bookd/proto/bookd/fsm/v1"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
)

// A node restarted from its store applies nothing at start (Raft starts
// from the store), yet its stamp clock counts the stored clock as applied
// at the open: a term it wins before applying an entry is anchored there,
// not at the term's start, which would set replicated time back by the
// time the election took (chaos saw holds expire early after it).
func TestRestartAnchorsTheStampClockAtOpen(t *testing.T) {
	addr := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		return l.Addr().String()
	}
	cfg := Config{ID: "n1", DataDir: t.TempDir(), RaftAddr: addr(), RPCAddr: addr(), Logger: slog.New(slog.DiscardHandler)}
	cfg.InitialCluster = []Peer{{ID: "n1", RaftAddr: cfg.RaftAddr}}
	n, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for n.raft.Leader() == "" && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
	cmd := &fsm.Command{Op: &fsmv1.Command_CreateEvent{CreateEvent: &bookdv1.CreateEventRequest{Name: "e", Capacity: 1}}}
	if _, err := n.Propose(ctx, cmd); err != nil {
		t.Fatal(err)
	}
	stored := n.fsm.AppliedClock()
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}

	before := time.Now()
	cfg.InitialCluster = nil
	n, err = Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	n.clock.mu.Lock()
	clock, at := n.clock.appliedClock, n.clock.appliedAt
	n.clock.mu.Unlock()
	if clock != stored || at.Before(before) || at.IsZero() {
		t.Errorf("stamp clock after the restart: applied clock %d at %v; want the stored %d, noted at the open (after %v)", clock, at, stored, before)
	}
}
