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

// ProposeMany proposes every command at once, packed into as few log entries
// as fsm.MaxCommandsPerEntry allows, and waits for all of them. Result i or
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
	if len(cmds) == 1 {
		results[0], errs[0] = n.proposeOne(cmds[0], timeout)
		return results, errs
	}
	// Several commands share log entries: Raft's cost is per entry, and an
	// append carries at most MaxAppendEntries of them.
	type pending struct {
		future   raft.ApplyFuture
		included []int // positions in cmds, in entry order
	}
	var entries []pending
	for start := 0; start < len(cmds); start += fsm.MaxCommandsPerEntry {
		chunk := cmds[start:min(start+fsm.MaxCommandsPerEntry, len(cmds))]
		for _, cmd := range chunk {
			cmd.StampUnixNanos = n.clock.stamp()
		}
		data, included, encErrs := fsm.EncodeBatch(chunk)
		for i, err := range encErrs {
			errs[start+i] = err
		}
		if data == nil {
			continue
		}
		for i := range included {
			included[i] += start
		}
		entries = append(entries, pending{future: n.raft.Apply(data, timeout), included: included})
	}
	for _, e := range entries {
		if err := e.future.Error(); err != nil {
			for _, i := range e.included {
				errs[i] = proposeError(err)
			}
			continue
		}
		out, ok := e.future.Response().([]*fsm.Result)
		if !ok || len(out) != len(e.included) {
			for _, i := range e.included {
				errs[i] = fmt.Errorf("raftnode: state machine returned %T for a batch of %d", e.future.Response(), len(e.included))
			}
			continue
		}
		for j, i := range e.included {
			results[i] = out[j]
		}
	}
	return results, errs
}

// proposeOne proposes a command in an entry of its own.
func (n *Node) proposeOne(cmd *fsm.Command, timeout time.Duration) (*fsm.Result, error) {
	cmd.StampUnixNanos = n.clock.stamp()
	data, err := fsm.EncodeCommand(cmd)
	if err != nil {
		return nil, err
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
