package rpc_test

import (
	"context"
	"testing"

	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/rpc/clustertest"
)

func TestHoldConfirmThroughFollower(t *testing.T) {
	c := clustertest.Start(t, 3, clustertest.Options{})
	leader := c.WaitReady()
	var follower *clustertest.Node
	for _, nd := range c.Nodes {
		if nd != leader {
			follower = nd
		}
	}
	ev := createEvent(t, follower.RPCAddr, 10, []string{"A1", "A2"})
	ctx := context.Background()
	cl := bookingClient(follower.RPCAddr)
	hold, err := cl.Hold(ctx, &bookdv1.HoldRequest{EventId: ev.Id, CustomerId: "c1", Seats: []string{"A1"}})
	if err != nil {
		t.Fatalf("hold: %v", err)
	}
	bk, err := cl.Confirm(ctx, &bookdv1.ConfirmRequest{HoldId: hold.Hold.Id, PaymentRef: "pay-1"})
	if err != nil {
		t.Fatalf("confirm: %v", err)
	}
	got, err := cl.GetBooking(ctx, &bookdv1.GetBookingRequest{BookingId: bk.Booking.Id})
	if err != nil {
		t.Fatalf("get booking: %v", err)
	}
	if got.Booking.GetSeats()[0] != "A1" || got.Booking.GetPaymentRef() != "pay-1" {
		t.Fatalf("booking = %v", got.Booking)
	}
	av, err := cl.GetAvailability(ctx, &bookdv1.GetAvailabilityRequest{EventId: ev.Id})
	if err != nil {
		t.Fatal(err)
	}
	if len(av.FreeSeats) != 1 || av.FreeSeats[0] != "A2" || av.AvailableQuantity != 10 {
		t.Fatalf("availability = %v", av)
	}
	c.WaitConverged()
}
