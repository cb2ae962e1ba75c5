package raftnode_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
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
