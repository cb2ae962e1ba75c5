package fsm_test

import (
	"testing"
	"time"

	"github.com/bookd/bookd/fsm"
)

// ListBookings by customer lists one customer's bookings of every event
// (or of one event) in creation order, including cancelled ones and those
// made by confirming a hold.
func TestListBookingsByCustomer(t *testing.T) {
	h := newHarness(t)
	ev1 := h.createEvent(gaEvent(20)).GetId()
	ev2 := h.createEvent(mixedEvent()).GetId()
	want := map[string][]string{}
	add := func(customer, booking string) { want[customer] = append(want[customer], booking) }
	byEvent := map[string][]string{}
	for i, c := range []string{"alice", "al", "alice", "bob", "alice", "al"} {
		ev := ev1
		if i%2 == 1 {
			ev = ev2
		}
		b := h.book(bookFor(ev, c, 1)).GetId()
		add(c, b)
		if c == "alice" {
			byEvent[ev] = append(byEvent[ev], b)
		}
	}
	confirmed := h.confirm(h.hold(holdFor(ev2, "alice", 2, time.Minute)).GetId()).GetId()
	add("alice", confirmed)
	byEvent[ev2] = append(byEvent[ev2], confirmed)
	h.cancel(want["alice"][0]) // still listed

	list := func(ev, customer string, limit int) []string {
		t.Helper()
		var got []string
		after := ""
		for pages := 0; ; pages++ {
			if pages > 20 {
				t.Fatalf("paging does not end")
			}
			bs, next, err := h.f.ListBookings(ev, customer, after, limit)
			if err != nil {
				t.Fatalf("ListBookings(%q, %q): %v", ev, customer, err)
			}
			for _, b := range bs {
				if b.GetCustomerId() != customer || (ev != "" && b.GetEventId() != ev) {
					t.Errorf("ListBookings(%q, %q) listed %s of %s at %s", ev, customer, b.GetId(), b.GetCustomerId(), b.GetEventId())
				}
				got = append(got, b.GetId())
			}
			if next == "" {
				return got
			}
			after = next
		}
	}
	for _, limit := range []int{1, 2, 100} {
		for _, c := range []string{"alice", "al", "bob"} {
			wantStrings(t, "bookings of "+c, list("", c, limit), want[c])
		}
		wantStrings(t, "bookings of nobody", list("", "carol", limit), nil)
		wantStrings(t, "alice's bookings of ev1", list(ev1, "alice", limit), byEvent[ev1])
		wantStrings(t, "alice's bookings of ev2", list(ev2, "alice", limit), byEvent[ev2])
	}
	_, _, err := h.f.ListBookings("", "alice", "hd_1", 10)
	checkError(t, err, fsm.CodeInvalidArgument, "", "page_token")
}
