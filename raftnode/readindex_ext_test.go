package raftnode_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// Once a leader has a barrier of its term applied, linearizable reads
// confirm leadership with a heartbeat round and append nothing: 5,000 reads
// on an idle 3-node cluster leave the log as it was, and each one sees the
// write acknowledged before it.
func TestReadsAppendNothingOnceTheTermIsReady(t *testing.T) {
	nodes, _ := startCluster(t, 3)
	leader := waitReady(t, nodes) // the leader has registered itself: no write of its own left
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := leader.ReadBarrier(ctx); err != nil { // the term's first round
		t.Fatal(err)
	}
	last, barriers := leader.Raft().LastIndex(), leader.ReadBarriers()
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 5000 / 8 {
				if w == 0 && i%100 == 0 {
					ev := createEvent(t, leader, "read-your-write", 1)
					if err := leader.ReadBarrier(ctx); err != nil {
						t.Error(err)
						return
					}
					if _, err := leader.FSM().Event(ev.GetId()); err != nil {
						t.Errorf("read after the write of %s: %v", ev.GetId(), err)
						return
					}
					continue
				}
				if err := leader.ReadBarrier(ctx); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	writes := uint64((5000/8 + 99) / 100) // i = 0, 100, ..., 600
	if added := leader.Raft().LastIndex() - last; added > writes {
		t.Errorf("5,000 reads and %d writes appended %d entries, want at most the writes' %d", writes, added, writes)
	}
	if b := leader.ReadBarriers() - barriers; b != 0 {
		t.Errorf("reads appended %d barriers once the term was ready, want 0", b)
	}
}

// Entries that never reach the state machine (barriers) do not count as a
// backlog once Raft has processed them: a burst of them leaves no lag.
func TestBarriersAreNoApplyLag(t *testing.T) {
	nodes, _ := startCluster(t, 3)
	leader := waitReady(t, nodes)
	for range 200 {
		if err := leader.Raft().Barrier(10 * time.Second).Error(); err != nil {
			t.Fatal(err)
		}
	}
	if lag := leader.ApplyLag(); lag != 0 {
		t.Fatalf("after 200 barriers the leader reports an apply lag of %d, want 0", lag)
	}
	for _, n := range nodes {
		waitFor(t, 10*time.Second, func() error {
			st, err := n.Status()
			if err != nil {
				return err
			}
			if st.AppliedIndex < leader.Raft().LastIndex() {
				return fmt.Errorf("%s applied %d of %d", st.NodeID, st.AppliedIndex, leader.Raft().LastIndex())
			}
			return nil
		})
	}
}
