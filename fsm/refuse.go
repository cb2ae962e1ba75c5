package fsm

import (
	fsmv1 "github.com/bookd/bookd/proto/bookd/fsm/v1"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/cockroachdb/pebble/v2"
)

// CertainRefusal reports whether the stored state already refuses cmd, a
// claim (Book or Hold) that has never been proposed, so that a leader can
// answer it without replicating anything. It does so only when no later
// command but a cancellation could change the answer: a named seat that is
// booked, or a GA event whose bookings alone leave too few tickets (holds,
// which may expire, are not counted), and only while cmd's idempotency key
// is unused (a used key must replay its recorded answer).
//
// The answer is as of the state read. It is linearizable when that state
// includes every write acknowledged before the claim arrived (the caller
// waits for a read barrier first). Such a refusal is not recorded under the
// key: the key may still be used for a claim that succeeds later.
func (f *FSM) CertainRefusal(cmd *Command) *Error {
	var eventID string
	var quantity int64
	var seats []string
	switch r := cmd.GetOp().(type) {
	case *fsmv1.Command_Book:
		eventID, quantity, seats = r.Book.GetEventId(), r.Book.GetQuantity(), r.Book.GetSeats()
	case *fsmv1.Command_Hold:
		eventID, quantity, seats = r.Hold.GetEventId(), r.Hold.GetQuantity(), r.Hold.GetSeats()
	default:
		return nil
	}
	o := opFor(cmd)
	event, ok := parseID(kindEvent, eventID)
	if !ok || o.key == "" {
		return nil
	}
	var refusal *Error
	err := f.view(func(r pebble.Reader) error {
		if _, used, err := getValue(r, idemKey(o.scope, o.key)); err != nil || used {
			return err
		}
		if len(seats) > 0 {
			for _, s := range seats {
				v, found, err := getValue(r, seatKey(event, s))
				if err != nil || !found {
					return err
				}
				sv, err := decodeSeat(v)
				if err != nil {
					return err
				}
				if sv.state == seatBooked {
					refusal = errorf(CodeFailedPrecondition, ReasonSeatTaken, "seat %s of event %s is taken", s, eventID)
					return nil
				}
			}
			return nil
		}
		ev, counters := new(bookdv1.Event), new(EventCounters)
		if ok, err := getProto(r, key(prefixEvent, event), ev); err != nil || !ok {
			return err
		}
		if ok, err := getProto(r, key(prefixCount, event), counters); err != nil || !ok {
			return err
		}
		switch left := ev.GetCapacity() - counters.GetBookedQuantity(); {
		case left <= 0:
			refusal = errorf(CodeFailedPrecondition, ReasonSoldOut, "event %s is sold out", eventID)
		case quantity > left:
			refusal = errorf(CodeFailedPrecondition, ReasonSoldOut,
				"event %s has at most %d tickets left, %d asked", eventID, left, quantity)
		}
		return nil
	})
	if err != nil {
		return nil // unsure: let the state machine decide
	}
	return refusal
}
