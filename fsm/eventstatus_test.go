package fsm_test

import (
	"testing"
	"time"

	"github.com/bookd/bookd/fsm"
	fsmv1 "github.com/bookd/bookd/proto/bookd/fsm/v1"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"google.golang.org/protobuf/proto"
)

// After CloseEvent or CancelEvent, claims (Hold, Book, JoinWaitlist) are
// refused with EVENT_CLOSED or EVENT_CANCELLED.
func TestClaimsRefusedWhenSalesStop(t *testing.T) {
	for _, cancel := range []bool{false, true} {
		name, reason, msg := "closed", fsm.ReasonEventClosed, "is closed: sales have stopped"
		if cancel {
			name, reason, msg = "cancelled", fsm.ReasonEventCancelled, "is cancelled"
		}
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			ev := h.createEvent(mixedEvent()).GetId()
			var stop proto.Message = &bookdv1.CloseEventRequest{EventId: ev}
			if cancel {
				stop = &bookdv1.CancelEventRequest{EventId: ev}
			}
			if res := h.do(stop); res.Err != nil {
				t.Fatal(res.Err)
			}
			claims := map[string]proto.Message{
				"GA hold":        gaHold(ev, 1, time.Minute),
				"seat hold":      seatHold(ev, time.Minute, "A1"),
				"best available": bestHold(ev, "", 1),
				"GA book":        gaBook(ev, 1),
				"seat book":      seatBook(ev, "A1"),
				"join waitlist":  &bookdv1.JoinWaitlistRequest{EventId: ev, CustomerId: "bob", Quantity: 20},
			}
			for what, req := range claims {
				t.Run(what, func(t *testing.T) { wantErr(t, h.do(req), fsm.CodeFailedPrecondition, reason, ev+" "+msg) })
			}
			a := h.avail(ev)
			checkAvail(t, a, 0, 0, 0, nil) // nothing can be held
			wantStatus := bookdv1.EventStatus_EVENT_STATUS_CLOSED
			if cancel {
				wantStatus = bookdv1.EventStatus_EVENT_STATUS_CANCELLED
			}
			if a.GetStatus() != wantStatus || h.event(ev).GetStatus() != wantStatus {
				t.Errorf("status %v / %v, want %v", a.GetStatus(), h.event(ev).GetStatus(), wantStatus)
			}
			// Stopping again is refused; a closed event may still be cancelled.
			wantErr(t, h.do(&bookdv1.CloseEventRequest{EventId: ev}), fsm.CodeFailedPrecondition, reason)
			res := h.do(&bookdv1.CancelEventRequest{EventId: ev})
			if cancel {
				wantErr(t, res, fsm.CodeFailedPrecondition, fsm.ReasonEventCancelled, "already cancelled")
			} else {
				mustOK[*bookdv1.CancelEventResponse](t, res)
			}
		})
	}
}

// Closing an event stops sales but leaves its holds: they may still be
// confirmed, released or extended, and expire as usual.
func TestCloseEventKeepsHolds(t *testing.T) {
	h := newHarness(t)
	ev := h.createEvent(mixedEvent()).GetId()
	ga := h.hold(gaHold(ev, 3, time.Minute))
	seats := h.hold(seatHold(ev, time.Minute, "A1", "A2"))
	released := h.hold(gaHold(ev, 1, time.Minute))
	expiring := h.hold(seatHold(ev, 10*time.Second, "A5"))
	closed := mustOK[*bookdv1.CloseEventResponse](t, h.do(&bookdv1.CloseEventRequest{EventId: ev})).GetEvent()
	if closed.GetStatus() != bookdv1.EventStatus_EVENT_STATUS_CLOSED || closed.GetId() != ev || len(closed.GetSeats()) != 5 {
		t.Errorf("CloseEvent returned %v, want the closed event with its 5 seats", closed)
	}
	h.at(5 * time.Second)
	h.confirm(ga.GetId())
	h.extend(seats.GetId(), time.Hour)
	h.release(released.GetId())
	h.at(10 * time.Second)
	h.do(&fsmv1.ExpireHolds{})
	if st := h.readHold(expiring.GetId(), 0).GetStatus(); st != bookdv1.HoldStatus_HOLD_STATUS_EXPIRED {
		t.Errorf("hold on a closed event is %v at its expiry, want expired", st)
	}
	h.confirm(seats.GetId())
	checkAvail(t, h.avail(ev), 0, 0, 3, nil) // closed: nothing available
}

// Cancelling an event releases its active holds and reports the tickets of
// its bookings, which stay listed for refund.
func TestCancelEvent(t *testing.T) {
	h := newHarness(t)
	ev := h.createEvent(mixedEvent()).GetId()
	other := h.createEvent(mixedEvent()).GetId()
	held := []*bookdv1.Hold{h.hold(gaHold(ev, 3, time.Hour)), h.hold(seatHold(ev, time.Hour, "A1", "A2"))}
	expired := h.hold(gaHold(ev, 1, time.Second))
	otherHold := h.hold(gaHold(other, 2, time.Hour))
	b1 := h.book(gaBook(ev, 2))
	b2 := h.book(seatBook(ev, "A4", "A5"))
	b3 := h.book(gaBook(ev, 1))
	h.cancel(b3.GetId()) // cancelled before: not to refund
	b4 := h.confirm(h.hold(seatHold(ev, time.Hour, "A3")).GetId())

	h.at(time.Minute)
	from := h.next
	resp := mustOK[*bookdv1.CancelEventResponse](t, h.do(&bookdv1.CancelEventRequest{EventId: ev}))
	if resp.GetReleasedHolds() != 2 || resp.GetTicketsToRefund() != 5 || resp.GetEvent().GetStatus() != bookdv1.EventStatus_EVENT_STATUS_CANCELLED || len(resp.GetEvent().GetSeats()) != 5 {
		t.Errorf("CancelEvent = released %d, to refund %d, status %v; want 2, 5 (GA 2, seats A3-A5), cancelled",
			resp.GetReleasedHolds(), resp.GetTicketsToRefund(), resp.GetEvent().GetStatus())
	}
	for _, hd := range held {
		if st := h.readHold(hd.GetId(), 0).GetStatus(); st != bookdv1.HoldStatus_HOLD_STATUS_RELEASED {
			t.Errorf("hold %s is %v, want released", hd.GetId(), st)
		}
		wantErr(t, h.do(&bookdv1.ConfirmRequest{HoldId: hd.GetId()}), fsm.CodeFailedPrecondition, fsm.ReasonHoldReleased)
	}
	if st := h.readHold(expired.GetId(), 0).GetStatus(); st != bookdv1.HoldStatus_HOLD_STATUS_EXPIRED {
		t.Errorf("hold expired before the cancel is %v", st)
	}
	if st := h.readHold(otherHold.GetId(), 0).GetStatus(); st != bookdv1.HoldStatus_HOLD_STATUS_ACTIVE {
		t.Errorf("another event's hold is %v, want active", st)
	}
	wantStrings(t, "changes", kindsSince(t, h.f, from), []string{
		"hold_expired:" + expired.GetId(),
		"event_cancelled:" + ev, "hold_released:" + held[0].GetId(), "hold_released:" + held[1].GetId()})
	checkAvail(t, h.avail(ev), 0, 0, 2, nil) // cancelled: nothing available

	bookings, _, err := h.f.ListBookings(ev, "", "", 100)
	if err != nil {
		t.Fatal(err)
	}
	var confirmed []string
	for _, b := range bookings {
		if b.GetStatus() == bookdv1.BookingStatus_BOOKING_STATUS_CONFIRMED {
			confirmed = append(confirmed, b.GetId())
		}
	}
	wantStrings(t, "bookings to refund", confirmed, []string{b1.GetId(), b2.GetId(), b4.GetId()})
	// Refunding one cancels the booking; its tickets do not go back on sale.
	h.cancel(b1.GetId())
	wantErr(t, h.do(gaBook(ev, 1)), fsm.CodeFailedPrecondition, fsm.ReasonEventCancelled)
	checkAvail(t, h.avail(other), 8, 2, 0, allSeats)
}

func TestStopSalesBadEvent(t *testing.T) {
	h := newHarness(t)
	h.createEvent(gaEvent(1))
	for _, tt := range []struct {
		id   string
		code fsm.Code
		msg  string
	}{
		{"ev_999", fsm.CodeNotFound, "event ev_999 not found"},
		{"hd_1", fsm.CodeInvalidArgument, "event_id:"},
		{"", fsm.CodeInvalidArgument, "event_id:"},
	} {
		wantErr(t, h.do(&bookdv1.CloseEventRequest{EventId: tt.id}), tt.code, "", tt.msg)
		wantErr(t, h.do(&bookdv1.CancelEventRequest{EventId: tt.id}), tt.code, "", tt.msg)
	}
}
