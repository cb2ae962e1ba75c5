package raftnode

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/bookd/bookd/fsm"
	"github.com/hashicorp/raft"
)

var (
	// ErrNotLeader: this node is not the leader; send the request to the leader.
	ErrNotLeader = errors.New("raftnode: not the leader")
	// ErrUnavailable: the cluster cannot commit right now (no quorum, shutting
	// down). Whether a proposal that got it was applied is unknown; retry it
	// with the same idempotency key.
	ErrUnavailable = errors.New("raftnode: unavailable")
)

// enqueueTimeout bounds the wait for room in Raft's apply queue.
const enqueueTimeout = 5 * time.Second

// Propose stamps cmd with the leader's clock (bounded: see stampClock), replicates it and returns the
// state machine's result once it is applied. It fails with ErrNotLeader on a
// follower and with an error wrapping ErrUnavailable when the outcome is
// unknown (leadership lost, shutdown, no quorum in time).
func (n *Node) Propose(ctx context.Context, cmd *fsm.Command) (*fsm.Result, error) {
	results, errs := n.ProposeMany(ctx, []*fsm.Command{cmd})
	return results[0], errs[0]
}

// ProposeMany proposes every command and waits for all of them; commands
// proposed at the same time, by any caller, share log entries (see
// packer.go). Result i or error i is command i's outcome, with the errors
// of Propose.
func (n *Node) ProposeMany(ctx context.Context, cmds []*fsm.Command) ([]*fsm.Result, []error) {
	if n.raft.State() != raft.Leader {
		return fail(len(cmds), ErrNotLeader)
	}
	if err := ctx.Err(); err != nil {
		return fail(len(cmds), err) // the caller has gone: propose nothing
	}
	for _, c := range cmds {
		chooseSecret(c)
	}
	n.anchorClock()
	return n.packer.propose(ctx, cmds)
}

// chooseSecret gives a command that creates objects with a client secret
// the random bytes of it (see fsm.NeedsSecret): chosen here, on the leader,
// and carried in the log, since the state machine may not draw them.
func chooseSecret(c *fsm.Command) {
	if len(c.GetSecret()) > 0 || !fsm.NeedsSecret(c) {
		return
	}
	c.Secret = make([]byte, fsm.SecretBytes)
	rand.Read(c.Secret) // never fails (crypto/rand)
}

// fail gives each of n commands the same error.
func fail(n int, err error) ([]*fsm.Result, []error) {
	errs := make([]error, n)
	for i := range errs {
		errs[i] = err
	}
	return make([]*fsm.Result, n), errs
}

func proposeError(err error) error {
	if errors.Is(err, raft.ErrNotLeader) {
		return ErrNotLeader
	}
	return fmt.Errorf("%w: %v", ErrUnavailable, err)
}

// stampClock gives the leader's command stamps: Unix nanoseconds from the
// node's wall clock, strictly increasing on this node even if the wall
// clock steps back, and bounded (see clockguard.go):
//
//   - no stamp goes more than bound past the previous one plus the real
//     time elapsed since that one was taken, measured on the monotonic
//     clock; at the start of a term the previous one is the reference
//     line's time;
//   - every stamp stays within bound of a reference line: replicated time
//     at a monotonic instant (the state machine's clock at the instant
//     this node applied it, or a time a majority of the members' clocks
//     had passed, whichever line is later), moved on by the real time
//     elapsed since. A wall clock that leaps forwards moves stamps by at
//     most bound, however many are taken; one that is behind does not
//     freeze replicated time.
//
// Anchoring a new term at the instant the last stamp was applied, not at
// the instant the term began, counts the pause in writes an election
// makes: anchored at the term's start, each leader change with no
// majority measurement at hand set replicated time back by the pause
// (less the bound), the lags added up over a run of quick hand-overs
// (3-4 s in chaos runs), and the first leader with a measurement then
// moved time forwards at once, so that holds placed in the lag expired
// early. The stamp was taken before this node applied it, so the line so
// anchored is never ahead of the stamping clock's reading moved on by real
// time.
//
// Only a majority's clocks may move replicated time further: when they show
// that more time has passed than this node saw (a leader elected after a
// pause in writes, or after an idle hour), replicated time catches up.
type stampClock struct {
	mu     sync.Mutex
	last   int64         // the last stamp: the next is above it
	offset time.Duration // Config.ClockOffset
	// bound is Config.MaxClockOffset; 0 leaves stamps unbounded
	// (Config.NoClockGuard).
	bound time.Duration
	// prev is the previous stamp, or the time a term began from, taken at
	// the monotonic instant prevAt; zero prevAt: none.
	prev   int64
	prevAt time.Time
	// ref is replicated time at the monotonic instant refAt; no reference
	// while refAt is zero (a new cluster before its first measurement).
	ref   int64
	refAt time.Time
	// appliedClock is the greatest state machine clock this node has
	// applied, first applied at the monotonic instant appliedAt (zero:
	// none since the start).
	appliedClock int64
	appliedAt    time.Time
}

// applied notes that the state machine's clock is clock, applied at the
// monotonic instant at; only a clock that moved is noted, so appliedAt
// stays the instant its value was first applied.
func (c *stampClock) applied(clock int64, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if clock > c.appliedClock {
		c.appliedClock, c.appliedAt = clock, at
	}
}

func (c *stampClock) stamp() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	c.last = max(c.boundedLocked(now), c.last+1)
	c.prev, c.prevAt = c.last, now
	return c.last
}

// peek is the time a stamp taken now would carry at least (none is taken).
func (c *stampClock) peek() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return max(c.boundedLocked(time.Now()), c.last)
}

// boundedLocked is the wall clock at now, held within the bounds.
func (c *stampClock) boundedLocked(now time.Time) int64 {
	t := now.Add(c.offset).UnixNano()
	if c.bound <= 0 {
		return t
	}
	b := int64(c.bound)
	// Durations between readings of time.Now are monotonic: a wall clock
	// that steps does not change them.
	if !c.prevAt.IsZero() {
		t = min(t, c.prev+int64(now.Sub(c.prevAt))+b)
	}
	if !c.refAt.IsZero() {
		r := c.ref + int64(now.Sub(c.refAt))
		t = max(min(t, r+b), r-b)
	}
	return t
}

// advance moves the reference line to time t at the monotonic instant at,
// if that is later than where the line already is at that instant: the
// line only moves forwards.
func (c *stampClock) advance(t int64, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.advanceLocked(t, at)
}

func (c *stampClock) advanceLocked(t int64, at time.Time) {
	if !c.refAt.IsZero() && t <= c.ref+int64(at.Sub(c.refAt)) {
		return
	}
	c.ref, c.refAt = t, at
}

// lead starts a term whose state machine clock is replicated (Unix ns, 0
// for none yet): the term's stamps come after it, within bound of it moved
// on by the real time elapsed since this node applied it (or, when that is
// not known, since now), or of the reference line if a majority's clocks
// moved that further on.
func (c *stampClock) lead(replicated int64, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if replicated <= 0 {
		return
	}
	anchor := now
	if replicated == c.appliedClock && !c.appliedAt.IsZero() {
		anchor = c.appliedAt
	}
	c.last = max(c.last, replicated)
	c.advanceLocked(replicated, anchor)
	c.prev, c.prevAt = c.ref+int64(now.Sub(c.refAt)), now
}

// Now is this node's clock, with its configured offset, in Unix nanoseconds.
func (n *Node) Now() int64 { return time.Now().Add(n.clock.offset).UnixNano() }
