package fsm_test

import (
	"slices"
	"testing"
	"time"

	"github.com/bookd/bookd/fsm"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// at moves the harness clock to t0+d.
func (h *harness) at(d time.Duration) { h.now = t0 + d.Nanoseconds() }

func (h *harness) createProduct(name string) *bookdv1.Product {
	h.t.Helper()
	return mustOK[*bookdv1.CreateProductResponse](h.t, h.do(&bookdv1.CreateProductRequest{Name: name})).GetProduct()
}

func (h *harness) extend(holdID string, ttl time.Duration) *bookdv1.Hold {
	h.t.Helper()
	return mustOK[*bookdv1.ExtendHoldResponse](h.t, h.do(&bookdv1.ExtendHoldRequest{HoldId: holdID, Ttl: durationpb.New(ttl)})).GetHold()
}

func (h *harness) join(eventID, customer string, quantity int64) *bookdv1.WaitlistEntry {
	h.t.Helper()
	return mustOK[*bookdv1.JoinWaitlistResponse](h.t, h.do(&bookdv1.JoinWaitlistRequest{
		EventId: eventID, CustomerId: customer, Quantity: quantity})).GetEntry()
}

func (h *harness) entry(id string) (*bookdv1.WaitlistEntry, int64) {
	h.t.Helper()
	e, pos, err := h.f.WaitlistEntry(id)
	if err != nil {
		h.t.Fatalf("WaitlistEntry(%s): %v", id, err)
	}
	return e, pos
}

func (h *harness) event(id string) *bookdv1.Event {
	h.t.Helper()
	ev, err := h.f.Event(id)
	if err != nil {
		h.t.Fatalf("Event(%s): %v", id, err)
	}
	return ev
}

// holdFor makes a hold for a customer.
func holdFor(eventID, customer string, quantity int64, ttl time.Duration) *bookdv1.HoldRequest {
	return &bookdv1.HoldRequest{EventId: eventID, CustomerId: customer, Quantity: quantity, Ttl: durationpb.New(ttl)}
}

func bookFor(eventID, customer string, quantity int64) *bookdv1.BookRequest {
	return &bookdv1.BookRequest{EventId: eventID, CustomerId: customer, Quantity: quantity, PaymentRef: "pay"}
}

// bestHold asks for n best-available seats in a section ("" for any).
func bestHold(eventID, section string, n int64) *bookdv1.HoldRequest {
	return &bookdv1.HoldRequest{EventId: eventID, CustomerId: "alice", Quantity: n, Section: section,
		BestAvailable: true, Ttl: durationpb.New(time.Minute)}
}

// row builds a seat row with blocked seat numbers.
func row(name string, seats int32, blocked ...int32) *bookdv1.SeatRow {
	return &bookdv1.SeatRow{Name: name, Seats: seats, Blocked: blocked}
}

func section(name string, rows ...*bookdv1.SeatRow) *bookdv1.Section {
	return &bookdv1.Section{Name: name, Rows: rows}
}

func mapEvent(sections ...*bookdv1.Section) *bookdv1.CreateEventRequest {
	return &bookdv1.CreateEventRequest{Name: "Seat map", Sections: sections}
}

func ts(d time.Duration) *timestamppb.Timestamp {
	return timestamppb.New(time.Unix(0, t0+d.Nanoseconds()))
}

// allChanges reads the whole retained change feed.
func allChanges(t testing.TB, f *fsm.FSM) []*fsm.Change {
	t.Helper()
	changes, more, err := f.Changes(0, 0, 1_000_000)
	if err != nil || more {
		t.Fatalf("Changes(0, 0) = %d changes, more %v, %v", len(changes), more, err)
	}
	return changes
}

// changesAfter reads the feed after a change.
func changesAfter(t testing.TB, f *fsm.FSM, c *fsm.Change) []*fsm.Change {
	t.Helper()
	changes, _, err := f.Changes(c.GetIndex(), c.GetSeq(), 1_000_000)
	if err != nil {
		t.Fatalf("Changes(%d, %d): %v", c.GetIndex(), c.GetSeq(), err)
	}
	return changes
}

// kinds lists the kinds of changes, each as "kind:subject" where the
// subject is the hold, booking, entry or event the change is about.
func kinds(changes []*fsm.Change) []string {
	out := make([]string, len(changes))
	for i, c := range changes {
		subject := c.GetEventId()
		switch {
		case c.GetBookingId() != "":
			subject = c.GetBookingId()
		case c.GetHoldId() != "":
			subject = c.GetHoldId()
		case c.GetWaitlistEntryId() != "":
			subject = c.GetWaitlistEntryId()
		}
		out[i] = c.GetKind() + ":" + subject
	}
	return out
}

// kindsSince lists the kinds of the changes made from Raft index from on.
func kindsSince(t testing.TB, f *fsm.FSM, from uint64) []string {
	t.Helper()
	var out []*fsm.Change
	for _, c := range allChanges(t, f) {
		if c.GetIndex() >= from {
			out = append(out, c)
		}
	}
	return kinds(out)
}

func wantStrings(t testing.TB, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s = %q, want %q", what, got, want)
	}
}
