package raftnode

import (
	"context"
	"time"
)

// CatchUp waits until the state machine holds every entry committed when
// it was called, or ctx ends. A node that stops gracefully calls it first,
// while it still serves: a follower kept short of CPU during a write burst
// can be thousands of bookings behind in applying what it logged, and
// applying them now, on a warm cache with the idempotency-key filter
// built, is cheaper than its next start applying them on a cold one (and
// the store's close then flushes them, so that start replays nothing).
func (n *Node) CatchUp(ctx context.Context) error {
	began := time.Now()
	target, from := n.raft.CommitIndex(), n.fsm.AppliedIndex()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for !n.holds(target) {
		select {
		case <-ctx.Done():
			n.log.Warn("stopping before the state machine applied what was committed",
				"applied_index", n.fsm.AppliedIndex(), "commit_index", target, "waited", time.Since(began).Round(time.Millisecond))
			return ctx.Err()
		case <-tick.C:
		}
	}
	if from < target {
		n.log.Info("applied what was committed before stopping", "from_index", from, "to_index", target,
			"took", time.Since(began).Round(time.Millisecond))
	}
	return nil
}
