package rpc

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"connectrpc.com/connect"

	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
)

// Bounded staleness is a bound on data. A follower may answer a read with
// max_staleness d only if its state holds everything the leader had
// committed d ago. Hearing from the leader proves nothing of the kind (Raft
// heartbeats carry no commit index, and a follower restarted far behind
// hears heartbeats at once), so a follower asks the leader for its commit
// index now and then, and notes when it asked: the leader's answer is at
// least what it had committed when the question left. A read at time t is
// served locally when some answer to a question asked at or after t-d is
// applied here; otherwise it goes to the leader.
//
// Only this node's monotonic clock is used: no clocks are compared.

// freshness keeps a follower's recent samples of the leader's commit index,
// polling while bounded-stale reads come in.
type freshness struct {
	s *service

	mu      sync.Mutex
	samples []commitSample // asked-at increasing, commit non-decreasing
	wanted  time.Time      // when a bounded read last asked
	polling bool
}

// commitSample: the leader had committed at least commit when asked at.
type commitSample struct {
	asked  time.Time
	commit uint64
}

const (
	// commitPollEvery is how often a follower asks the leader while
	// bounded-stale reads come in: bounds well above it are served
	// locally, those below it mostly go to the leader.
	commitPollEvery = 25 * time.Millisecond
	// commitPollIdle stops the polling this long after the last bounded
	// read.
	commitPollIdle = 10 * time.Second
	// keepSamples is how far back samples are kept; bounds past it are
	// checked against the oldest one kept, which is stricter.
	keepSamples = 30 * time.Second
)

func newFreshness(s *service) *freshness { return &freshness{s: s} }

// within reports whether this node's state holds everything the leader had
// committed maxStale ago, by the samples it has; it starts the polling that
// gathers them.
func (f *freshness) within(maxStale time.Duration) bool {
	now := time.Now()
	since := now.Add(-maxStale)
	f.mu.Lock()
	f.wanted = now
	if !f.polling {
		f.polling = true
		go f.poll()
	}
	commit, found := uint64(0), false
	for _, s := range f.samples {
		if !s.asked.Before(since) {
			commit, found = s.commit, true
			break
		}
	}
	f.mu.Unlock()
	return found && f.s.node.Holds(commit) // Holds may read the log: not under f.mu
}

// poll asks the leader for its commit index until bounded reads stop
// coming or the server stops.
func (f *freshness) poll() {
	tick := time.NewTicker(commitPollEvery)
	defer tick.Stop()
	for {
		f.mu.Lock()
		idle := time.Since(f.wanted) > commitPollIdle
		if idle {
			f.polling = false
			f.samples = nil
		}
		f.mu.Unlock()
		if idle {
			return
		}
		f.sample()
		select {
		case <-f.s.stopping:
			return
		case <-tick.C:
		}
	}
}

// leaderCommit asks the leader for its commit index.
func (s *service) leaderCommit(ctx context.Context) (uint64, error) {
	fctx, p, err := s.leaderPeer(ctx)
	if err != nil {
		return 0, err
	}
	st, err := p.cluster.GetStatus(fctx, &bookdv1.GetStatusRequest{})
	if err != nil {
		return 0, relay(err)
	}
	if st.GetState() != "Leader" {
		return 0, connect.NewError(connect.CodeUnavailable, errors.New("the node asked for the leader's commit index no longer leads; retry"))
	}
	return st.GetCommitIndex(), nil
}

// catchUp returns once this node's state holds every write acknowledged
// before the call: on the leader after a read barrier, on a follower once
// it holds the leader's commit index.
func (s *service) catchUp(ctx context.Context) error {
	if s.node.IsLeader() {
		return toConnect(s.node.ReadBarrier(ctx))
	}
	commit, err := s.leaderCommit(ctx)
	if err != nil {
		return err
	}
	for !s.node.Holds(commit) {
		select {
		case <-ctx.Done():
			return connect.NewError(connect.CodeUnavailable, fmt.Errorf("catching up with the leader's commit index %d: %w", commit, ctx.Err()))
		case <-s.node.FSM().AppliedChanged():
		case <-time.After(time.Millisecond):
		}
	}
	return nil
}

// sample asks the leader once.
func (f *freshness) sample() {
	ctx, cancel := context.WithTimeout(context.Background(), commitPollEvery*4)
	defer cancel()
	asked := time.Now()
	commit, err := f.s.leaderCommit(ctx)
	if err != nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if n := len(f.samples); n > 0 && f.samples[n-1].commit > commit {
		return // a deposed leader's late answer
	}
	f.samples = append(f.samples, commitSample{asked: asked, commit: commit})
	cut := 0
	for cut < len(f.samples)-1 && time.Since(f.samples[cut].asked) > keepSamples {
		cut++
	}
	f.samples = f.samples[cut:]
}
