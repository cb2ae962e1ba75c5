package client_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/bookd/bookd/client"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
)

// Products, departures filtered by product and date, best-available seats,
// ExtendHold (alone and batched) and CloseEvent, against the real cluster.
func TestCatalogRoundTrips(t *testing.T) {
	c := realClient(t, endpoints)
	ctx := ctxWithTimeout(t, 30*time.Second)

	preq := &bookdv1.CreateProductRequest{Name: "Harbour tour " + t.Name(), IdempotencyKey: client.NewIdempotencyKey()}
	p, err := c.CreateProduct(ctx, preq)
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.CreateProduct(ctx, preq)
	if err != nil || !proto.Equal(again, p) {
		t.Fatalf("CreateProduct retried with the same key = %v, %v; want %v", again, err, p)
	}
	products := listAll(t, func(tok string) ([]*bookdv1.Product, string, error) {
		r, err := c.ListProducts(ctx, &bookdv1.ListProductsRequest{PageToken: tok, PageSize: 1})
		return r.GetProducts(), r.GetNextPageToken(), err
	})
	if n := countFunc(products, func(x *bookdv1.Product) bool { return x.GetId() == p.GetId() }); n != 1 {
		t.Fatalf("ListProducts lists product %s %d times in %v", p.GetId(), n, products)
	}

	day := time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC)
	var departures []*bookdv1.Event
	for i := range 3 {
		ev, err := c.CreateEvent(ctx, &bookdv1.CreateEventRequest{
			Name: "Harbour tour", ProductId: p.GetId(), StartsAt: timestamppb.New(day.AddDate(0, 0, i)),
			Sections: []*bookdv1.Section{{Name: "DECK", Rows: []*bookdv1.SeatRow{
				{Name: "A", Seats: 6, Blocked: []int32{3}}, {Name: "B", Seats: 6}}}},
			MaxTicketsPerCustomer: 4,
		})
		if err != nil {
			t.Fatal(err)
		}
		departures = append(departures, ev)
	}
	got, err := c.ListEvents(ctx, &bookdv1.ListEventsRequest{ProductId: p.GetId(),
		StartsAfter: timestamppb.New(day.AddDate(0, 0, 1)), StartsBefore: timestamppb.New(day.AddDate(0, 0, 3))})
	if err != nil {
		t.Fatal(err)
	}
	if ids := eventIDs(got.GetEvents()); !slices.Equal(ids, eventIDs(departures[1:])) {
		t.Fatalf("ListEvents of days 2 and 3 = %v, want %v", ids, eventIDs(departures[1:]))
	}

	ev := departures[0]
	hold, err := c.Hold(ctx, &bookdv1.HoldRequest{EventId: ev.GetId(), CustomerId: "ann", Quantity: 3,
		BestAvailable: true, Section: "DECK", Ttl: durationpb.New(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	// Row A's seats 4-6 are the front row's only three adjacent free seats.
	if want := []string{"DECK-A-4", "DECK-A-5", "DECK-A-6"}; !slices.Equal(hold.GetSeats(), want) {
		t.Errorf("best-available seats = %v, want %v", hold.GetSeats(), want)
	}
	first := hold.GetExpiresAt().AsTime()
	for _, batching := range []int{0, 16} {
		rt := newRPCCounter()
		bc := realClient(t, endpoints, client.WithBatching(batching), client.WithHTTPClient(&http.Client{Transport: rt}))
		ext, err := bc.ExtendHold(ctx, &bookdv1.ExtendHoldRequest{HoldId: hold.GetId(), Ttl: durationpb.New(50 * time.Minute)})
		if err != nil {
			t.Fatalf("ExtendHold (batching %d): %v", batching, err)
		}
		if batched := rt.count("BatchWrite") > 0; batched != (batching > 0) || batched == (rt.count("ExtendHold") > 0) {
			t.Errorf("ExtendHold (batching %d) sent %d ExtendHold and %d BatchWrite calls", batching, rt.count("ExtendHold"), rt.count("BatchWrite"))
		}
		if !ext.GetExpiresAt().AsTime().After(first.Add(45 * time.Minute)) {
			t.Errorf("ExtendHold (batching %d) expires %v, first %v", batching, ext.GetExpiresAt().AsTime(), first)
		}
		hold = ext
	}
	_, err = c.Hold(ctx, &bookdv1.HoldRequest{EventId: ev.GetId(), CustomerId: "ann", Quantity: 2, BestAvailable: true})
	if client.Reason(err) != client.ReasonCustomerLimit {
		t.Errorf("a 5th ticket for ann: %v, want reason %s", err, client.ReasonCustomerLimit)
	}

	closed, err := c.CloseEvent(ctx, &bookdv1.CloseEventRequest{EventId: ev.GetId()})
	if err != nil || closed.GetStatus() != bookdv1.EventStatus_EVENT_STATUS_CLOSED {
		t.Fatalf("CloseEvent = %v, %v", closed, err)
	}
	_, err = c.Hold(ctx, &bookdv1.HoldRequest{EventId: ev.GetId(), CustomerId: "bob", Quantity: 1, BestAvailable: true})
	if client.Reason(err) != client.ReasonEventClosed {
		t.Errorf("Hold on a closed event: %v, want reason %s", err, client.ReasonEventClosed)
	}
	// An active hold may still be confirmed after the close.
	if _, err := c.Confirm(ctx, &bookdv1.ConfirmRequest{HoldId: hold.GetId()}); err != nil {
		t.Errorf("Confirm after CloseEvent: %v", err)
	}
	mine, err := c.ListBookings(ctx, &bookdv1.ListBookingsRequest{CustomerId: "ann"})
	if err != nil || countFunc(mine.GetBookings(), func(b *bookdv1.Booking) bool { return b.GetHoldId() == hold.GetId() }) != 1 {
		t.Errorf("ListBookings of ann = %v, %v; want the confirmed hold's booking", mine, err)
	}
}

// A sold-out event's waitlist: entries queue in order, one leaves, and the
// first gets an offer when a hold is released; cancelling the event then
// releases that offer and counts the tickets to refund.
func TestWaitlistAndCancelRoundTrips(t *testing.T) {
	c := realClient(t, endpoints)
	ctx := ctxWithTimeout(t, 30*time.Second)
	ev := newEvent(t, c, 2)
	if _, err := c.Book(ctx, &bookdv1.BookRequest{EventId: ev.GetId(), CustomerId: "ann", Quantity: 1}); err != nil {
		t.Fatal(err)
	}
	hold, err := c.Hold(ctx, &bookdv1.HoldRequest{EventId: ev.GetId(), CustomerId: "ann", Quantity: 1})
	if err != nil {
		t.Fatal(err)
	}
	bob, err := c.JoinWaitlist(ctx, &bookdv1.JoinWaitlistRequest{EventId: ev.GetId(), CustomerId: "bob", Quantity: 1})
	if err != nil || bob.GetStatus() != bookdv1.WaitlistStatus_WAITLIST_STATUS_WAITING {
		t.Fatalf("JoinWaitlist(bob) = %v, %v", bob, err)
	}
	cat, err := c.JoinWaitlist(ctx, &bookdv1.JoinWaitlistRequest{EventId: ev.GetId(), CustomerId: "cat", Quantity: 1})
	if err != nil {
		t.Fatal(err)
	}
	if e, err := c.GetWaitlistEntry(ctx, cat.GetId(), client.Stale(0)); err == nil && e.GetPosition() != 2 {
		t.Errorf("cat waits at position %d, want 2", e.GetPosition())
	}
	left, err := c.LeaveWaitlist(ctx, &bookdv1.LeaveWaitlistRequest{EntryId: cat.GetId()})
	if err != nil || left.GetStatus() != bookdv1.WaitlistStatus_WAITLIST_STATUS_LEFT {
		t.Fatalf("LeaveWaitlist(cat) = %v, %v", left, err)
	}
	if _, err := c.LeaveWaitlist(ctx, &bookdv1.LeaveWaitlistRequest{EntryId: cat.GetId()}); client.Reason(err) != client.ReasonNotWaiting {
		t.Errorf("leaving twice: %v, want reason %s", err, client.ReasonNotWaiting)
	}

	if _, err := c.ReleaseHold(ctx, &bookdv1.ReleaseHoldRequest{HoldId: hold.GetId()}); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetWaitlistEntry(ctx, bob.GetId())
	if err != nil || got.GetEntry().GetStatus() != bookdv1.WaitlistStatus_WAITLIST_STATUS_OFFERED || got.GetEntry().GetHoldId() == "" {
		t.Fatalf("bob's entry after the release = %v, %v; want an offer", got, err)
	}
	offer, err := c.GetHold(ctx, got.GetEntry().GetHoldId())
	if err != nil || offer.GetCustomerId() != "bob" || offer.GetWaitlistEntryId() != bob.GetId() || offer.GetStatus() != bookdv1.HoldStatus_HOLD_STATUS_ACTIVE {
		t.Fatalf("offer = %v, %v", offer, err)
	}

	res, err := c.CancelEvent(ctx, &bookdv1.CancelEventRequest{EventId: ev.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	if res.GetEvent().GetStatus() != bookdv1.EventStatus_EVENT_STATUS_CANCELLED || res.GetReleasedHolds() != 1 || res.GetTicketsToRefund() != 1 {
		t.Errorf("CancelEvent = %v, want cancelled, 1 hold released, 1 ticket to refund", res)
	}
	if _, err := c.Confirm(ctx, &bookdv1.ConfirmRequest{HoldId: offer.GetId()}); connect.CodeOf(err) != connect.CodeFailedPrecondition {
		t.Errorf("confirming the released offer: %v, want FAILED_PRECONDITION", err)
	}
	if _, err := c.GetWaitlistEntry(ctx, "wl_99999999"); connect.CodeOf(err) != connect.CodeNotFound {
		t.Errorf("GetWaitlistEntry of no entry: %v, want NOT_FOUND", err)
	}
}

// listAll pages through a listing until its last page.
func listAll[T any](t *testing.T, page func(token string) ([]T, string, error)) []T {
	t.Helper()
	var all []T
	for token := ""; ; {
		items, next, err := page(token)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, items...)
		if next == "" {
			return all
		}
		token = next
	}
}

func countFunc[T any](s []T, f func(T) bool) int {
	n := 0
	for _, x := range s {
		if f(x) {
			n++
		}
	}
	return n
}

func eventIDs(events []*bookdv1.Event) []string {
	var ids []string
	for _, e := range events {
		ids = append(ids, e.GetId())
	}
	return ids
}
