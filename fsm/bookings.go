package fsm

import (
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"google.golang.org/protobuf/proto"
)

// book claims and sells in one step; no hold record is kept.
func (t *txn) book(r *bookdv1.BookRequest) (proto.Message, *Error) {
	if err := ValidateBook(r); err != nil {
		return nil, err
	}
	cl, err := t.checkClaim(bookClaim(r))
	if err != nil {
		return nil, err
	}
	b := &bookdv1.Booking{
		Id:           formatID(kindBooking, t.index),
		EventId:      r.GetEventId(),
		CustomerId:   r.GetCustomerId(),
		Quantity:     cl.quantity,
		Seats:        cl.seats,
		PaymentRef:   r.GetPaymentRef(),
		ContactEmail: r.GetContactEmail(),
		CreatedAt:    t.timestamp(),
		Status:       bookdv1.BookingStatus_BOOKING_STATUS_CONFIRMED,
		ClientSecret: clientSecret(t.secret),
	}
	t.shift(cl.event, cl.quantity, cl.seats, seatFree, seatBooked)
	t.addTickets(cl.event, r.GetCustomerId(), cl.quantity)
	t.putBooking(cl.event, t.index, b)
	t.feed(bookingChange("booking_confirmed", b))
	return &bookdv1.BookResponse{Booking: b}, nil
}

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
	event, _ := parseID(kindEvent, b.GetEventId())
	t.shift(event, b.GetQuantity(), b.GetSeats(), seatBooked, seatFree)
	t.addTickets(event, b.GetCustomerId(), -b.GetQuantity())
	b.Status = bookdv1.BookingStatus_BOOKING_STATUS_CANCELLED
	b.CancelledAt = t.timestamp()
	t.setProto(key(prefixBook, idx), b)
	t.feed(bookingChange("booking_cancelled", b))
	if t.cachedEvent(event).GetStatus() != bookdv1.EventStatus_EVENT_STATUS_CANCELLED {
		t.serveWaitlist(event)
	}
	return &bookdv1.CancelBookingResponse{Booking: b}, nil
}
