package raftnode

import (
	"context"
	"errors"
	"time"

	"github.com/bookd/bookd/fsm"
	fsmv1 "github.com/bookd/bookd/proto/bookd/fsm/v1"
	"github.com/hashicorp/raft"
)

// sweepHolds proposes ExpireHolds while this node leads and some hold is
// due, so that expirations reach the change feed promptly. Correctness does
// not depend on it: every command expires due holds before it runs.
func (n *Node) sweepHolds() {
	defer n.stopped.Done()
	tick := time.NewTicker(n.cfg.SweepInterval)
	defer tick.Stop()
	for {
		select {
		case <-n.stopCh:
			return
		case <-tick.C:
		}
		if n.raft.State() != raft.Leader || !n.fsm.HoldsDue(n.Now()) {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), n.cfg.SweepInterval*5)
		_, err := n.Propose(ctx, &fsm.Command{Op: &fsmv1.Command_ExpireHolds{ExpireHolds: &fsmv1.ExpireHolds{}}})
		cancel()
		if err != nil && !errors.Is(err, ErrNotLeader) {
			n.log.Warn("expire holds", "err", err)
		}
	}
}

// purgeOld proposes Purge while this node leads and some idempotency record
// is older than fsm.IdempotencyRetention, or some change-feed record older
// than FeedRetention.
func (n *Node) purgeOld() {
	defer n.stopped.Done()
	tick := time.NewTicker(n.cfg.PurgeInterval)
	defer tick.Stop()
	for {
		select {
		case <-n.stopCh:
			return
		case <-tick.C:
		}
		now := n.Now()
		p := &fsmv1.Purge{
			IdempotencyBeforeUnixNanos: now - fsm.IdempotencyRetention.Nanoseconds(),
			FeedBeforeUnixNanos:        now - n.cfg.FeedRetention.Nanoseconds(),
		}
		if n.raft.State() != raft.Leader || !n.fsm.PurgeDue(p.IdempotencyBeforeUnixNanos, p.FeedBeforeUnixNanos) {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), n.cfg.PurgeInterval)
		res, err := n.Propose(ctx, &fsm.Command{Op: &fsmv1.Command_Purge{Purge: p}})
		cancel()
		switch {
		case err != nil && !errors.Is(err, ErrNotLeader):
			n.log.Warn("purge", "err", err)
		case err == nil && res.Err != nil:
			n.log.Warn("purge refused", "err", res.Err)
		}
	}
}
