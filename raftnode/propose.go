package raftnode

import (
	"context"
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

// Propose stamps cmd with the leader's clock, replicates it and returns the
// state machine's result once it is applied. It fails with ErrNotLeader on a
// follower and with an error wrapping ErrUnavailable when the outcome is
// unknown (leadership lost, shutdown, no quorum in time).
func (n *Node) Propose(ctx context.Context, cmd *fsm.Command) (*fsm.Result, error) {
	results, errs := n.ProposeMany(ctx, []*fsm.Command{cmd})
	return results[0], errs[0]
}

// ProposeMany proposes every command at once, each as its own log entry (Raft
// carries them in the same appends), and waits for all of them. Result i or
// error i is command i's outcome, with the errors of Propose.
func (n *Node) ProposeMany(ctx context.Context, cmds []*fsm.Command) ([]*fsm.Result, []error) {
	results, errs := make([]*fsm.Result, len(cmds)), make([]error, len(cmds))
	fail := func(err error) ([]*fsm.Result, []error) {
		for i := range errs {
			errs[i] = err
		}
		return results, errs
	}
	if n.raft.State() != raft.Leader {
		return fail(ErrNotLeader)
	}
	if err := ctx.Err(); err != nil {
		return fail(err) // the caller has gone: propose nothing
	}
	timeout := enqueueTimeout
	if d, ok := ctx.Deadline(); ok {
		if timeout = min(timeout, time.Until(d)); timeout <= 0 {
			return fail(context.DeadlineExceeded) // raft takes 0 as "wait forever"
		}
	}
	futures := make([]raft.ApplyFuture, len(cmds))
	for i, cmd := range cmds {
		cmd.StampUnixNanos = n.clock.stamp()
		data, err := fsm.EncodeCommand(cmd)
		if err != nil {
			errs[i] = err
			continue
		}
		futures[i] = n.raft.Apply(data, timeout)
	}
	for i, future := range futures {
		if future == nil {
			continue
		}
		if err := future.Error(); err != nil {
			errs[i] = proposeError(err)
			continue
		}
		res, ok := future.Response().(*fsm.Result)
		if !ok {
			errs[i] = fmt.Errorf("raftnode: state machine returned %T", future.Response())
			continue
		}
		results[i] = res
	}
	return results, errs
}

func proposeError(err error) error {
	if errors.Is(err, raft.ErrNotLeader) {
		return ErrNotLeader
	}
	return fmt.Errorf("%w: %v", ErrUnavailable, err)
}

// stampClock gives the leader's command stamps: wall-clock Unix nanoseconds,
// strictly increasing on this node even if the wall clock steps back.
type stampClock struct {
	mu     sync.Mutex
	last   int64
	offset time.Duration
}

func (c *stampClock) stamp() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.last = max(time.Now().Add(c.offset).UnixNano(), c.last+1)
	return c.last
}

// Now is this node's clock, with its configured offset, in Unix nanoseconds.
func (n *Node) Now() int64 { return time.Now().Add(n.clock.offset).UnixNano() }
