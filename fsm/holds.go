package fsm

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/cockroachdb/pebble/v2"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func (t *txn) hold(r *bookdv1.HoldRequest) (proto.Message, *Error) {
	if err := ValidateHold(r); err != nil {
		return nil, err
	}
	o := orderOf(r)
	spend, err := t.checkAdmission(r, o)
	if err != nil {
		return nil, err
	}
	claims, voucher, err := t.takeOrder(o, seatHeld)
	if err != nil {
		return nil, err
	}
	ttl := DefaultHoldTTL
	if r.Ttl != nil {
		ttl = r.Ttl.AsDuration()
	}
	h := t.placeHold(t.index, o, claims, voucher, ttl, "", clientSecret(t.secret), r.GetPaymentRef(), r.GetContactEmail())
	spend()
	return &bookdv1.HoldResponse{Hold: h}, nil
}

// placeHold records a hold numbered n on an order's taken claims, which
// carries secret as its client_secret, and the payment reference and
// e-mail address its booking will have.
func (t *txn) placeHold(n uint64, o orderRequest, claims []*claim, v *bookdv1.Voucher, ttl time.Duration, entryID, secret, paymentRef, email string) *bookdv1.Hold {
	expires := t.now + ttl.Nanoseconds()
	h := &bookdv1.Hold{
		Id:              formatID(kindHold, n),
		EventId:         claims[0].ev.GetId(),
		CustomerId:      o.customerID,
		Quantity:        claims[0].quantity,
		Seats:           claims[0].seats,
		ExpiresAt:       nanosToTimestamp(expires),
		CreatedAt:       t.timestamp(),
		Status:          bookdv1.HoldStatus_HOLD_STATUS_ACTIVE,
		WaitlistEntryId: entryID,
		MaxExpiresAt:    nanosToTimestamp(t.now + MaxHoldLifetime.Nanoseconds()),
		ClientSecret:    secret,
		PaymentRef:      paymentRef,
		ContactEmail:    email,
	}
	if needsItems(o, claims, v) {
		h.Items, h.Discount, h.Total = orderItems(claims, v)
		h.Currency = orderCurrency(claims)
		h.VoucherCode = v.GetCode()
	}
	t.setProto(key(prefixHold, n), h)
	t.set(expiryKey(expires, n), nil)
	t.f.nextExpiry = min(t.f.nextExpiry, expires)
	kind := "hold_created"
	if entryID != "" {
		kind = "waitlist_offer"
	}
	c := holdChange(kind, h)
	c.WaitlistEntryId = entryID
	t.feed(c)
	return h
}

// orderCurrency is the currency of an order's priced claims ("" if none).
func orderCurrency(claims []*claim) string {
	for _, cl := range claims {
		if cl.category != noCategory {
			return eventCurrency(cl.ev)
		}
	}
	return ""
}

func (t *txn) confirm(r *bookdv1.ConfirmRequest) (proto.Message, *Error) {
	if err := ValidateConfirm(r); err != nil {
		return nil, err
	}
	idx, h, err := t.activeHold(r.GetHoldId(), r.GetClientSecret())
	if err != nil {
		return nil, err
	}
	b := &bookdv1.Booking{
		ClientSecret: h.GetClientSecret(),
		Id:           formatID(kindBooking, t.index),
		EventId:      h.GetEventId(),
		CustomerId:   h.GetCustomerId(),
		Quantity:     h.GetQuantity(),
		Seats:        h.GetSeats(),
		PaymentRef:   cmp.Or(r.GetPaymentRef(), h.GetPaymentRef()),
		ContactEmail: cmp.Or(r.GetContactEmail(), h.GetContactEmail()),
		HoldId:       h.GetId(),
		CreatedAt:    t.timestamp(),
		Status:       bookdv1.BookingStatus_BOOKING_STATUS_CONFIRMED,
		Items:        h.GetItems(),
		VoucherCode:  h.GetVoucherCode(),
		Total:        h.GetTotal(),
		Discount:     h.GetDiscount(),
		Currency:     h.GetCurrency(),
	}
	claims := t.claimsOf(h.GetEventId(), h.GetQuantity(), h.GetSeats(), h.GetItems())
	for _, cl := range claims {
		t.moveClaim(cl, h.GetCustomerId(), seatHeld, seatBooked)
	}
	h.BookingId = b.Id
	t.endHold(idx, h, bookdv1.HoldStatus_HOLD_STATUS_CONFIRMED)
	t.putBooking(claims, t.index, b)
	t.feed(bookingChange("booking_confirmed", b))
	return &bookdv1.ConfirmResponse{Booking: b}, nil
}

func (t *txn) releaseHold(r *bookdv1.ReleaseHoldRequest) (proto.Message, *Error) {
	if err := ValidateReleaseHold(r); err != nil {
		return nil, err
	}
	idx, h, err := t.activeHold(r.GetHoldId(), r.GetClientSecret())
	if err != nil {
		return nil, err
	}
	for _, event := range t.freeHold(idx, h, bookdv1.HoldStatus_HOLD_STATUS_RELEASED, "hold_released") {
		t.serveWaitlist(event)
	}
	return &bookdv1.ReleaseHoldResponse{Hold: h}, nil
}

func (t *txn) extendHold(r *bookdv1.ExtendHoldRequest) (proto.Message, *Error) {
	if err := ValidateExtendHold(r); err != nil {
		return nil, err
	}
	idx, h, err := t.activeHold(r.GetHoldId(), r.GetClientSecret())
	if err != nil {
		return nil, err
	}
	expires, limit := t.now+r.GetTtl().AsDuration().Nanoseconds(), timestampNanos(h.GetMaxExpiresAt())
	if h.GetMaxExpiresAt() == nil { // held before holds had a cap
		limit = timestampNanos(h.GetCreatedAt()) + MaxHoldLifetime.Nanoseconds()
	}
	if expires > limit {
		return nil, errorf(CodeFailedPrecondition, ReasonHoldCap,
			"hold %s cannot be extended past %s (%s after it was placed); ask for a ttl of at most %s",
			h.GetId(), formatTime(limit), MaxHoldLifetime, time.Duration(limit-t.now).Truncate(time.Second)).
			with(MetaHold, h.GetId(), MetaExpiresAt, formatTime(limit))
	}
	t.delete(expiryKey(timestampNanos(h.GetExpiresAt()), idx))
	h.ExpiresAt = nanosToTimestamp(expires)
	t.setProto(key(prefixHold, idx), h)
	t.set(expiryKey(expires, idx), nil)
	t.f.nextExpiry = min(t.f.nextExpiry, expires)
	t.feed(holdChange("hold_extended", h))
	return &bookdv1.ExtendHoldResponse{Hold: h}, nil
}

// freeHold ends an active hold whose inventory goes back on sale, gives
// back its voucher's redemption, and reports the change; it returns the
// hold's events.
func (t *txn) freeHold(idx uint64, h *bookdv1.Hold, status bookdv1.HoldStatus, kind string) []uint64 {
	claims := t.claimsOf(h.GetEventId(), h.GetQuantity(), h.GetSeats(), h.GetItems())
	for _, cl := range claims {
		t.moveClaim(cl, h.GetCustomerId(), seatHeld, seatFree)
	}
	if h.GetVoucherCode() != "" {
		t.moveRedemptions(h.GetVoucherCode(), -1)
	}
	t.endHold(idx, h, status)
	t.feed(holdChange(kind, h))
	return eventsOf(claims)
}

// releaseEventHolds releases the active holds with an item on an event
// (found through the expiry index), whole orders, and returns how many
// there were. The other events of the orders released are served from
// their waitlists.
func (t *txn) releaseEventHolds(event uint64, eventID string) int64 {
	var released int64
	for _, idx := range t.activeHolds() {
		h := t.mustHold(idx)
		if !holdTouches(h, eventID) {
			continue
		}
		for _, other := range t.freeHold(idx, h, bookdv1.HoldStatus_HOLD_STATUS_RELEASED, "hold_released") {
			if other != event {
				t.serveWaitlist(other)
			}
		}
		released++
	}
	return released
}

// holdTouches reports whether a hold has an item on an event.
func holdTouches(h *bookdv1.Hold, eventID string) bool {
	return h.GetEventId() == eventID || itemsTouch(h.GetItems(), eventID)
}

// bookingTouches reports whether a booking has an item on an event.
func bookingTouches(b *bookdv1.Booking, eventID string) bool {
	return b.GetEventId() == eventID || itemsTouch(b.GetItems(), eventID)
}

func itemsTouch(items []*bookdv1.OrderItem, eventID string) bool {
	return slices.ContainsFunc(items, func(it *bookdv1.OrderItem) bool { return it.GetEventId() == eventID })
}

// activeHolds lists the active holds in expiry order.
func (t *txn) activeHolds() []uint64 {
	it, err := t.b.NewIter(&pebble.IterOptions{LowerBound: prefixExpiry, UpperBound: prefixEnd(prefixExpiry)})
	must(err)
	var holds []uint64
	for ok := it.First(); ok; ok = it.Next() {
		holds = append(holds, decodeExpiryHold(it.Key()))
	}
	must(it.Close())
	return holds
}

// mustHold loads a hold the expiry index names: it must be active.
func (t *txn) mustHold(idx uint64) *bookdv1.Hold {
	h := new(bookdv1.Hold)
	if !t.getProto(key(prefixHold, idx), h) || h.GetStatus() != bookdv1.HoldStatus_HOLD_STATUS_ACTIVE {
		panic(fmt.Sprintf("fsm: expiry index names hold %d, which is not active", idx))
	}
	return h
}

func formatTime(ns int64) string {
	return time.Unix(0, ns).UTC().Format("2006-01-02T15:04:05.000Z07:00")
}

// activeHold loads a hold that can still be confirmed or released, for a
// caller who presented secret (or none: see CheckSecret).
func (t *txn) activeHold(id, secret string) (uint64, *bookdv1.Hold, *Error) {
	idx, _ := parseID(kindHold, id)
	h := new(bookdv1.Hold)
	if !t.getProto(key(prefixHold, idx), h) {
		return 0, nil, notFound("hold %s not found", id).with(MetaHold, id)
	}
	if err := CheckSecret("hold "+id, h.GetClientSecret(), secret); err != nil {
		return 0, nil, err
	}
	switch h.GetStatus() {
	case bookdv1.HoldStatus_HOLD_STATUS_ACTIVE:
		return idx, h, nil
	case bookdv1.HoldStatus_HOLD_STATUS_EXPIRED:
		expired := formatTime(timestampNanos(h.GetExpiresAt()))
		return 0, nil, errorf(CodeFailedPrecondition, ReasonHoldExpired, "hold %s expired at %s", id, expired).with(MetaHold, id, MetaExpiresAt, expired)
	case bookdv1.HoldStatus_HOLD_STATUS_RELEASED:
		return 0, nil, errorf(CodeFailedPrecondition, ReasonHoldReleased, "hold %s was released", id).with(MetaHold, id)
	case bookdv1.HoldStatus_HOLD_STATUS_CONFIRMED:
		return 0, nil, errorf(CodeFailedPrecondition, ReasonHoldConfirmed, "hold %s is already confirmed as booking %s", id, h.GetBookingId()).
			with(MetaHold, id, MetaBooking, h.GetBookingId())
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
	// Set before expiring: offers made to the waitlist below may lower it.
	t.f.nextExpiry = next
	var freed []uint64
	for _, idx := range due {
		for _, event := range t.freeHold(idx, t.mustHold(idx), bookdv1.HoldStatus_HOLD_STATUS_EXPIRED, "hold_expired") {
			if !slices.Contains(freed, event) {
				freed = append(freed, event)
			}
		}
	}
	for _, event := range freed {
		t.serveWaitlist(event)
	}
}

func timestampNanos(ts *timestamppb.Timestamp) int64 {
	return ts.GetSeconds()*1e9 + int64(ts.GetNanos())
}

func holdChange(kind string, h *bookdv1.Hold) *Change {
	return &Change{Kind: kind, EventId: h.GetEventId(), HoldId: h.GetId(), CustomerId: h.GetCustomerId(),
		Quantity: h.GetQuantity(), Seats: h.GetSeats(), PaymentRef: h.GetPaymentRef(),
		Items: h.GetItems(), Total: h.GetTotal(), Currency: h.GetCurrency()}
}

func bookingChange(kind string, b *bookdv1.Booking) *Change {
	return &Change{Kind: kind, EventId: b.GetEventId(), HoldId: b.GetHoldId(), BookingId: b.GetId(),
		CustomerId: b.GetCustomerId(), Quantity: b.GetQuantity(), Seats: b.GetSeats(), PaymentRef: b.GetPaymentRef(),
		Items: b.GetItems(), Total: b.GetTotal(), Currency: b.GetCurrency()}
}
