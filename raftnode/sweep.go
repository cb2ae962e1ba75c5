package raftnode

import (
	"context"
	"errors"
	"time"

	"github.com/bookd/bookd/fsm"
	fsmv1 "github.com/bookd/bookd/proto/bookd/fsm/v1"
	"github.com/hashicorp/raft"
)

// whileLeading calls fn every interval while this node leads, until the
// node stops.
func (n *Node) whileLeading(interval time.Duration, fn func()) {
	defer n.stopped.Done()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-n.stopCh:
			return
		case <-tick.C:
		}
		if n.raft.State() == raft.Leader {
			fn()
		}
	}
}

// sweepHolds proposes ExpireHolds when some hold is due, so that
// expirations reach the change feed promptly. Correctness does not depend
// on it: every command expires due holds before it runs. Due is judged at
// the time the command would be stamped with (bounded, see stampClock),
// not the node's raw clock.
func (n *Node) sweepHolds() {
	if !n.fsm.HoldsDue(n.clock.peek()) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), n.cfg.SweepInterval*5)
	defer cancel()
	_, err := n.Propose(ctx, &fsm.Command{Op: &fsmv1.Command_ExpireHolds{ExpireHolds: &fsmv1.ExpireHolds{}}})
	if err != nil && !errors.Is(err, ErrNotLeader) {
		n.log.Warn("expire holds", "err", err)
	}
}

// purgeOld proposes Purge when some idempotency record is older than
// fsm.IdempotencyRetention, some change-feed record older than
// FeedRetention, or some queue message older than its queue's retention. Ages are measured against replicated time (the state
// machine's clock), never this node's clock: a leader whose clock is
// wrong cannot make the records look older than they are. On an idle
// cluster replicated time stands still, and so do the cut-offs.
func (n *Node) purgeOld() {
	now, err := n.fsm.Clock()
	if err != nil {
		n.log.Warn("purge: read the state machine's clock", "err", err)
		return
	}
	if now == 0 {
		return // no command applied yet
	}
	p := &fsmv1.Purge{
		IdempotencyBeforeUnixNanos: now - fsm.IdempotencyRetention.Nanoseconds(),
		FeedBeforeUnixNanos:        now - n.cfg.FeedRetention.Nanoseconds(),
	}
	if !n.fsm.PurgeDue(p.IdempotencyBeforeUnixNanos, p.FeedBeforeUnixNanos) && !n.fsm.QueueRetentionDue() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), n.cfg.PurgeInterval)
	defer cancel()
	res, err := n.Propose(ctx, &fsm.Command{Op: &fsmv1.Command_Purge{Purge: p}})
	switch {
	case err != nil && !errors.Is(err, ErrNotLeader):
		n.log.Warn("purge", "err", err)
	case err == nil && res.Err != nil:
		n.log.Warn("purge refused", "err", res.Err)
	}
}
