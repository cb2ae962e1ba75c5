package rpc_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"connectrpc.com/connect"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/rpc/clustertest"
)

// TestBatchWriteAppliesInOrder: each write of a batch gets the outcome it
// would have as a single call made after the ones before it, also where
// the leader looks for claims to refuse without the log. On an event that
// allows one ticket per customer, with A1 booked by d and A2 held by c:
//
//	[0] c books A1 (first attempt): CUSTOMER_LIMIT, c still holds A2. A1
//	    is booked, so the leader looks at it first; applied after [1] it
//	    would be SEAT_TAKEN instead.
//	[1] c releases A2.
//	[2] e holds A2 (first attempt): A2 is free again.
//	[3] f holds A2 (first attempt): SEAT_TAKEN, e holds it.
//	[4] g books A1 (first attempt): SEAT_TAKEN, answered without the log.
//
// Then a batch whose candidate for an early refusal comes after another
// write, which goes first: c books A3 (it holds nothing now), h's first
// attempt at A1 is SEAT_TAKEN, and e (holding A2) is at its limit. Several
// rounds, to a follower and to the leader.
func TestBatchWriteAppliesInOrder(t *testing.T) {
	c := clustertest.Start(t, 3, clustertest.Options{})
	leader := c.WaitReady()
	var follower *clustertest.Node
	for _, nd := range c.Nodes {
		if nd != leader {
			follower = nd
		}
	}
	limit := wantResult{code: connect.CodeFailedPrecondition, reason: "CUSTOMER_LIMIT", prefix: "customer c may have at most 1 tickets"}
	taken := func(seat string) wantResult {
		return wantResult{code: connect.CodeFailedPrecondition, reason: "SEAT_TAKEN", prefix: "seat " + seat + " of event"}
	}
	for round := range 6 {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		key := func(s string) string { return fmt.Sprintf("%s-%d", s, round) }
		created, err := retry(ctx, func(ctx context.Context) (*bookdv1.CreateEventResponse, error) {
			return bookingClient(leader.RPCAddr).CreateEvent(ctx, &bookdv1.CreateEventRequest{Name: "one each",
				Seats: []string{"A1", "A2", "A3"}, MaxTicketsPerCustomer: 1, IdempotencyKey: key("event")})
		})
		if err != nil {
			cancel()
			t.Fatalf("round %d: create event: %v", round, err)
		}
		ev := created.GetEvent().GetId()
		book := func(customer, seat, k string) *bookdv1.BookRequest {
			return &bookdv1.BookRequest{EventId: ev, CustomerId: customer, Seats: []string{seat}, IdempotencyKey: key(k)}
		}
		hold := func(customer, seat, k string) *bookdv1.HoldRequest {
			return &bookdv1.HoldRequest{EventId: ev, CustomerId: customer, Seats: []string{seat}, IdempotencyKey: key(k)}
		}
		if _, err := retry(ctx, func(ctx context.Context) (*bookdv1.BookResponse, error) {
			return bookingClient(leader.RPCAddr).Book(ctx, book("d", "A1", "d-a1"))
		}); err != nil {
			cancel()
			t.Fatalf("round %d: d books A1: %v", round, err)
		}
		held, err := retry(ctx, func(ctx context.Context) (*bookdv1.HoldResponse, error) {
			return bookingClient(leader.RPCAddr).Hold(ctx, hold("c", "A2", "c-a2"))
		})
		if err != nil {
			cancel()
			t.Fatalf("round %d: c holds A2: %v", round, err)
		}

		to := leader
		if round%2 == 0 {
			to = follower
		}
		resp, err := bookingClient(to.RPCAddr).BatchWrite(ctx, &bookdv1.BatchWriteRequest{Writes: []*bookdv1.Write{
			first(bookW(book("c", "A1", "c-a1"))),
			releaseW(&bookdv1.ReleaseHoldRequest{HoldId: held.GetHold().GetId(), IdempotencyKey: key("c-release")}),
			first(holdW(hold("e", "A2", "e-a2"))),
			first(holdW(hold("f", "A2", "f-a2"))),
			first(bookW(book("g", "A1", "g-a1"))),
		}})
		if err != nil {
			cancel()
			t.Fatalf("round %d: BatchWrite to %s: %v", round, to.ID, err)
		}
		checkResults(t, resp.GetResults(), []wantResult{limit, {ok: "release_hold"}, {ok: "hold"}, taken("A2"), taken("A1")})

		after, err := bookingClient(to.RPCAddr).BatchWrite(ctx, &bookdv1.BatchWriteRequest{Writes: []*bookdv1.Write{
			bookW(book("c", "A3", "c-a3")),
			first(bookW(book("h", "A1", "h-a1"))),
			bookW(book("e", "A3", "e-a3")),
		}})
		cancel()
		if err != nil {
			t.Fatalf("round %d: second BatchWrite to %s: %v", round, to.ID, err)
		}
		checkResults(t, after.GetResults(), []wantResult{{ok: "book"}, taken("A1"),
			{code: connect.CodeFailedPrecondition, reason: "CUSTOMER_LIMIT", prefix: "customer e may have at most 1 tickets"}})
		if t.Failed() {
			t.Fatalf("round %d to %s failed", round, to.ID)
		}
	}
}
