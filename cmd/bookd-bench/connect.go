package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/bookd/bookd/client"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/proto/bookd/v1/bookdv1connect"
	"github.com/bookd/bookd/rpc"
)

// connectTarget calls bookd as a frontend in another language would: a
// plain connect-go BookingServiceClient per node, each call to the next
// node round-robin, one booking per call, with an idempotency key the
// frontend made and kept for retries. Nothing tracks the leader: a
// follower forwards what it gets. Setting up and auditing the event go
// through the client package, as in the other modes.
type connectTarget struct {
	nodes []bookdv1connect.BookingServiceClient
	hc    *http.Client
	next  atomic.Uint64
	admin *bookdTarget // Prepare and Audit
	stale time.Duration
	// retries counts the attempts sent again after UNAVAILABLE,
	// RESOURCE_EXHAUSTED or no answer.
	retries atomic.Int64
}

// connectBackoff is the wait before a retry of a refused or unanswered
// attempt when the node gave no retry-after hint: jittered between half
// and all of it.
const connectBackoff = 20 * time.Millisecond

func newConnectTarget(endpoints []string, o bookdClientOptions) (*connectTarget, error) {
	admin, err := newBookdTarget(endpoints, 1, bookdClientOptions{})
	if err != nil {
		return nil, err
	}
	tr := &http.Transport{Protocols: new(http.Protocols), MaxIdleConnsPerHost: 64}
	tr.Protocols.SetUnencryptedHTTP2(true)
	t := &connectTarget{hc: &http.Client{Transport: tr}, admin: admin, stale: o.BrowseStale}
	for _, ep := range endpoints {
		t.nodes = append(t.nodes, bookdv1connect.NewBookingServiceClient(t.hc, "http://"+ep))
	}
	return t, nil
}

// Name is "bookd".
func (t *connectTarget) Name() string { return "bookd" }

// node is the next node round-robin.
func (t *connectTarget) node() bookdv1connect.BookingServiceClient {
	return t.nodes[t.next.Add(1)%uint64(len(t.nodes))]
}

func (t *connectTarget) Prepare(ctx context.Context, inv Inventory) (string, error) {
	return t.admin.Prepare(ctx, inv)
}

func (t *connectTarget) Audit(ctx context.Context, event string, inv Inventory) (Audit, error) {
	return t.admin.Audit(ctx, event, inv)
}

// Book sends one BookRequest with the attempt's key, to the next node, and
// again (same key, next node) while the answer is UNAVAILABLE,
// RESOURCE_EXHAUSTED or none at all, until ctx ends.
func (t *connectTarget) Book(ctx context.Context, event string, a Attempt) error {
	req := &bookdv1.BookRequest{EventId: eventOf(event, a), CustomerId: a.Customer, Quantity: a.Quantity, Seats: a.Seats,
		IdempotencyKey: a.Key, PaymentRef: paymentRef(a.Key), Items: itemsOf(a), VoucherCode: a.Voucher}
	return t.retry(ctx, func(ctx context.Context, first bool) error {
		_, err := t.node().Book(markFirst(ctx, first), req)
		return err
	})
}

func (t *connectTarget) Hold(ctx context.Context, event string, a Attempt) (string, error) {
	req := &bookdv1.HoldRequest{EventId: eventOf(event, a), CustomerId: a.Customer, Quantity: a.Quantity, Seats: a.Seats,
		IdempotencyKey: a.Key + "-hold", Items: itemsOf(a), VoucherCode: a.Voucher}
	var hold string
	err := t.retry(ctx, func(ctx context.Context, first bool) error {
		res, err := t.node().Hold(markFirst(ctx, first), req)
		hold = res.GetHold().GetId()
		return err
	})
	return hold, err
}

func (t *connectTarget) Confirm(ctx context.Context, event, hold string, a Attempt) error {
	req := &bookdv1.ConfirmRequest{HoldId: hold, PaymentRef: paymentRef(a.Key), IdempotencyKey: a.Key + "-confirm"}
	return t.retry(ctx, func(ctx context.Context, _ bool) error {
		_, err := t.node().Confirm(ctx, req)
		return err
	})
}

// Browse reads availability from the next node: stale reads are served by
// it, linearizable ones by the leader (a follower forwards them), so
// round-robin spreads stale reads over the whole cluster.
func (t *connectTarget) Browse(ctx context.Context, event string, linearizable bool) error {
	req := &bookdv1.GetAvailabilityRequest{EventId: event}
	if !linearizable {
		req.Read = &bookdv1.ReadOptions{Consistency: bookdv1.Consistency_CONSISTENCY_STALE}
		if t.stale > 0 {
			req.Read.MaxStaleness = durationpb.New(t.stale)
		}
	}
	return t.retry(ctx, func(ctx context.Context, _ bool) error {
		_, err := t.node().GetAvailability(ctx, req)
		return err
	})
}

// retry runs send until it succeeds, fails for good, or ctx ends. Once an
// attempt went unanswered (no answer, or UNAVAILABLE, which a follower
// also says when its forward to the leader broke), a later failure no
// longer proves the write was not made: the error then wraps
// ErrUnknownOutcome.
func (t *connectTarget) retry(ctx context.Context, send func(ctx context.Context, first bool) error) error {
	unsure := false
	for attempt := 1; ; attempt++ {
		err := send(ctx, attempt == 1)
		if err == nil {
			return nil
		}
		err = conflictOrErr(err)
		code := connect.CodeOf(err)
		again := code == connect.CodeUnavailable || code == connect.CodeResourceExhausted
		if outcomeOf(err) == outcomeUnknown {
			unsure, again = true, true
		}
		if again && ctx.Err() == nil {
			wait := client.RetryAfter(err)
			if wait == 0 {
				wait = connectBackoff / 2
				wait += rand.N(connectBackoff - wait + 1)
			}
			select {
			case <-ctx.Done():
			case <-time.After(wait):
				t.retries.Add(1)
				continue
			}
		}
		if unsure {
			// Even a conflict may be the unanswered attempt's own booking
			// holding the inventory.
			return fmt.Errorf("%w after %d attempts: %w", ErrUnknownOutcome, attempt, err)
		}
		return err
	}
}

// markFirst marks a claim's first sending of its key (rpc.FirstAttemptHeader),
// as a frontend that knows it never sent the key before does: the leader
// may then refuse a claim of sold inventory without the log.
func markFirst(ctx context.Context, first bool) context.Context {
	if !first {
		return ctx
	}
	ctx, info := connect.NewClientContext(ctx)
	info.RequestHeader().Set(rpc.FirstAttemptHeader, "1")
	return ctx
}

func (t *connectTarget) Close() error {
	t.hc.CloseIdleConnections()
	return t.admin.Close()
}
