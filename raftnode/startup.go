package raftnode

import (
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// Startup is how this node's start went, for status and metrics.
type Startup struct {
	// Started is when Open was called.
	Started time.Time
	// Opened is when Open returned: the state machine's store and Raft were
	// open, and the RPC server could answer.
	Opened time.Time
	// StateComplete is when the state first held every entry the leader
	// had committed when this node first heard from it (on a node that
	// leads, when a barrier of its own was applied). Zero until then.
	StateComplete time.Time
	// FirstServed is when the node first answered a call (MarkServed).
	// Zero until then.
	FirstServed time.Time
}

// startup records a node's Startup.
type startup struct {
	mu sync.Mutex
	s  Startup
}

func (s *startup) get() Startup {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.s
}

// mark sets *field to now unless it is set already; it reports whether it did.
func (s *startup) mark(field func(*Startup) *time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f := field(&s.s); f.IsZero() {
		*f = time.Now()
		return true
	}
	return false
}

// Startup reports how this node's start went.
func (n *Node) Startup() Startup { return n.start.get() }

// MarkServed records the node's first answered call; later calls do nothing.
func (n *Node) MarkServed() {
	if n.served.Load() {
		return
	}
	n.served.Store(true)
	if n.start.mark(func(s *Startup) *time.Time { return &s.FirstServed }) {
		st := n.start.get()
		n.log.Info("first call served", "after", st.FirstServed.Sub(st.Started).Round(time.Millisecond))
	}
}

// watchStateComplete waits until the state is complete (see
// Startup.StateComplete) and records when; it also logs when Raft has gone
// through the entries the store already held (it hands them to the state
// machine, which skips them). It polls: a start is short, and the leader's
// commit index, which a follower learns from its appends, comes with no
// notification.
func (n *Node) watchStateComplete() {
	defer n.stopped.Done()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	held := n.fsm.AppliedIndex() // what the store held when it opened
	var target uint64            // the first commit index learnt, 0 until then
	barrier, replayed := false, held == 0
	for {
		select {
		case <-n.stopCh:
			return
		case <-tick.C:
		}
		if !replayed && n.raft.AppliedIndex() >= held {
			replayed = true
			n.log.Info("log replay done", "after", time.Since(n.start.get().Started).Round(time.Millisecond), "index", held)
		}
		switch {
		case n.raft.State() == raft.Leader && !barrier:
			barrier = true
			go func() {
				if n.raft.Barrier(0).Error() == nil {
					n.stateComplete()
				}
			}()
		case target == 0:
			target = n.raft.CommitIndex()
		case n.holds(target):
			n.stateComplete()
		}
		if replayed && !n.start.get().StateComplete.IsZero() {
			return
		}
	}
}

// holds reports whether the state machine holds every entry up to index.
// Raft's applied index is not enough: Raft moves it when it hands entries
// to the state machine, which may still be applying them (a follower killed
// 26 entries behind its log was counted complete while it had 6,000
// bookings left to apply). The state machine's own index stops short of
// entries it is never given (Raft's no-op and barrier entries), so those
// past it are looked up in the log.
func (n *Node) holds(index uint64) bool {
	applied := n.fsm.AppliedIndex()
	if applied >= index {
		return true
	}
	if n.raft.AppliedIndex() < index {
		return false
	}
	for i := applied + 1; i <= index; i++ {
		var l raft.Log
		if err := n.logs.GetLog(i, &l); err != nil || l.Type == raft.LogCommand || l.Type == raft.LogConfiguration {
			return false
		}
	}
	return true
}

func (n *Node) stateComplete() {
	if n.start.mark(func(s *Startup) *time.Time { return &s.StateComplete }) {
		st := n.start.get()
		n.log.Info("state complete", "after", st.StateComplete.Sub(st.Started).Round(time.Millisecond),
			"applied_index", n.fsm.AppliedIndex(), "raft_applied_index", n.raft.AppliedIndex())
		n.fsm.BuildKeyFilter() // not before: its scan would compete with the catch-up
	}
}
