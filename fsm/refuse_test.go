package fsm_test

import (
	"testing"
	"time"

	"github.com/bookd/bookd/fsm"
	fsmv1 "github.com/bookd/bookd/proto/bookd/fsm/v1"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
)

// CertainRefusals refuses only what no later command but a cancellation
// could grant: booked seats and GA tickets sold by bookings, for unused keys.
func TestCertainRefusals(t *testing.T) {
	h := newHarness(t)
	seated := h.createEvent(seatEvent("A1", "A2", "A3"))
	ga := h.createEvent(gaEvent(3))
	withKey := func(r *bookdv1.BookRequest, k string) *bookdv1.BookRequest { r.IdempotencyKey = k; return r }
	h.book(withKey(seatBook(seated.Id, "A1"), "used"))
	h.hold(seatHold(seated.Id, time.Minute, "A2"))
	h.book(gaBook(ga.Id, 2))
	h.hold(gaHold(ga.Id, 1, time.Minute))

	tests := []struct {
		name   string
		req    *bookdv1.BookRequest
		reason string // "" for no early refusal
	}{
		{"booked seat", withKey(seatBook(seated.Id, "A3", "A1"), "k1"), fsm.ReasonSeatTaken},
		{"held seat (the hold may expire)", withKey(seatBook(seated.Id, "A2"), "k2"), ""},
		{"free seat", withKey(seatBook(seated.Id, "A3"), "k3"), ""},
		{"unknown seat (the state machine says so)", withKey(seatBook(seated.Id, "Z9"), "k4"), ""},
		{"used key replays its answer", withKey(seatBook(seated.Id, "A1"), "used"), ""},
		{"GA beyond what bookings left", withKey(gaBook(ga.Id, 2), "k5"), fsm.ReasonSoldOut},
		{"GA within what bookings left (a hold may expire)", withKey(gaBook(ga.Id, 1), "k6"), ""},
		{"no key", seatBook(seated.Id, "A1"), ""},
	}
	cmds := make([]*fsmv1.Command, len(tests))
	for i, tt := range tests {
		cmds[i] = command(tt.req)
	}
	cmds = append(cmds, command(&bookdv1.CancelBookingRequest{BookingId: "bk_1", IdempotencyKey: "c"}))
	refusals := h.f.CertainRefusals(cmds)
	for i, tt := range tests {
		got := ""
		if refusals[i] != nil {
			got = refusals[i].Reason
		}
		if got != tt.reason {
			t.Errorf("%s: early refusal %q, want %q", tt.name, got, tt.reason)
		}
	}
	if refusals[len(tests)] != nil {
		t.Errorf("a cancellation was refused early: %v", refusals[len(tests)])
	}
	// The first, cheaper look picks at least every claim refused for certain.
	for i, sold := range h.f.SoldFor(cmds) {
		if refusals[i] != nil && sold == nil {
			t.Errorf("command %d: refused for certain (%v) but not picked by SoldFor", i, refusals[i])
		}
	}
}
