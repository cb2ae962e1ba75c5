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

// Propose stamps cmd with the leader's clock, replicates it and returns the
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
