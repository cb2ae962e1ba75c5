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
	if n.raft.State() != raft.Leader {
		return nil, ErrNotLeader
	}
	if err := ctx.Err(); err != nil {
		return nil, err // the caller has gone: propose nothing
	}
	cmd.StampUnixNanos = n.clock.stamp()
	data, err := fsm.EncodeCommand(cmd)
	if err != nil {
		return nil, err
	}
	timeout := enqueueTimeout
	if d, ok := ctx.Deadline(); ok {
		if timeout = min(timeout, time.Until(d)); timeout <= 0 {
			return nil, context.DeadlineExceeded // raft takes 0 as "wait forever"
		}
	}
	future := n.raft.Apply(data, timeout)
	if err := future.Error(); err != nil {
		return nil, proposeError(err)
	}
	res, ok := future.Response().(*fsm.Result)
	if !ok {
		return nil, fmt.Errorf("raftnode: state machine returned %T", future.Response())
	}
	return res, nil
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
