package raftnode

import (
	"context"
	"fmt"
	"sync"

	"github.com/bookd/bookd/fsm"
	"github.com/hashicorp/raft"
)

// ReadBarrier returns once this node's applied state includes every write
// acknowledged before the call: the leader confirms it still leads (with a
// round of heartbeats shared by all reads waiting at that moment) and waits
// until it has applied its commit index. It fails with ErrNotLeader on a
// follower.
func (n *Node) ReadBarrier(ctx context.Context) error {
	return n.reads.wait(ctx)
}

// readGate implements ReadIndex-style reads on hashicorp/raft, which has no
// ReadIndex API: Barrier once per leadership term (so the commit index
// covers every entry of earlier terms), then VerifyLeader per round of reads.
type readGate struct {
	raft *raft.Raft
	fsm  *fsm.FSM

	mu        sync.Mutex
	readyTerm uint64 // the term in which a Barrier last completed
	pending   *readRound
	verifying bool
}

type readRound struct {
	done   chan struct{}
	commit uint64
	err    error
}

func newReadGate(r *raft.Raft, f *fsm.FSM) *readGate { return &readGate{raft: r, fsm: f} }

func (g *readGate) wait(ctx context.Context) error {
	if g.raft.State() != raft.Leader {
		return ErrNotLeader
	}
	if err := g.ensureTermReady(); err != nil {
		return err
	}
	g.mu.Lock()
	if g.pending == nil {
		g.pending = &readRound{done: make(chan struct{})}
	}
	round := g.pending
	if !g.verifying {
		g.verifying = true
		go g.verifyRounds()
	}
	g.mu.Unlock()
	select {
	case <-round.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	if round.err != nil {
		return round.err
	}
	return waitApplied(ctx, g.fsm, round.commit)
}

// ensureTermReady runs a Barrier once per term. The term is read before the
// Barrier: if leadership changed meanwhile, the next read barriers again.
func (g *readGate) ensureTermReady() error {
	term := g.raft.CurrentTerm()
	g.mu.Lock()
	ready := g.readyTerm == term
	g.mu.Unlock()
	if ready {
		return nil
	}
	if err := g.raft.Barrier(enqueueTimeout).Error(); err != nil {
		return proposeError(err)
	}
	g.mu.Lock()
	g.readyTerm = max(g.readyTerm, term)
	g.mu.Unlock()
	return nil
}

// verifyRounds serves rounds until none is waiting. Every read that joined a
// round before it started gets a commit index read after it joined.
func (g *readGate) verifyRounds() {
	for {
		g.mu.Lock()
		round := g.pending
		g.pending = nil
		if round == nil {
			g.verifying = false
			g.mu.Unlock()
			return
		}
		g.mu.Unlock()
		round.commit = g.raft.CommitIndex()
		if err := g.raft.VerifyLeader().Error(); err != nil {
			round.err = proposeError(err)
		}
		close(round.done)
	}
}

// waitApplied waits until f has applied index.
func waitApplied(ctx context.Context, f *fsm.FSM, index uint64) error {
	for {
		changed := f.AppliedChanged()
		if f.AppliedIndex() >= index {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("raftnode: waiting to apply index %d: %w", index, ctx.Err())
		}
	}
}

// WaitApplied waits until this node has applied index.
func (n *Node) WaitApplied(ctx context.Context, index uint64) error {
	return waitApplied(ctx, n.fsm, index)
}
