package fsm

import (
	"fmt"

	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
)

// claim is inventory about to be taken: GA tickets or named seats of one event.
type claim struct {
	event    uint64
	quantity int64    // tickets: the GA quantity, or the number of seats
	seats    []string // empty for GA
}

// checkClaim verifies that the inventory asked for is free, all of it.
func (t *txn) checkClaim(eventID string, quantity int64, seats []string) (*claim, *Error) {
	idx, ev, counters, err := t.event("event_id", eventID)
	if err != nil {
		return nil, err
	}
	if len(seats) == 0 {
		left := ev.GetCapacity() - counters.GetHeldQuantity() - counters.GetBookedQuantity()
		switch {
		case left <= 0:
			return nil, errorf(CodeFailedPrecondition, ReasonSoldOut, "event %s is sold out", eventID)
		case quantity > left:
			return nil, errorf(CodeFailedPrecondition, ReasonSoldOut,
				"event %s has only %d tickets left, %d asked", eventID, left, quantity)
		}
		return &claim{event: idx, quantity: quantity}, nil
	}
	for i, s := range seats {
		v, ok := t.seat(idx, s)
		if !ok {
			return nil, errorf(CodeInvalidArgument, ReasonUnknownSeat, "seats[%d]: event %s has no seat %q", i, eventID, s)
		}
		if v.state != seatFree {
			return nil, errorf(CodeFailedPrecondition, ReasonSeatTaken, "seat %s of event %s is taken", s, eventID)
		}
	}
	return &claim{event: idx, quantity: int64(len(seats)), seats: seats}, nil
}

// seat reads a seat's state, through the batch's seat cache (cache.go).
func (t *txn) seat(event uint64, label string) (seatValue, bool) {
	k := seatKey(event, label)
	if sv, ok := t.seats[string(k)]; ok {
		return sv, true
	}
	v, ok, err := getValue(t.b, k)
	must(err)
	if !ok {
		return seatValue{}, false
	}
	sv, err := decodeSeat(v)
	must(err)
	t.cacheSeat(k, sv)
	return sv, true
}

// setSeat writes a seat's state to the batch and its seat cache.
func (t *txn) setSeat(event uint64, label string, sv seatValue) {
	k := seatKey(event, label)
	t.set(k, sv.encode())
	t.cacheSeat(k, sv)
}

// shift moves inventory between states (seatFree, seatHeld, seatBooked) and
// keeps the event's counters in step. owner is the hold or booking that has
// the inventory in its new state. A seat not in the expected state means the
// stored state is corrupt: the node stops.
func (t *txn) shift(event uint64, quantity int64, seats []string, from, to byte, owner uint64) {
	counters := t.eventCounters(event)
	delta := func(state byte, n int64) {
		switch {
		case state == seatHeld && len(seats) == 0:
			counters.HeldQuantity += n
		case state == seatBooked && len(seats) == 0:
			counters.BookedQuantity += n
		case state == seatHeld:
			counters.HeldSeats += n
		case state == seatBooked:
			counters.BookedSeats += n
		}
	}
	delta(from, -quantity)
	delta(to, quantity)
	next := seatValue{state: to, owner: owner}
	for _, s := range seats {
		v, ok := t.seat(event, s)
		if !ok || v.state != from {
			panic(fmt.Sprintf("fsm: seat %q of event %d is in state %d, expected %d", s, event, v.state, from))
		}
		t.setSeat(event, s, next)
	}
}

// putBooking stores a booking and indexes it under its event.
func (t *txn) putBooking(event, booking uint64, b *bookdv1.Booking) {
	t.setProto(key(prefixBook, booking), b)
	t.set(key(prefixEvBook, event, booking), nil)
}
