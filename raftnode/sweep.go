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
