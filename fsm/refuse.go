package fsm

import (
	fsmv1 "github.com/bookd/bookd/proto/bookd/fsm/v1"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/cockroachdb/pebble/v2"
	"math"
)

// CertainRefusals reports, for each of cmds that is a claim (Book or Hold)
// never proposed before, whether the stored state already refuses it, so
// that a leader can answer it without replicating anything: refusals[i] is
// nil unless command i is refused. A refusal is reported only when no later
// command but a cancellation could change the answer: a named seat that is
// booked, or a GA event whose bookings alone leave too few tickets (holds,
// which may expire, are not counted); and only while the command's
// idempotency key is unused (a used key must replay its recorded answer).
//
// The answers are as of one read of the state. They are linearizable when
// that state includes every write acknowledged before the claims arrived
// (the caller waits for a read barrier first). Such a refusal is not
// recorded under the key: the key may still be used for a claim that
// succeeds later.
func (f *FSM) CertainRefusals(cmds []*Command) []*Error {
	return f.refusals(cmds, true)
}

// SoldFor is a first, cheaper look for CertainRefusals: refusals[i] is
// non-nil when the inventory command i claims looks sold, before the other
// checks CertainRefusals makes (the event's status and limits, the key).
func (f *FSM) SoldFor(cmds []*Command) []*Error {
	return f.refusals(cmds, false)
}

func (f *FSM) refusals(cmds []*Command, certain bool) []*Error {
	refusals := make([]*Error, len(cmds))
	err := f.view(func(r pebble.Reader) error {
		left := map[uint64]int64{} // GA tickets bookings leave, by event
		for i, cmd := range cmds {
			refusal, err := f.certainRefusal(r, cmd, left, certain)
			if err != nil {
				return err
			}
			refusals[i] = refusal
		}
		return nil
	})
	if err != nil {
		return make([]*Error, len(cmds)) // unsure: let the state machine decide
	}
	return refusals
}

func (f *FSM) certainRefusal(r pebble.Reader, cmd *Command, left map[uint64]int64, certain bool) (*Error, error) {
	var eventID, customerID, category string
	var quantity int64
	var seats []string
	switch op := cmd.GetOp().(type) {
	// Orders of several items and orders with a voucher are left to the
	// state machine: their refusal may come from an item or the voucher.
	case *fsmv1.Command_Book:
		b := op.Book
		if b.GetBestAvailable() || len(b.GetItems()) > 0 || b.GetVoucherCode() != "" || ValidateBook(b) != nil {
			return nil, nil
		}
		eventID, quantity, seats, category = b.GetEventId(), b.GetQuantity(), b.GetSeats(), b.GetCategory()
		customerID = b.GetCustomerId()
	case *fsmv1.Command_Hold:
		h := op.Hold
		if h.GetBestAvailable() || len(h.GetItems()) > 0 || h.GetVoucherCode() != "" || ValidateHold(h) != nil {
			return nil, nil
		}
		eventID, quantity, seats, category = h.GetEventId(), h.GetQuantity(), h.GetSeats(), h.GetCategory()
		customerID = h.GetCustomerId()
	default:
		return nil, nil
	}
	o := opFor(cmd)
	event, ok := parseID(kindEvent, eventID)
	if !ok || o.key == "" {
		return nil, nil
	}
	refusal, err := f.soldFor(r, event, eventID, quantity, seats, left)
	if refusal == nil || err != nil || !certain {
		return refusal, err
	}
	if len(seats) > 0 {
		quantity = int64(len(seats))
	}
	if first, err := f.refusedFirst(r, event, customerID, category, len(seats) > 0, quantity); first || err != nil {
		return nil, err
	}
	if k := idemKey(o.scope, o.key); f.idem.mayContain(k) {
		if _, used, err := getValue(r, k); err != nil || used {
			return nil, err
		}
	}
	return refusal, nil
}

// refusedFirst reports whether the state machine would refuse a claim for
// another reason before it looks at the inventory: the event is not on
// sale, the claim's category is not the event's, or the claim is over one
// of its limits. The early refusal would not be the state machine's answer
// then, so the claim is left to it.
func (f *FSM) refusedFirst(r pebble.Reader, event uint64, customer, category string, seats bool, quantity int64) (bool, error) {
	ev := f.events.peek(event) // maybe newer than r: a refusal then leaves the claim to the state machine
	if ev == nil {
		ev = new(bookdv1.Event)
		if ok, err := getProto(r, key(prefixEvent, event), ev); err != nil || !ok {
			return true, err
		}
	}
	if onSale(ev) != nil || ev.GetMaxTicketsPerHold() > 0 && quantity > ev.GetMaxTicketsPerHold() {
		return true, nil
	}
	if !seats {
		if _, err := categoryOf(ev, category, "", ""); err != nil {
			return true, nil
		}
	}
	if ev.GetMaxTicketsPerCustomer() == 0 {
		return false, nil
	}
	v, found, err := getValue(r, ticketKey(event, customer))
	if err != nil || !found {
		return err != nil || quantity > ev.GetMaxTicketsPerCustomer(), err
	}
	have, err := decodeU64(v)
	return err != nil || int64(have)+quantity > ev.GetMaxTicketsPerCustomer(), err
}

// soldFor is the refusal of a claim on inventory that is sold for good.
// left caches, per GA event, the tickets its bookings leave.
func (f *FSM) soldFor(r pebble.Reader, event uint64, eventID string, quantity int64, seats []string, left map[uint64]int64) (*Error, error) {
	for _, s := range seats {
		state, found, err := f.peekSeat(r, event, s)
		if err != nil || !found {
			return nil, err
		}
		// The state machine refuses at the first seat that is not free;
		// only a booked one is sure to still be there, with this answer.
		switch state {
		case seatBooked:
			return seatTaken(eventID, s), nil
		case seatHeld, seatBlocked:
			return nil, nil
		}
	}
	if len(seats) > 0 {
		return nil, nil
	}
	n, cached := left[event]
	if !cached {
		ev, counters := new(bookdv1.Event), new(EventCounters)
		if ok, err := getProto(r, key(prefixEvent, event), ev); err != nil || !ok {
			return nil, err
		}
		if ok, err := getProto(r, key(prefixCount, event), counters); err != nil || !ok {
			return nil, err
		}
		n = ev.GetCapacity() - counters.GetBookedQuantity()
		if ev.GetCapacity() == 0 {
			n = math.MaxInt64 // no general admission: the state machine says so
		}
		left[event] = n
	}
	switch {
	case n <= 0:
		return errorf(CodeFailedPrecondition, ReasonSoldOut, "event %s is sold out", eventID).
			with(MetaEvent, eventID, MetaAvailable, "0", MetaAsked, itoa(quantity)), nil
	case quantity > n:
		return errorf(CodeFailedPrecondition, ReasonSoldOut, "event %s has at most %d tickets left, %d asked", eventID, n, quantity).
			with(MetaEvent, eventID, MetaAvailable, itoa(n), MetaAsked, itoa(quantity)), nil
	}
	return nil, nil
}

// peekSeat reads a seat from memory if its event is there, else from r.
// Memory may be ahead of r (see seatindex.go): either way the answer is a
// state the seat had after r's, which is what a refusal needs.
func (f *FSM) peekSeat(r pebble.Reader, event uint64, label string) (state byte, found bool, err error) {
	if state, found, indexed := f.seats.peek(event, label); indexed {
		return state, found, nil
	}
	return storedSeat(r, event, label)
}
