package fsm

import (
	"fmt"
	"slices"

	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
)

// claim is inventory about to be taken: GA tickets or named seats of one
// event, of one category (or none), priced at the tiers it falls in.
type claim struct {
	event    uint64
	ev       *bookdv1.Event
	quantity int64    // tickets: the GA quantity, or the number of seats
	seats    []string // empty for GA
	category int      // index into ev's categories, or noCategory
	lines    []*bookdv1.PriceLine
}

// checkClaim verifies that the event is on sale, that the customer stays
// within the event's limits (inOrder: tickets of the event the order took
// already), and that the inventory asked for is free, all of it; for a
// best-available claim it chooses the seats. The claim it returns is not
// yet priced (see priceClaim).
func (t *txn) checkClaim(c claimRequest, inOrder int64) (*claim, *Error) {
	idx, ev, counters, err := t.event(c.field+"event_id", c.eventID)
	if err != nil {
		return nil, err
	}
	if err := onSale(ev); err != nil {
		return nil, err
	}
	quantity := c.quantity
	if len(c.seats) > 0 {
		quantity = int64(len(c.seats))
	}
	category := noCategory
	if len(c.seats) == 0 && !c.bestAvailable {
		if category, err = categoryOf(ev, c.category, "", c.field); err != nil {
			return nil, err
		}
	}
	if err := t.checkLimits(idx, ev, c.customerID, quantity, inOrder); err != nil {
		return nil, err
	}
	switch {
	case c.bestAvailable:
		return t.claimBestAvailable(idx, ev, c.eventID, c.section, quantity, c.field)
	case len(c.seats) == 0:
		if ev.GetCapacity() == 0 {
			return nil, invalid("%squantity: event %s has no general admission; give seats or best_available", c.field, c.eventID)
		}
		left := ev.GetCapacity() - counters.GetHeldQuantity() - counters.GetBookedQuantity()
		// Bookings alone leaving too few: only a cancellation changes that.
		t.refusedForGood = quantity > ev.GetCapacity()-counters.GetBookedQuantity()
		switch {
		case left <= 0:
			return nil, errorf(CodeFailedPrecondition, ReasonSoldOut, "event %s is sold out", c.eventID).
				with(MetaEvent, c.eventID, MetaAvailable, "0", MetaAsked, itoa(quantity))
		case quantity > left:
			return nil, errorf(CodeFailedPrecondition, ReasonSoldOut,
				"event %s has only %d tickets left, %d asked", c.eventID, left, quantity).
				with(MetaEvent, c.eventID, MetaAvailable, itoa(left), MetaAsked, itoa(quantity))
		}
		return &claim{event: idx, ev: ev, quantity: quantity, category: category}, nil
	}
	for i, s := range c.seats {
		state, ok := t.seat(idx, s)
		switch {
		case !ok:
			return nil, errorf(CodeInvalidArgument, ReasonUnknownSeat, "%sseats[%d]: event %s has no seat %q", c.field, i, c.eventID, s).
				with(MetaEvent, c.eventID, MetaSeat, s)
		case state == seatBlocked:
			return nil, errorf(CodeFailedPrecondition, ReasonSeatBlocked, "seat %s of event %s is not for sale", s, c.eventID).
				with(MetaEvent, c.eventID, MetaSeat, s)
		case state != seatFree:
			t.refusedForGood = state == seatBooked // a hold may expire
			return nil, seatTaken(c.eventID, s)
		}
	}
	return &claim{event: idx, ev: ev, quantity: quantity, seats: c.seats, category: noCategory}, nil
}

// claimBestAvailable chooses quantity seats in a section.
func (t *txn) claimBestAvailable(idx uint64, ev *bookdv1.Event, eventID, section string, quantity int64, field string) (*claim, *Error) {
	layout := t.layout(idx)
	if len(layout.GetRows()) == 0 {
		return nil, invalid("%sbest_available: event %s has no seats", field, eventID).with(MetaEvent, eventID)
	}
	if section != "" && !hasSection(layout, section) {
		return nil, errorf(CodeInvalidArgument, ReasonUnknownSeat, "%ssection: event %s has no section %q", field, eventID, section).
			with(MetaEvent, eventID, MetaSection, section)
	}
	seats := t.bestAvailable(idx, layout, section, int(quantity))
	if seats == nil {
		where := "event " + eventID
		if section != "" {
			where = "section " + section + " of event " + eventID
		}
		e := errorf(CodeFailedPrecondition, ReasonSoldOut, "%s has fewer than %d seats free", where, quantity).
			with(MetaEvent, eventID, MetaAsked, itoa(quantity))
		if section != "" {
			e.with(MetaSection, section)
		}
		return nil, e
	}
	return &claim{event: idx, ev: ev, quantity: quantity, seats: seats, category: noCategory}, nil
}

// checkLimits enforces the event's limits on one hold (inOrder: the
// order's tickets of the event before this claim) and on one customer's
// tickets in live holds and bookings (which count the order's taken ones).
func (t *txn) checkLimits(event uint64, ev *bookdv1.Event, customer string, quantity, inOrder int64) *Error {
	if max := ev.GetMaxTicketsPerHold(); max > 0 && inOrder+quantity > max {
		return errorf(CodeFailedPrecondition, ReasonHoldLimit,
			"event %s allows at most %d tickets per hold, %d asked", ev.GetId(), max, inOrder+quantity).
			with(MetaEvent, ev.GetId(), MetaLimit, itoa(max), MetaAsked, itoa(inOrder+quantity))
	}
	max := ev.GetMaxTicketsPerCustomer()
	if max == 0 {
		return nil
	}
	if have := t.tickets(event, customer); have+quantity > max {
		return errorf(CodeFailedPrecondition, ReasonCustomerLimit,
			"customer %s may have at most %d tickets of event %s and has %d in holds and bookings, %d asked",
			clip(customer), max, ev.GetId(), have, quantity).
			with(MetaEvent, ev.GetId(), MetaCustomer, customer, MetaLimit, itoa(max), MetaHas, itoa(have), MetaAsked, itoa(quantity))
	}
	return nil
}

// tickets is a customer's tickets of an event in live holds and bookings.
func (t *txn) tickets(event uint64, customer string) int64 {
	v, ok := getValueT(t, ticketKey(event, customer))
	if !ok {
		return 0
	}
	n, err := decodeU64(v)
	must(err)
	return int64(n)
}

// addTickets moves a customer's ticket count; only events with a
// per-customer limit keep one.
func (t *txn) addTickets(event uint64, customer string, delta int64) {
	if t.cachedEvent(event).GetMaxTicketsPerCustomer() == 0 {
		return
	}
	n := t.tickets(event, customer) + delta
	if n < 0 {
		panic(fmt.Sprintf("fsm: customer %q of event %d would have %d tickets", customer, event, n))
	}
	if n == 0 {
		t.delete(ticketKey(event, customer))
		return
	}
	t.set(ticketKey(event, customer), u64(nil, uint64(n)))
}

// shift moves inventory between states (seatFree, seatHeld, seatBooked) and
// keeps the event's counters in step. A seat not in the expected state means
// the stored state is corrupt: the node stops.
func (t *txn) shift(event uint64, quantity int64, seats []string, from, to byte) {
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
	for _, s := range seats {
		t.moveSeat(event, s, from, to)
	}
}

// putBooking stores a booking and indexes it under the events of its claims.
func (t *txn) putBooking(claims []*claim, booking uint64, b *bookdv1.Booking) {
	t.setProto(key(prefixBook, booking), b)
	for i, cl := range claims {
		if !slices.ContainsFunc(claims[:i], func(c *claim) bool { return c.event == cl.event }) {
			t.set(key(prefixEvBook, cl.event, booking), nil)
		}
	}
	t.set(customerBookingKey(b.GetCustomerId(), booking), nil)
}
