package fsm_test

import (
	"slices"
	"testing"
	"time"

	"github.com/bookd/bookd/fsm"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"google.golang.org/protobuf/proto"
)

// A closed or cancelled event has nothing available: no GA tickets, no
// free seats, in no section; what is held, booked and blocked, and the
// status, are reported as they are. ListEvents' min_available agrees.
func TestAvailabilityWhenSalesStop(t *testing.T) {
	type figures struct {
		available, held, booked int64
		free                    []string
		heldSeats, bookedSeats  int64
		blockedSeats            int64
		sectionFree             int64 // free seats of the seat map's one section
		status                  bookdv1.EventStatus
	}
	tests := []struct {
		name string
		stop func(ev string) proto.Message // nil: sales go on
		// mixed is the GA and labelled-seat event, seated the seat map one.
		mixed, seated figures
	}{
		{
			name:   "on sale",
			mixed:  figures{available: 5, held: 2, booked: 3, free: []string{"A3", "A4", "A5"}, heldSeats: 1, bookedSeats: 1, sectionFree: 3, status: bookdv1.EventStatus_EVENT_STATUS_ON_SALE},
			seated: figures{free: []string{"S-A-4"}, heldSeats: 1, bookedSeats: 1, blockedSeats: 1, sectionFree: 1, status: bookdv1.EventStatus_EVENT_STATUS_ON_SALE},
		},
		{
			name:   "closed",
			stop:   func(ev string) proto.Message { return &bookdv1.CloseEventRequest{EventId: ev} },
			mixed:  figures{held: 2, booked: 3, heldSeats: 1, bookedSeats: 1, status: bookdv1.EventStatus_EVENT_STATUS_CLOSED},
			seated: figures{heldSeats: 1, bookedSeats: 1, blockedSeats: 1, status: bookdv1.EventStatus_EVENT_STATUS_CLOSED},
		},
		{
			// Cancelling releases the holds.
			name:   "cancelled",
			stop:   func(ev string) proto.Message { return &bookdv1.CancelEventRequest{EventId: ev} },
			mixed:  figures{booked: 3, bookedSeats: 1, status: bookdv1.EventStatus_EVENT_STATUS_CANCELLED},
			seated: figures{bookedSeats: 1, blockedSeats: 1, status: bookdv1.EventStatus_EVENT_STATUS_CANCELLED},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			mixed := h.createEvent(mixedEvent()).GetId()
			h.hold(gaHold(mixed, 2, time.Hour))
			h.hold(seatHold(mixed, time.Hour, "A1"))
			h.book(gaBook(mixed, 3))
			h.book(seatBook(mixed, "A2"))
			seated := h.createEvent(mapEvent(section("S", row("A", 4, 2)))).GetId() // S-A-2 blocked
			h.hold(seatHold(seated, time.Hour, "S-A-1"))
			h.book(seatBook(seated, "S-A-3"))
			if tt.stop != nil {
				h.do(tt.stop(mixed))
				h.do(tt.stop(seated))
			}
			for _, c := range []struct {
				id   string
				want figures
			}{{mixed, tt.mixed}, {seated, tt.seated}} {
				a := h.avail(c.id)
				checkAvail(t, a, c.want.available, c.want.held, c.want.booked, c.want.free)
				if a.GetHeldSeats() != c.want.heldSeats || a.GetBookedSeats() != c.want.bookedSeats || a.GetBlockedSeats() != c.want.blockedSeats {
					t.Errorf("%s seats held/booked/blocked = %d/%d/%d, want %d/%d/%d", c.id,
						a.GetHeldSeats(), a.GetBookedSeats(), a.GetBlockedSeats(), c.want.heldSeats, c.want.bookedSeats, c.want.blockedSeats)
				}
				if len(a.GetSections()) != 1 {
					t.Fatalf("%s sections = %v, want one", c.id, a.GetSections())
				}
				s := a.GetSections()[0]
				if s.GetFreeSeats() != c.want.sectionFree || s.GetHeldSeats() != c.want.heldSeats ||
					s.GetBookedSeats() != c.want.bookedSeats || s.GetBlockedSeats() != c.want.blockedSeats {
					t.Errorf("%s section = %v, want free/held/booked/blocked %d/%d/%d/%d", c.id, s,
						c.want.sectionFree, c.want.heldSeats, c.want.bookedSeats, c.want.blockedSeats)
				}
				if a.GetStatus() != c.want.status {
					t.Errorf("%s status = %v, want %v", c.id, a.GetStatus(), c.want.status)
				}
			}
			// min_available 1 lists exactly the events with something available.
			listed, _, err := h.f.ListEvents(fsm.EventFilter{MinAvailable: 1}, "", 10)
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range []string{mixed, seated} {
				a := h.avail(id)
				has := a.GetAvailableQuantity() > 0 || len(a.GetFreeSeats()) > 0
				in := slices.ContainsFunc(listed, func(e *bookdv1.Event) bool { return e.GetId() == id })
				if has != in {
					t.Errorf("%s: availability %d tickets, %d seats, but listed with min_available 1: %v",
						id, a.GetAvailableQuantity(), len(a.GetFreeSeats()), in)
				}
			}
		})
	}
}
