package main

import (
	"fmt"
	"time"

	"github.com/bookd/bookd/cmd/bookd-chaos/history"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
)

// The writes a customer makes, as history inputs and the requests that ask
// for them (each with a new idempotency key), and how their answers read.
// Both the single-call and the batched paths build them here.

// counter picks what to claim: a seat, or 1–2 places.
func (c *chaosClient) counter(ev eventInfo, kind history.Kind) (history.Input, []string) {
	in := history.Input{Kind: kind, Counter: ev.id, Capacity: ev.cap, Qty: 1}
	if len(ev.seats) > 0 {
		seat := ev.seats[c.rnd.IntN(len(ev.seats))]
		in.Counter = ev.id + "/" + seat
		return in, []string{seat}
	}
	in.Qty = 1 + int64(c.rnd.IntN(2))
	return in, nil
}

func (c *chaosClient) key() string {
	c.n++
	return fmt.Sprintf("chaos-c%d-%d", c.id, c.n)
}

func (c *chaosClient) customer() string { return customerOf(c.id) }

// customerOf is the customer id of the client numbered id.
func customerOf(id int) string { return fmt.Sprintf("c%d", id) }

// holdReq holds a counter of ev for 1–2 s.
func (c *chaosClient) holdReq(ev eventInfo) (history.Input, *bookdv1.HoldRequest) {
	in, seats := c.counter(ev, history.Hold)
	life := time.Second + time.Duration(c.rnd.IntN(1000))*time.Millisecond
	in.TTL, in.Key = life.Nanoseconds(), c.key()
	req := &bookdv1.HoldRequest{EventId: ev.id, CustomerId: c.customer(), Ttl: ttl(life), Seats: seats, IdempotencyKey: in.Key}
	if seats == nil {
		req.Quantity = in.Qty
	}
	return in, req
}

// bookReq books a counter of ev outright.
func (c *chaosClient) bookReq(ev eventInfo) (history.Input, *bookdv1.BookRequest) {
	in, seats := c.counter(ev, history.Book)
	in.Key = c.key()
	req := &bookdv1.BookRequest{EventId: ev.id, CustomerId: c.customer(), Seats: seats, IdempotencyKey: in.Key, PaymentRef: "direct"}
	if seats == nil {
		req.Quantity = in.Qty
	}
	return in, req
}

// decideLater picks what the customer does with a hold it got, and after
// how long: pay (Confirm) quickly or slowly, sometimes too late, release
// it, or walk away (kind 0).
func (c *chaosClient) decideLater(hold history.Input) (history.Kind, time.Duration) {
	think := time.Duration(c.rnd.IntN(300)) * time.Millisecond
	if c.rnd.IntN(5) < 2 {
		think = time.Duration(c.rnd.Int64N(hold.TTL * 5 / 4))
	}
	switch r := c.rnd.Float64(); {
	case r < 0.55:
		return history.Confirm, think
	case r < 0.75:
		return history.Release, think
	}
	return 0, think
}

// onHold is the input of a Confirm or Release of hold id, placed by hold.
func (c *chaosClient) onHold(kind history.Kind, hold history.Input, id string) history.Input {
	return history.Input{Kind: kind, Counter: hold.Counter, Capacity: hold.Capacity, Ref: id, Key: c.key()}
}

func confirmReq(in history.Input) *bookdv1.ConfirmRequest {
	return &bookdv1.ConfirmRequest{HoldId: in.Ref, PaymentRef: "pay-" + in.Ref, IdempotencyKey: in.Key}
}

func releaseReq(in history.Input) *bookdv1.ReleaseHoldRequest {
	return &bookdv1.ReleaseHoldRequest{HoldId: in.Ref, IdempotencyKey: in.Key}
}

// cancelReq cancels one of the customer's bookings.
func (c *chaosClient) cancelReq(bk ownBooking) (history.Input, *bookdv1.CancelBookingRequest) {
	in := history.Input{Kind: history.Cancel, Counter: bk.counter.Counter, Capacity: bk.counter.Capacity, Ref: bk.id, Key: c.key()}
	return in, &bookdv1.CancelBookingRequest{BookingId: bk.id, IdempotencyKey: in.Key}
}

// takeBooking removes and returns the customer's i-th booking.
func (c *chaosClient) takeBooking(i int) ownBooking {
	bk := c.bookings[i]
	c.bookings = append(c.bookings[:i], c.bookings[i+1:]...)
	return bk
}

func holdOutput(r *bookdv1.HoldResponse) history.Output {
	h := r.GetHold()
	return history.Output{ID: h.GetId(), Expires: h.GetExpiresAt().AsTime().UnixNano()}
}

func bookingOutput(b *bookdv1.Booking) history.Output { return history.Output{ID: b.GetId()} }
