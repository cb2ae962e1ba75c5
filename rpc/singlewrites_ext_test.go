package rpc_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"connectrpc.com/connect"
	"github.com/bookd/bookd/fsm"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/rpc"
	"github.com/bookd/bookd/rpc/clustertest"
)

// callCounter counts the calls a node serves that another node forwarded,
// by procedure, and the writes those BatchWrite calls carry.
type callCounter struct {
	mu      sync.Mutex
	calls   map[string]int
	batched atomic.Int64
}

func (cc *callCounter) interceptor() connect.UnaryInterceptorFunc {
	return func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			if req.Header().Get("Bookd-Forwarded-By") != "" {
				cc.mu.Lock()
				cc.calls[req.Spec().Procedure]++
				cc.mu.Unlock()
				if b, ok := req.Any().(*bookdv1.BatchWriteRequest); ok {
					cc.batched.Add(int64(len(b.GetWrites())))
				}
			}
			return next(ctx, req)
		}
	}
}

// Single Book calls sent to a follower all at once reach the leader as a
// few BatchWrite calls, not one forwarded call each, and every caller gets
// its own answer: its booking, or the refusal it would have got from the
// leader (code and reason), or its own validation error from the follower.
func TestFollowerForwardsSingleWritesInBatches(t *testing.T) {
	var countersMu sync.Mutex
	counters := map[string]*callCounter{}
	c := clustertest.Start(t, 3, clustertest.Options{Configure: func(id string, cfg *rpc.ServerConfig) {
		cc := &callCounter{calls: map[string]int{}}
		countersMu.Lock()
		counters[id] = cc
		countersMu.Unlock()
		cfg.Interceptors = append(cfg.Interceptors, cc.interceptor())
	}})
	leader := c.WaitReady()
	follower := c.Nodes[0]
	if follower == leader {
		follower = c.Nodes[1]
	}
	const callers, capacity = 300, 250
	ev := createEvent(t, leader.RPCAddr, capacity, nil)
	cl := bookingClient(follower.RPCAddr)

	var booked, soldOut, bookedKey atomic.Int64
	bookedKey.Store(-1)
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for i := range callers {
		wg.Go(func() {
			// As a client would: UNAVAILABLE (an election on a busy
			// machine) is retried with the same key.
			resp, err := retry(context.Background(), func(ctx context.Context) (*bookdv1.BookResponse, error) {
				return cl.Book(ctx, &bookdv1.BookRequest{
					EventId: ev.GetId(), CustomerId: "c" + itoa(i), Quantity: 1, IdempotencyKey: "k" + itoa(i)})
			})
			switch {
			case err == nil && resp.GetBooking().GetCustomerId() == "c"+itoa(i):
				booked.Add(1)
				bookedKey.CompareAndSwap(-1, int64(i))
			case err != nil && codeOf(err) == connect.CodeFailedPrecondition && reasonOf(err) == fsm.ReasonSoldOut:
				soldOut.Add(1)
			default:
				errs <- errorf("caller %d: %v %v", i, resp, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if booked.Load() != capacity || soldOut.Load() != callers-capacity {
		t.Fatalf("booked %d, sold out %d; want %d and %d", booked.Load(), soldOut.Load(), capacity, callers-capacity)
	}
	singles, batches, batched := 0, 0, int64(0)
	countersMu.Lock()
	defer countersMu.Unlock()
	for _, cc := range counters {
		cc.mu.Lock()
		singles += cc.calls["/bookd.v1.BookingService/Book"]
		batches += cc.calls["/bookd.v1.BookingService/BatchWrite"]
		cc.mu.Unlock()
		batched += cc.batched.Load()
	}
	if singles != 0 || batches == 0 || batches >= callers || batched < callers {
		t.Fatalf("nodes served %d forwarded Book calls and %d forwarded BatchWrite calls carrying %d writes; want 0, fewer than %d, and at least %d",
			singles, batches, batched, callers, callers)
	}
	t.Logf("%d single calls reached the leader as %d batches", callers, batches)

	// A retry through the follower replays its answer; a bad request is
	// refused by the follower, naming the field.
	k := itoa(int(bookedKey.Load()))
	resp, err := cl.Book(context.Background(), &bookdv1.BookRequest{EventId: ev.GetId(), CustomerId: "c" + k, Quantity: 1, IdempotencyKey: "k" + k})
	if err != nil || resp.GetBooking().GetCustomerId() != "c"+k {
		t.Fatalf("retry of booked key k%s: %v %v", k, resp, err)
	}
	_, err = cl.Book(context.Background(), &bookdv1.BookRequest{EventId: ev.GetId(), CustomerId: "c0", Quantity: -1, IdempotencyKey: "bad"})
	if codeOf(err) != connect.CodeInvalidArgument || !strings.Contains(err.Error(), "quantity") {
		t.Fatalf("bad quantity: %v", err)
	}
}

// reasonOf is the machine-readable reason of a refusal, or "".
func reasonOf(err error) string {
	var ce *connect.Error
	if !errors.As(err, &ce) {
		return ""
	}
	return ce.Meta().Get(rpc.ReasonHeader)
}

// With no leader to forward to, each of many concurrent single writes on a
// follower is answered UNAVAILABLE (outcome unknown: retry with the same
// key), each with its own error (the race detector watches the interceptors
// that add to it).
func TestFollowerWithoutLeaderRefusesForwardedWrites(t *testing.T) {
	c := clustertest.Start(t, 3, clustertest.Options{})
	leader := c.WaitReady()
	ev := createEvent(t, leader.RPCAddr, 100, nil)
	var left *clustertest.Node
	for _, n := range c.Nodes {
		if n != leader && left == nil {
			left = n
			continue
		}
		c.Stop(n)
	}
	cl := bookingClient(left.RPCAddr)
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for i := range 50 {
		wg.Go(func() {
			_, err := cl.Book(context.Background(), &bookdv1.BookRequest{
				EventId: ev.GetId(), CustomerId: "c", Quantity: 1, IdempotencyKey: "k" + itoa(i)})
			if codeOf(err) != connect.CodeUnavailable {
				errs <- errorf("write %d: %v, want UNAVAILABLE", i, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
