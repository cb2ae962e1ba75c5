package raftnode

import (
	"context"
	"fmt"
	"sync"

	"github.com/hashicorp/raft"
)

// ReadBarrier returns once this node's applied state includes every write
// acknowledged before the call, and this node was the leader at some moment
// after the call began. It fails with ErrNotLeader on a follower.
//
// hashicorp/raft has no ReadIndex API, and VerifyLeader plus waiting for the
// commit index does not work with a batching FSM: no-op and barrier entries
// count in the commit index but never reach the FSM. So each read waits for
// an entry proposed after it began to be applied: such an entry commits only
// with a quorum in the leader's current term, and is applied only after
// everything before it. Under write load that is the packer's next entry of
// commands (packer.afterNextEntry), which costs the log nothing; otherwise a
// Raft Barrier. Reads arriving while a round is waiting share the next one.
func (n *Node) ReadBarrier(ctx context.Context) error {
	return n.reads.wait(ctx)
}

type readGate struct {
	raft   *raft.Raft
	packer *packer

	mu      sync.Mutex
	pending *readRound // the round reads join; it starts when the current one ends
	running bool
}

type readRound struct {
	done chan struct{}
	err  error
}

func newReadGate(r *raft.Raft, p *packer) *readGate { return &readGate{raft: r, packer: p} }

func (g *readGate) wait(ctx context.Context) error {
	if g.raft.State() != raft.Leader {
		return ErrNotLeader
	}
	g.mu.Lock()
	if g.pending == nil {
		g.pending = &readRound{done: make(chan struct{})}
	}
	round := g.pending
	if !g.running {
		g.running = true
		go g.runRounds()
	}
	g.mu.Unlock()
	select {
	case <-round.done:
		return round.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// runRounds serves rounds until no read is waiting. A read joins a round
// before the round's Barrier is proposed, so the Barrier follows every write
// acknowledged before the read began.
func (g *readGate) runRounds() {
	for {
		g.mu.Lock()
		round := g.pending
		g.pending = nil
		if round == nil {
			g.running = false
			g.mu.Unlock()
			return
		}
		g.mu.Unlock()
		var err error
		if next, ok := g.packer.afterNextEntry(); ok {
			err = <-next
		} else {
			err = g.raft.Barrier(enqueueTimeout).Error()
		}
		if err != nil {
			round.err = proposeError(err)
		}
		close(round.done)
	}
}

// WaitApplied waits until this node has applied index.
func (n *Node) WaitApplied(ctx context.Context, index uint64) error {
	for {
		changed := n.fsm.AppliedChanged()
		if n.fsm.AppliedIndex() >= index {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("raftnode: waiting to apply index %d: %w", index, ctx.Err())
		}
	}
}
