package edge_test

import (
	"context"
	"slices"
	"testing"
	"time"

	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/rpc/clustertest"
	"github.com/bookd/bookd/rpc/edge"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Through an edge, a shopper searches a product's departures by date,
// extends a hold, and joins and leaves a sold-out departure's waitlist.
func TestEdgeServesTheBookingDomain(t *testing.T) {
	c := clustertest.Start(t, 3, clustertest.Options{})
	run, _ := startEdge(t, c, edge.Config{})
	cl := newClient(t, c.Endpoints())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	product, err := cl.CreateProduct(ctx, &bookdv1.CreateProductRequest{Name: "Harbour cruise"})
	if err != nil {
		t.Fatal(err)
	}
	day := func(d int) *timestamppb.Timestamp {
		return timestamppb.New(time.Date(2026, 12, d, 18, 0, 0, 0, time.UTC))
	}
	var ids []string
	for _, d := range []int{3, 1, 2} {
		ev := createEvent(t, cl, &bookdv1.CreateEventRequest{Name: "Cruise", ProductId: product.GetId(), StartsAt: day(d), Capacity: 1})
		ids = append(ids, ev.GetId())
	}
	createEvent(t, cl, &bookdv1.CreateEventRequest{Name: "Other", StartsAt: day(2), Capacity: 1})

	// The edge lists from caches and followers: a page may miss events
	// created a moment ago by another client, for at most about Staleness +
	// NodeStaleness (edge.Config), then shows them.
	ec := edgeClient(run)
	want := []string{ids[2], ids[0]}
	var got []string
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		list, err := ec.ListEvents(ctx, &bookdv1.ListEventsRequest{ProductId: product.GetId(), StartsAfter: day(2)})
		if err != nil {
			t.Fatal(err)
		}
		got = got[:0]
		for _, ev := range list.GetEvents() {
			got = append(got, ev.GetId())
		}
		if slices.Equal(got, want) || time.Now().After(deadline) {
			break
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("departures from December 2 through the edge: %v, want %v", got, want)
	}

	hold, err := ec.Hold(ctx, &bookdv1.HoldRequest{EventId: ids[1], Quantity: 1, Ttl: durationpb.New(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	ext, err := ec.ExtendHold(ctx, &bookdv1.ExtendHoldRequest{HoldId: hold.GetHold().GetId(), Ttl: durationpb.New(30 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if !ext.GetHold().GetExpiresAt().AsTime().After(hold.GetHold().GetExpiresAt().AsTime()) {
		t.Errorf("extended hold expires %v, before %v", ext.GetHold().GetExpiresAt().AsTime(), hold.GetHold().GetExpiresAt().AsTime())
	}
	bo := edgeClient(run) // another shopper
	entry, err := bo.JoinWaitlist(ctx, &bookdv1.JoinWaitlistRequest{EventId: ids[1], Quantity: 1})
	if err != nil {
		t.Fatal(err)
	}
	pos, err := bo.GetWaitlistEntry(ctx, &bookdv1.GetWaitlistEntryRequest{EntryId: entry.GetEntry().GetId()})
	if err != nil {
		t.Fatal(err)
	}
	if pos.GetPosition() != 1 {
		t.Errorf("bo is number %d in line, want 1", pos.GetPosition())
	}
	left, err := bo.LeaveWaitlist(ctx, &bookdv1.LeaveWaitlistRequest{EntryId: entry.GetEntry().GetId()})
	if err != nil || left.GetEntry().GetStatus() != bookdv1.WaitlistStatus_WAITLIST_STATUS_LEFT {
		t.Errorf("leave waitlist: %v, %v", left, err)
	}
}
