package rpc

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"connectrpc.com/connect"

	"github.com/bookd/bookd/client"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/proto/bookd/v1/bookdv1connect"
	"github.com/bookd/bookd/raftnode"
)

// ShedConfig bounds the writes a node takes on before it refuses new ones.
// Past a bound, a new mutation of BookingService is refused at once with
// RESOURCE_EXHAUSTED and a retry-after hint (client.RetryAfter) instead of
// queueing until it times out; reads, and writes already accepted, go on.
type ShedConfig struct {
	// MaxPendingWrites bounds the writes this node is handling at once (a
	// BatchWrite counts each of its writes). 0: DefaultMaxPendingWrites;
	// negative: no bound.
	MaxPendingWrites int
	// MaxApplyLag bounds the leader's raftnode.Node.ApplyLag, the log
	// entries appended but not yet applied (followers forward writes and
	// do not shed by their own lag). 0: DefaultMaxApplyLag; negative: no
	// bound.
	MaxApplyLag int
	// RetryAfter is the wait suggested to refused callers (default 200ms).
	RetryAfter time.Duration
}

// Default shedding bounds: far above what the load generator's 512 clients
// keep in flight (at most a few batches of 1,000 per client), yet well
// under what would take seconds to drain at this machine's ~10,000 writes
// a second.
const (
	DefaultMaxPendingWrites = 8192
	DefaultMaxApplyLag      = 2048
)

// shedder refuses mutations past the bounds.
type shedder struct {
	maxPending int
	maxLag     int
	retryAfter time.Duration
	lag        func() uint64

	mu      sync.Mutex
	pending int
}

func newShedder(cfg ShedConfig, lag func() uint64) *shedder {
	s := &shedder{maxPending: cfg.MaxPendingWrites, maxLag: cfg.MaxApplyLag, retryAfter: cfg.RetryAfter, lag: lag}
	if s.maxPending == 0 {
		s.maxPending = DefaultMaxPendingWrites
	}
	if s.maxLag == 0 {
		s.maxLag = DefaultMaxApplyLag
	}
	if s.retryAfter <= 0 {
		s.retryAfter = 200 * time.Millisecond
	}
	return s
}

// leaderLag is the node's apply lag while it leads, and 0 otherwise: a
// follower catching up (after a restart, say) still forwards writes to a
// leader that may have room for them.
func leaderLag(node *raftnode.Node) func() uint64 {
	return func() uint64 {
		if !node.IsLeader() {
			return 0
		}
		return node.ApplyLag()
	}
}

const bookingPrefix = "/" + bookdv1connect.BookingServiceName + "/"

// admit decides on one call: nil release and nil error for calls it does
// not count (reads, other services), a release to call when the call ends,
// or the refusal.
func (s *shedder) admit(procedure string, idem connect.IdempotencyLevel, msg any) (release func(), err error) {
	if !strings.HasPrefix(procedure, bookingPrefix) || idem == connect.IdempotencyNoSideEffects {
		return nil, nil
	}
	weight := 1
	if b, ok := msg.(*bookdv1.BatchWriteRequest); ok {
		weight = max(1, len(b.GetWrites()))
	}
	if s.maxLag > 0 {
		if lag := s.lag(); lag > uint64(s.maxLag) {
			return nil, client.Overloaded(fmt.Sprintf("node overloaded: %d log entries wait to be applied (bound %d); retry shortly", lag, s.maxLag), s.retryAfter)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// One call bigger than the bound still goes through when nothing else
	// is pending, so no request is refused for good.
	if s.maxPending > 0 && s.pending > 0 && s.pending+weight > s.maxPending {
		return nil, client.Overloaded(fmt.Sprintf("node overloaded: %d writes pending (bound %d); retry shortly", s.pending, s.maxPending), s.retryAfter)
	}
	s.pending += weight
	return func() {
		s.mu.Lock()
		s.pending -= weight
		s.mu.Unlock()
	}, nil
}

// interceptor sheds mutations past the bounds.
func (s *shedder) interceptor() connect.UnaryInterceptorFunc {
	return func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			release, err := s.admit(req.Spec().Procedure, req.Spec().IdempotencyLevel, req.Any())
			if err != nil {
				return nil, err
			}
			if release != nil {
				defer release()
			}
			return next(ctx, req)
		}
	}
}
