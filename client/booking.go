package client

import (
	"context"

	"connectrpc.com/connect"

	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
)

// CreateEvent creates an event with general-admission capacity, named seats,
// or both, and returns it. An empty IdempotencyKey is filled in (on a copy)
// so that the Client's retries create one event.
func (c *Client) CreateEvent(ctx context.Context, req *bookdv1.CreateEventRequest) (*bookdv1.Event, error) {
	req, key, fresh := withKey(req)
	res, err := call(ctx, c, op{name: "CreateEvent", key: key, freshKey: fresh}, req, (*conn).CreateEvent)
	return res.GetEvent(), err
}

// GetEvent returns the event with the given id, or a NOT_FOUND error.
func (c *Client) GetEvent(ctx context.Context, id string, opts ...ReadOption) (*bookdv1.Event, error) {
	req := &bookdv1.GetEventRequest{EventId: id, Read: readOptions(opts)}
	res, err := call(ctx, c, op{name: "GetEvent", stale: isStale(req.Read)}, req, (*conn).GetEvent)
	return res.GetEvent(), err
}

// ListEvents returns one page of events in creation order; pass the
// response's NextPageToken as PageToken to get the next. The consistency of
// the read is req.Read's.
func (c *Client) ListEvents(ctx context.Context, req *bookdv1.ListEventsRequest) (*bookdv1.ListEventsResponse, error) {
	req = orEmpty(req)
	return call(ctx, c, op{name: "ListEvents", stale: isStale(req.GetRead())}, req, (*conn).ListEvents)
}

// Availability reports what of an event can still be held: free GA tickets
// and free seats, with what is held and booked.
func (c *Client) Availability(ctx context.Context, eventID string, opts ...ReadOption) (*bookdv1.GetAvailabilityResponse, error) {
	req := &bookdv1.GetAvailabilityRequest{EventId: eventID, Read: readOptions(opts)}
	return call(ctx, c, op{name: "Availability", stale: isStale(req.Read)}, req, (*conn).GetAvailability)
}

// Hold claims GA tickets or named seats, all or nothing, until the hold
// expires, and returns the hold. Refusals carry a Reason such as
// ReasonSeatTaken or ReasonSoldOut. An empty IdempotencyKey is filled in (on
// a copy) so that the Client's retries claim inventory once.
func (c *Client) Hold(ctx context.Context, req *bookdv1.HoldRequest) (*bookdv1.Hold, error) {
	req, key, fresh := withKey(req)
	res, err := call(ctx, c, op{name: "Hold", key: key, freshKey: fresh}, req, writer(c, firstMarked((*conn).Hold), (*conn).batchedHold))
	return res.GetHold(), err
}

// GetHold returns the hold with the given id, or a NOT_FOUND error.
func (c *Client) GetHold(ctx context.Context, id string, opts ...ReadOption) (*bookdv1.Hold, error) {
	req := &bookdv1.GetHoldRequest{HoldId: id, Read: readOptions(opts)}
	res, err := call(ctx, c, op{name: "GetHold", stale: isStale(req.Read)}, req, (*conn).GetHold)
	return res.GetHold(), err
}

// Confirm turns an unexpired hold into a booking and returns the booking.
// Refusals carry a Reason such as ReasonHoldExpired. An empty IdempotencyKey
// is filled in (on a copy) so that the Client's retries book once.
func (c *Client) Confirm(ctx context.Context, req *bookdv1.ConfirmRequest) (*bookdv1.Booking, error) {
	req, key, fresh := withKey(req)
	res, err := call(ctx, c, op{name: "Confirm", key: key, freshKey: fresh}, req, writer(c, (*conn).Confirm, (*conn).batchedConfirm))
	return res.GetBooking(), err
}

// ReleaseHold gives a hold's inventory back before it expires and returns
// the released hold. An empty IdempotencyKey is filled in (on a copy).
func (c *Client) ReleaseHold(ctx context.Context, req *bookdv1.ReleaseHoldRequest) (*bookdv1.Hold, error) {
	req, key, fresh := withKey(req)
	res, err := call(ctx, c, op{name: "ReleaseHold", key: key, freshKey: fresh}, req, writer(c, (*conn).ReleaseHold, (*conn).batchedReleaseHold))
	return res.GetHold(), err
}

// ExtendHold moves an active hold's expiry to Ttl after now and returns the
// hold. A hold never lives past its MaxExpiresAt: a Ttl that would take it
// there is refused with ReasonHoldCap. An empty IdempotencyKey is filled in (on a
// copy) so that the Client's retries extend once.
func (c *Client) ExtendHold(ctx context.Context, req *bookdv1.ExtendHoldRequest) (*bookdv1.Hold, error) {
	req, key, fresh := withKey(req)
	res, err := call(ctx, c, op{name: "ExtendHold", key: key, freshKey: fresh}, req, writer(c, (*conn).ExtendHold, (*conn).batchedExtendHold))
	return res.GetHold(), err
}

// Book holds and confirms in one step and returns the booking. An empty
// IdempotencyKey is filled in (on a copy) so that the Client's retries book
// once.
func (c *Client) Book(ctx context.Context, req *bookdv1.BookRequest) (*bookdv1.Booking, error) {
	req, key, fresh := withKey(req)
	res, err := call(ctx, c, op{name: "Book", key: key, freshKey: fresh}, req, writer(c, firstMarked((*conn).Book), (*conn).batchedBook))
	return res.GetBooking(), err
}

// CancelBooking cancels a booking, frees its inventory and returns the
// cancelled booking. An empty IdempotencyKey is filled in (on a copy).
func (c *Client) CancelBooking(ctx context.Context, req *bookdv1.CancelBookingRequest) (*bookdv1.Booking, error) {
	req, key, fresh := withKey(req)
	res, err := call(ctx, c, op{name: "CancelBooking", key: key, freshKey: fresh}, req, writer(c, (*conn).CancelBooking, (*conn).batchedCancelBooking))
	return res.GetBooking(), err
}

// GetBooking returns the booking with the given id, or a NOT_FOUND error.
func (c *Client) GetBooking(ctx context.Context, id string, opts ...ReadOption) (*bookdv1.Booking, error) {
	req := &bookdv1.GetBookingRequest{BookingId: id, Read: readOptions(opts)}
	res, err := call(ctx, c, op{name: "GetBooking", stale: isStale(req.Read)}, req, (*conn).GetBooking)
	return res.GetBooking(), err
}

// ListBookings returns one page of the bookings of an event, of a
// customer, or of a customer at an event (give EventId, CustomerId or
// both); pass the response's NextPageToken as PageToken to get the next.
// The consistency of the read is req.Read's.
func (c *Client) ListBookings(ctx context.Context, req *bookdv1.ListBookingsRequest) (*bookdv1.ListBookingsResponse, error) {
	req = orEmpty(req)
	return call(ctx, c, op{name: "ListBookings", stale: isStale(req.GetRead())}, req, (*conn).ListBookings)
}

// firstMarkedHeader marks a single call as the first sending of a key the
// Client made (rpc.FirstAttemptHeader): the leader may then refuse a claim
// of sold inventory without the log, as it does a batched first attempt.
const firstMarkedHeader = "Bookd-First-Attempt"

// firstMarked sends a claim's first attempt with the first-attempt mark.
func firstMarked[Req, Res any](send func(*conn, context.Context, Req) (*Res, error)) func(*conn, context.Context, Req) (*Res, error) {
	return func(cn *conn, ctx context.Context, req Req) (*Res, error) {
		if firstAttempt(ctx) {
			var info connect.CallInfo
			ctx, info = connect.NewClientContext(ctx)
			info.RequestHeader().Set(firstMarkedHeader, "1")
		}
		return send(cn, ctx, req)
	}
}

// writer picks how a write is sent: alone, or through the node's batcher.
func writer[Req, Res any](c *Client, single, batched func(*conn, context.Context, Req) (*Res, error)) func(*conn, context.Context, Req) (*Res, error) {
	if c.cfg.batchWrites > 0 {
		return batched
	}
	return single
}
