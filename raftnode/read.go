package raftnode

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
)

// ReadBarrier returns once this node's applied state includes every write
// acknowledged before the call, and this node was the leader at some moment
// after the call began. It fails with ErrNotLeader on a follower.
//
// Reads arriving while a round is running share the next round. A round
// costs the log nothing in the usual cases:
//   - with commands queued or in flight, it waits for the packer's next
//     entry of commands (packer.afterNextEntry) to be applied: that entry
//     was proposed after the reads began, commits only with a quorum in the
//     leader's current term and is applied after everything before it;
//   - otherwise it is a read index (etcd's ReadIndex): it notes the commit
//     index, confirms leadership with a heartbeat round (VerifyLeader), and
//     waits until everything up to the noted index is applied.
//
// A read index is sound only once the leader has committed an entry of its
// own term (before that its commit index may trail its predecessor's). The
// first round of a term therefore appends a Raft barrier, as does a round
// whose wait for the applied state is cut short; those are the only reads
// that append anything.
func (n *Node) ReadBarrier(ctx context.Context) error {
	return n.reads.wait(ctx)
}

type readGate struct {
	n *Node

	mu      sync.Mutex
	pending *readRound // the round reads join; it starts when the current one ends
	running bool

	// readyTerm is the term in which this node, as leader, has had a
	// barrier of its own applied: from then on a read index is sound.
	readyTerm atomic.Uint64
	// barriers counts the barrier entries reads appended.
	barriers atomic.Uint64
}

type readRound struct {
	done chan struct{}
	err  error
}

func newReadGate(n *Node) *readGate { return &readGate{n: n} }

func (g *readGate) wait(ctx context.Context) error {
	if g.n.raft.State() != raft.Leader {
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
// before the round starts, so what the round waits for follows every write
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
		if err := g.round(); err != nil {
			round.err = err
		}
		close(round.done)
	}
}

// round makes the reads that joined it linearizable.
func (g *readGate) round() error {
	if next, ok := g.n.packer.afterNextEntry(); ok {
		switch err := <-next; {
		case err == nil:
			return nil
		case !errors.Is(err, errNoEntry):
			return proposeError(err)
		}
	}
	r := g.n.raft
	term := r.CurrentTerm()
	if g.readyTerm.Load() == term {
		index := r.CommitIndex()
		if err := r.VerifyLeader().Error(); err != nil {
			return proposeError(err)
		}
		if g.n.appliedThrough(index, enqueueTimeout) {
			return nil
		}
	}
	g.barriers.Add(1)
	if err := r.Barrier(enqueueTimeout).Error(); err != nil {
		return proposeError(err)
	}
	g.readyTerm.Store(term)
	return nil
}

// ReadBarriers is how many Raft barrier entries linearizable reads have
// appended on this node (see ReadBarrier): bookd_read_barriers_total.
func (n *Node) ReadBarriers() uint64 { return n.reads.barriers.Load() }

// appliedThrough waits, up to timeout, until the state machine holds every
// command up to index, and reports whether it does. Entries that never
// reach the state machine (barriers, no-ops) are skipped: once Raft has
// processed them and no command lies between the state machine's last one
// and index, the state is as of index.
func (n *Node) appliedThrough(index uint64, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	pause := 50 * time.Microsecond
	for {
		changed := n.fsm.AppliedChanged()
		if n.Holds(index) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		select {
		case <-changed:
		case <-time.After(pause):
			pause = min(2*pause, 5*time.Millisecond)
		}
	}
}

// Holds reports whether this node's state holds every command up to
// index: the state machine applied them, or applied those before index and
// Raft has processed the rest, none of which reach the state machine.
func (n *Node) Holds(index uint64) bool {
	applied := n.fsm.AppliedIndex()
	return applied >= index || n.raft.AppliedIndex() >= index && !n.commandsBetween(applied, index)
}

// commandsBetween reports whether a log entry in (after, through] is one the
// state machine applies (a command or a configuration). Entries compacted
// into a snapshot are skipped: the snapshot was taken of a state machine
// that had applied them. An entry the log should have but cannot read
// counts as a command, to be safe: the caller waits.
func (n *Node) commandsBetween(after, through uint64) bool {
	first, err := n.store.FirstIndex()
	switch {
	case err != nil:
		return true
	case first == 0: // an empty log: everything is in the snapshot
		return false
	}
	after = max(after, first-1)
	if through <= after {
		return false
	}
	if through-after > maxGapScan {
		return true
	}
	var l raft.Log
	for i := after + 1; i <= through; i++ {
		if err := n.store.GetLog(i, &l); err != nil {
			return true
		}
		if l.Type == raft.LogCommand || l.Type == raft.LogConfiguration {
			return true
		}
	}
	return false
}

// maxGapScan bounds the entries commandsBetween reads: past it the state
// machine is simply waited for.
const maxGapScan = 64

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
