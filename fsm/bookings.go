package fsm

import (
	"slices"

	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"google.golang.org/protobuf/proto"
)

// book claims and sells in one step; no hold record is kept.
func (t *txn) book(r *bookdv1.BookRequest) (proto.Message, *Error) {
	if err := ValidateBook(r); err != nil {
		return nil, err
	}
	o := orderOf(r)
	claims, voucher, err := t.takeOrder(o, seatBooked)
	if err != nil {
		return nil, err
	}
	b := &bookdv1.Booking{
		Id:           formatID(kindBooking, t.index),
		EventId:      claims[0].ev.GetId(),
		CustomerId:   r.GetCustomerId(),
		Quantity:     claims[0].quantity,
		Seats:        claims[0].seats,
		PaymentRef:   r.GetPaymentRef(),
		ContactEmail: r.GetContactEmail(),
		CreatedAt:    t.timestamp(),
		Status:       bookdv1.BookingStatus_BOOKING_STATUS_CONFIRMED,
		ClientSecret: clientSecret(t.secret),
	}
	if needsItems(o, claims, voucher) {
		b.Items, b.Discount, b.Total = orderItems(claims, voucher)
		b.Currency = orderCurrency(claims)
		b.VoucherCode = voucher.GetCode()
	}
	t.putBooking(claims, t.index, b)
	t.feed(bookingChange("booking_confirmed", b))
	return &bookdv1.BookResponse{Booking: b}, nil
}

// cancelBooking cancels a booking, or some of its items: their inventory
// goes back on sale (GA tickets to the tiers they were sold from), and
// what they cost less their share of the discount is to be refunded. The
// booking is cancelled once every item is; a voucher's redemption is not
// given back.
func (t *txn) cancelBooking(r *bookdv1.CancelBookingRequest) (proto.Message, *Error) {
	if err := ValidateCancelBooking(r); err != nil {
		return nil, err
	}
	idx, _ := parseID(kindBooking, r.GetBookingId())
	b := new(bookdv1.Booking)
	if !t.getProto(key(prefixBook, idx), b) {
		return nil, notFound("booking %s not found", r.GetBookingId()).with(MetaBooking, r.GetBookingId())
	}
	if b.GetStatus() == bookdv1.BookingStatus_BOOKING_STATUS_CANCELLED {
		return nil, errorf(CodeFailedPrecondition, ReasonBookingCancelled, "booking %s is already cancelled", b.GetId()).with(MetaBooking, b.GetId())
	}
	items := len(b.GetItems())
	picked, err := pickItems(b, r.GetItems())
	if err != nil {
		return nil, err
	}
	claims := t.claimsOf(b.GetEventId(), b.GetQuantity(), b.GetSeats(), b.GetItems())
	var refund int64
	var cancelled []*bookdv1.OrderItem
	var events []uint64
	for _, i := range picked {
		t.moveClaim(claims[i], b.GetCustomerId(), seatBooked, seatFree)
		if !slices.Contains(events, claims[i].event) {
			events = append(events, claims[i].event)
		}
		if items > 0 {
			it := b.GetItems()[i]
			it.CancelledAt = t.timestamp()
			refund += it.GetAmount() - it.GetDiscount()
			cancelled = append(cancelled, it)
		}
	}
	b.Refunded += refund
	kind := "booking_items_cancelled"
	if items == 0 || !slices.ContainsFunc(b.GetItems(), func(it *bookdv1.OrderItem) bool { return it.CancelledAt == nil }) {
		kind = "booking_cancelled"
		b.Status = bookdv1.BookingStatus_BOOKING_STATUS_CANCELLED
		b.CancelledAt = t.timestamp()
	}
	t.setProto(key(prefixBook, idx), b)
	c := bookingChange(kind, b)
	if kind == "booking_items_cancelled" {
		c.Items = cancelled
	}
	c.Refund = refund
	t.feed(c)
	for _, event := range events {
		if t.cachedEvent(event).GetStatus() != bookdv1.EventStatus_EVENT_STATUS_CANCELLED {
			t.serveWaitlist(event)
		}
	}
	return &bookdv1.CancelBookingResponse{Booking: b, Refund: refund}, nil
}

// pickItems returns the indexes of the items a cancellation names (none:
// every item not cancelled yet). A booking without items has one, item 0.
func pickItems(b *bookdv1.Booking, asked []int32) ([]int, *Error) {
	n := max(len(b.GetItems()), 1)
	live := func(i int) bool { return len(b.GetItems()) == 0 || b.GetItems()[i].CancelledAt == nil }
	var picked []int
	if len(asked) == 0 {
		for i := range n {
			if live(i) {
				picked = append(picked, i)
			}
		}
		return picked, nil
	}
	for k, i := range asked {
		switch {
		case int(i) >= n:
			return nil, invalid("items[%d]: booking %s has %d items, numbered from 0", k, b.GetId(), n).with(MetaBooking, b.GetId())
		case !live(int(i)):
			return nil, errorf(CodeFailedPrecondition, ReasonItemCancelled, "items[%d]: item %d of booking %s is already cancelled", k, i, b.GetId()).
				with(MetaBooking, b.GetId(), MetaItem, itoa(int64(i)))
		}
		picked = append(picked, int(i))
	}
	return picked, nil
}
