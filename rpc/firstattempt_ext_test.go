package rpc_test

import (
	"context"
	"testing"

	"connectrpc.com/connect"
	"github.com/bookd/bookd/fsm"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/rpc"
	"github.com/bookd/bookd/rpc/clustertest"
)

// A single Book marked as a first attempt (rpc.FirstAttemptHeader), sent
// to the leader or to a follower, is refused like a BatchWrite first
// attempt: the refusal is not recorded under its key, so once a
// cancellation frees the inventory the same key books. Unmarked, the log
// answers and the refusal stands for the key.
func TestSingleFirstAttemptRefusedLikeABatchedOne(t *testing.T) {
	c := clustertest.Start(t, 3, clustertest.Options{})
	leader := c.WaitReady()
	follower := c.Nodes[0]
	if follower == leader {
		follower = c.Nodes[1]
	}
	ev := createEvent(t, leader.RPCAddr, 1, nil)
	ctx := context.Background()
	book := func(addr, key string, marked bool) (*bookdv1.BookResponse, error) {
		cctx, info := connect.NewClientContext(ctx)
		if marked {
			info.RequestHeader().Set(rpc.FirstAttemptHeader, "1")
		}
		return bookingClient(addr).Book(cctx, &bookdv1.BookRequest{EventId: ev.GetId(), CustomerId: "c-" + key, Quantity: 1, IdempotencyKey: key})
	}
	first, err := book(leader.RPCAddr, "first", true)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		addr, key string
		marked    bool
	}{
		{leader.RPCAddr, "marked-at-leader", true},
		{follower.RPCAddr, "marked-at-follower", true},
		{leader.RPCAddr, "unmarked", false},
	} {
		if _, err := book(tc.addr, tc.key, tc.marked); codeOf(err) != connect.CodeFailedPrecondition || reasonOf(err) != fsm.ReasonSoldOut {
			t.Fatalf("%s: got %v, want FAILED_PRECONDITION SOLD_OUT", tc.key, err)
		}
	}
	if _, err := bookingClient(leader.RPCAddr).CancelBooking(ctx, &bookdv1.CancelBookingRequest{
		BookingId: first.GetBooking().GetId(), IdempotencyKey: "cancel"}); err != nil {
		t.Fatal(err)
	}
	// The unmarked refusal was recorded: retried, it replays.
	if _, err := book(leader.RPCAddr, "unmarked", false); reasonOf(err) != fsm.ReasonSoldOut {
		t.Fatalf("retry of the unmarked key: got %v, want its recorded SOLD_OUT", err)
	}
	// The marked ones were not: retried (unmarked, as a retry is), the
	// first to come books the freed ticket, through the follower.
	resp, err := book(follower.RPCAddr, "marked-at-follower", false)
	if err != nil || resp.GetBooking().GetCustomerId() != "c-marked-at-follower" {
		t.Fatalf("retry of marked-at-follower after the cancellation: %v %v", resp, err)
	}
}
