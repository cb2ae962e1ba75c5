package fsm

import (
	"fmt"

	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/cockroachdb/pebble/v2"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func (t *txn) hold(r *bookdv1.HoldRequest) (proto.Message, *Error) {
	if err := ValidateHold(r); err != nil {
		return nil, err
	}
	cl, err := t.checkClaim(r.GetEventId(), r.GetQuantity(), r.GetSeats())
	if err != nil {
		return nil, err
	}
	ttl := DefaultHoldTTL
	if r.Ttl != nil {
		ttl = r.Ttl.AsDuration()
	}
	expires := t.now + ttl.Nanoseconds()
	h := &bookdv1.Hold{
		Id:         formatID(kindHold, t.index),
		EventId:    r.GetEventId(),
		CustomerId: r.GetCustomerId(),
		Quantity:   cl.quantity,
		Seats:      cl.seats,
		ExpiresAt:  nanosToTimestamp(expires),
		CreatedAt:  t.timestamp(),
		Status:     bookdv1.HoldStatus_HOLD_STATUS_ACTIVE,
	}
	t.shift(cl.event, cl.quantity, cl.seats, seatFree, seatHeld, t.index)
	t.setProto(key(prefixHold, t.index), h)
	t.set(expiryKey(expires, t.index), nil)
	t.f.nextExpiry = min(t.f.nextExpiry, expires)
	t.feed(holdChange("hold_created", h))
	return &bookdv1.HoldResponse{Hold: h}, nil
}

func (t *txn) confirm(r *bookdv1.ConfirmRequest) (proto.Message, *Error) {
	if err := ValidateConfirm(r); err != nil {
		return nil, err
	}
	idx, h, err := t.activeHold(r.GetHoldId())
	if err != nil {
		return nil, err
	}
	event, _ := parseID(kindEvent, h.GetEventId())
	b := &bookdv1.Booking{
		Id:         formatID(kindBooking, t.index),
		EventId:    h.GetEventId(),
		CustomerId: h.GetCustomerId(),
		Quantity:   h.GetQuantity(),
		Seats:      h.GetSeats(),
		PaymentRef: r.GetPaymentRef(),
		HoldId:     h.GetId(),
		CreatedAt:  t.timestamp(),
		Status:     bookdv1.BookingStatus_BOOKING_STATUS_CONFIRMED,
	}
	t.shift(event, h.GetQuantity(), h.GetSeats(), seatHeld, seatBooked, t.index)
	h.BookingId = b.Id
	t.endHold(idx, h, bookdv1.HoldStatus_HOLD_STATUS_CONFIRMED)
	t.putBooking(event, t.index, b)
	t.feed(bookingChange("booking_confirmed", b))
	return &bookdv1.ConfirmResponse{Booking: b}, nil
}

func (t *txn) releaseHold(r *bookdv1.ReleaseHoldRequest) (proto.Message, *Error) {
	if err := ValidateReleaseHold(r); err != nil {
		return nil, err
	}
	idx, h, err := t.activeHold(r.GetHoldId())
	if err != nil {
		return nil, err
	}
	event, _ := parseID(kindEvent, h.GetEventId())
	t.shift(event, h.GetQuantity(), h.GetSeats(), seatHeld, seatFree, 0)
	t.endHold(idx, h, bookdv1.HoldStatus_HOLD_STATUS_RELEASED)
	t.feed(holdChange("hold_released", h))
	return &bookdv1.ReleaseHoldResponse{Hold: h}, nil
}

// activeHold loads a hold that can still be confirmed or released.
func (t *txn) activeHold(id string) (uint64, *bookdv1.Hold, *Error) {
	idx, _ := parseID(kindHold, id)
	h := new(bookdv1.Hold)
	if !t.getProto(key(prefixHold, idx), h) {
		return 0, nil, notFound("hold %s not found", id)
	}
	switch h.GetStatus() {
	case bookdv1.HoldStatus_HOLD_STATUS_ACTIVE:
		return idx, h, nil
	case bookdv1.HoldStatus_HOLD_STATUS_EXPIRED:
		return 0, nil, errorf(CodeFailedPrecondition, ReasonHoldExpired, "hold %s expired at %s", id, h.GetExpiresAt().AsTime().Format("2006-01-02T15:04:05.000Z07:00"))
	case bookdv1.HoldStatus_HOLD_STATUS_RELEASED:
		return 0, nil, errorf(CodeFailedPrecondition, ReasonHoldReleased, "hold %s was released", id)
	case bookdv1.HoldStatus_HOLD_STATUS_CONFIRMED:
		return 0, nil, errorf(CodeFailedPrecondition, ReasonHoldConfirmed, "hold %s is already confirmed as booking %s", id, h.GetBookingId())
	}
	panic(fmt.Sprintf("fsm: hold %s has status %v", id, h.GetStatus()))
}

// endHold records that an active hold is over, and drops it from the expiry index.
func (t *txn) endHold(idx uint64, h *bookdv1.Hold, status bookdv1.HoldStatus) {
	h.Status = status
	t.setProto(key(prefixHold, idx), h)
	t.delete(expiryKey(timestampNanos(h.GetExpiresAt()), idx))
}

// expireDue expires every active hold whose expiry is at or before now, in
// expiry order, and moves nextExpiry to the earliest hold left.
func (t *txn) expireDue() {
	if t.now < t.f.nextExpiry {
		return
	}
	it, err := t.b.NewIter(&pebble.IterOptions{LowerBound: prefixExpiry, UpperBound: prefixEnd(prefixExpiry)})
	must(err)
	bound := expiryKey(t.now+1, 0)
	var due []uint64
	next := int64(noExpiry)
	for ok := it.First(); ok; ok = it.Next() {
		if string(it.Key()) >= string(bound) {
			next = decodeExpiryKey(it.Key())
			break
		}
		due = append(due, decodeExpiryHold(it.Key()))
	}
	must(it.Close())
	for _, idx := range due {
		h := new(bookdv1.Hold)
		if !t.getProto(key(prefixHold, idx), h) || h.GetStatus() != bookdv1.HoldStatus_HOLD_STATUS_ACTIVE {
			panic(fmt.Sprintf("fsm: expiry index names hold %d, which is not active", idx))
		}
		event, _ := parseID(kindEvent, h.GetEventId())
		t.shift(event, h.GetQuantity(), h.GetSeats(), seatHeld, seatFree, 0)
		t.endHold(idx, h, bookdv1.HoldStatus_HOLD_STATUS_EXPIRED)
		t.feed(holdChange("hold_expired", h))
	}
	t.f.nextExpiry = next
}

func timestampNanos(ts *timestamppb.Timestamp) int64 {
	return ts.GetSeconds()*1e9 + int64(ts.GetNanos())
}

func holdChange(kind string, h *bookdv1.Hold) *Change {
	return &Change{Kind: kind, EventId: h.GetEventId(), HoldId: h.GetId(), CustomerId: h.GetCustomerId(),
		Quantity: h.GetQuantity(), Seats: h.GetSeats()}
}

func bookingChange(kind string, b *bookdv1.Booking) *Change {
	return &Change{Kind: kind, EventId: b.GetEventId(), HoldId: b.GetHoldId(), BookingId: b.GetId(),
		CustomerId: b.GetCustomerId(), Quantity: b.GetQuantity(), Seats: b.GetSeats()}
}
