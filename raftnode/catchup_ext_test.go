package raftnode_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// A follower's CatchUp returns only once its state holds everything it
// knew to be committed when it was called. Writes go on meanwhile from
// eight proposers; only calls made while the follower was behind (its
// state short of its commit index) are counted, as the others would pass
// whatever CatchUp did.
func TestCatchUpAppliesWhatWasCommitted(t *testing.T) {
	nodes, _ := startCluster(t, 3)
	leader := waitReady(t, nodes)
	f := others(nodes, leader)[0]
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				leader.Propose(ctx, createEventCmd(fmt.Sprintf("catch-up %d-%d", w, i), 10))
			}
		})
	}
	defer wg.Wait()
	defer cancel()
	behind := 0
	for tries := 0; behind < 5 && tries < 100_000 && ctx.Err() == nil; tries++ {
		st, err := f.Status()
		if err != nil {
			t.Fatal(err)
		}
		if f.Holds(st.CommitIndex) {
			continue
		}
		behind++
		if err := f.CatchUp(ctx); err != nil {
			t.Fatal(err)
		}
		if !f.Holds(st.CommitIndex) {
			t.Fatalf("after CatchUp the follower's state machine is at %d, its commit index was %d", f.FSM().AppliedIndex(), st.CommitIndex)
		}
	}
	t.Logf("%d calls made while the follower was behind", behind)
}
