package raftnode_test

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// A follower's CatchUp returns once its state holds everything it knew to
// be committed when it was called.
func TestCatchUpAppliesWhatWasCommitted(t *testing.T) {
	nodes, _ := startCluster(t, 3)
	leader := waitReady(t, nodes)
	for i := range 40 {
		createEvent(t, leader, fmt.Sprint("catch-up ", i), 10)
	}
	f := others(nodes, leader)[0]
	st, err := f.Status()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := f.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	if !f.Holds(st.CommitIndex) {
		t.Errorf("after CatchUp the follower's state machine is at %d, its commit index was %d", f.FSM().AppliedIndex(), st.CommitIndex)
	}
}
