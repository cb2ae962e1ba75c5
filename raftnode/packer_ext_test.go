package raftnode_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
)

// Commands proposed at the same time share log entries, each with its own
// answer; a command whose caller has gone before it leaves is not proposed.
func TestConcurrentProposalsShareEntries(t *testing.T) {
	n := singleNode(t, nodeConfig(t, "n1"))
	const proposals = 200
	ids := make([]string, proposals)
	var wg sync.WaitGroup
	for i := range proposals {
		wg.Go(func() {
			res, err := n.Propose(context.Background(), createEventCmd(fmt.Sprintf("event %d", i), 10))
			if err != nil || res.Err != nil {
				t.Errorf("propose %d: %v %v", i, err, res)
				return
			}
			ids[i] = res.Response.(*bookdv1.CreateEventResponse).GetEvent().GetId()
		})
	}
	wg.Wait()
	entries, seen := map[uint64]bool{}, map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			t.Fatalf("two proposals answered event %s", id)
		}
		seen[id] = true
		entries[indexOf(t, id)] = true
	}
	if len(entries) > proposals/2 {
		t.Errorf("%d proposals made at once took %d log entries, want them packed", proposals, len(entries))
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	before := n.FSM().AppliedIndex()
	if _, err := n.Propose(ctx, createEventCmd("gone", 1)); err == nil {
		t.Error("a proposal whose caller had gone was made")
	}
	if after := n.FSM().AppliedIndex(); after != before {
		t.Errorf("applied index moved from %d to %d for a proposal whose caller had gone", before, after)
	}
}

// While commands flow, reads wait for the next entry of commands instead of
// adding barrier entries to the log. (That they see every write acknowledged
// before them is checked across faults by bookd-chaos's histories.)
func TestReadsRideOnCommandEntries(t *testing.T) {
	cfg := nodeConfig(t, "n1")
	n := singleNode(t, cfg)
	ctx := context.Background()
	first := n.Raft().LastIndex() + 1
	stop := make(chan struct{})
	var writers sync.WaitGroup
	for w := range 8 {
		writers.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := n.Propose(ctx, createEventCmd(fmt.Sprintf("w%d-%d", w, i), 1)); err != nil {
					t.Errorf("Propose: %v", err)
					return
				}
			}
		})
	}
	const reads = 200
	var readers sync.WaitGroup
	for range 4 {
		readers.Go(func() {
			for range reads / 4 {
				if err := n.ReadBarrier(ctx); err != nil {
					t.Errorf("ReadBarrier: %v", err)
					return
				}
			}
		})
	}
	readers.Wait()
	close(stop)
	writers.Wait()
	last := n.Raft().LastIndex()
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	store, err := raftboltdb.New(raftboltdb.Options{Path: filepath.Join(cfg.DataDir, "raft.db"), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	barriers := 0
	for i := first; i <= last; i++ {
		var l raft.Log
		if err := store.GetLog(i, &l); err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
		if l.Type == raft.LogBarrier {
			barriers++
		}
	}
	// A read finds the packer idle now and then, between a writer's answer
	// and its next command, and takes a barrier; one per round would be a
	// quarter of the reads.
	if barriers > reads/10 {
		t.Errorf("%d reads during a stream of writes added %d barrier entries, want at most %d", reads, barriers, reads/10)
	}
}
