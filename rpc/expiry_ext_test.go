package rpc_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/rpc/clustertest"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Holds expire identically on every replica: the same holds, at the same
// leader-stamped time, with the same change records, leaving the same state.
func TestHoldsExpireIdenticallyOnEveryReplica(t *testing.T) {
	c := clustertest.Start(t, 3, clustertest.Options{})
	leader := c.WaitReady()
	ctx := context.Background()
	cl := bookingClient(leader.RPCAddr)
	ev, err := cl.CreateEvent(ctx, &bookdv1.CreateEventRequest{Name: "Expiry", Capacity: 10,
		Sections: []*bookdv1.Section{{Name: "S", Rows: []*bookdv1.SeatRow{{Name: "A", Seats: 6}}}}})
	if err != nil {
		t.Fatal(err)
	}
	var holds []string
	for i, ttl := range []time.Duration{time.Second, 1500 * time.Millisecond, time.Second, time.Hour} {
		req := &bookdv1.HoldRequest{EventId: ev.Event.Id, CustomerId: fmt.Sprint("c", i), Quantity: 1, Ttl: durationpb.New(ttl)}
		if i%2 == 1 {
			req.BestAvailable, req.Section = true, "S"
		}
		h, err := cl.Hold(ctx, req)
		if err != nil {
			t.Fatalf("hold %d: %v", i, err)
		}
		holds = append(holds, h.Hold.Id)
	}
	// The sweeper expires the first three; then every node agrees on all.
	c.Eventually(20*time.Second, func() error {
		for _, nd := range c.Nodes {
			for i, id := range holds[:3] {
				h, err := bookingClient(nd.RPCAddr).GetHold(ctx, &bookdv1.GetHoldRequest{HoldId: id, Read: staleRead()})
				if err != nil {
					return err
				}
				if h.Hold.Status != bookdv1.HoldStatus_HOLD_STATUS_EXPIRED {
					return fmt.Errorf("%s: hold %d is %s", nd.ID, i, h.Hold.Status)
				}
			}
		}
		return nil
	})
	c.WaitConverged() // equal state digests at equal applied indexes
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var want []*bookdv1.Change
	for _, nd := range c.Nodes {
		got, err := watch(ctx, nd.RPCAddr, "", 8) // the event, 4 holds, 3 expiries
		if err != nil {
			t.Fatal(err)
		}
		var expiries []*bookdv1.Change
		for _, ch := range got {
			if ch.GetKind() == "hold_expired" {
				expiries = append(expiries, ch)
			}
		}
		if len(expiries) != 3 {
			t.Fatalf("%s reports %d expiries, want 3: %v", nd.ID, len(expiries), kinds(got))
		}
		if want == nil {
			want = expiries
		}
		for i := range expiries {
			if !proto.Equal(expiries[i], want[i]) {
				t.Errorf("%s: expiry %d is %v, another node says %v", nd.ID, i, expiries[i], want[i])
			}
		}
		av, err := bookingClient(nd.RPCAddr).GetAvailability(ctx, &bookdv1.GetAvailabilityRequest{EventId: ev.Event.Id, Read: staleRead()})
		if err != nil {
			t.Fatal(err)
		}
		if av.AvailableQuantity != 10 || av.HeldQuantity != 0 || av.Sections[0].FreeSeats != 5 || av.Sections[0].HeldSeats != 1 {
			t.Errorf("%s: availability %v, want 10 GA tickets free, 5 seats free and 1 held", nd.ID, av)
		}
	}
}
