package client

import (
	"errors"

	"connectrpc.com/connect"
)

// reasonHeader names the error metadata key carrying a refusal's reason.
const reasonHeader = "Bookd-Reason"

// Reasons a node gives for refusing a request, as returned by Reason.
const (
	ReasonSeatTaken            = "SEAT_TAKEN"
	ReasonSoldOut              = "SOLD_OUT"
	ReasonHoldExpired          = "HOLD_EXPIRED"
	ReasonHoldReleased         = "HOLD_RELEASED"
	ReasonHoldConfirmed        = "HOLD_CONFIRMED"
	ReasonBookingCancelled     = "BOOKING_CANCELLED"
	ReasonUnknownSeat          = "UNKNOWN_SEAT"
	ReasonIdempotencyKeyReused = "IDEMPOTENCY_KEY_REUSED"
	ReasonSeatBlocked          = "SEAT_BLOCKED"    // the seat exists but is not for sale
	ReasonEventClosed          = "EVENT_CLOSED"    // sales of the event were stopped
	ReasonEventCancelled       = "EVENT_CANCELLED" // the event was cancelled
	ReasonHoldLimit            = "HOLD_LIMIT"      // more tickets than one hold may take
	ReasonCustomerLimit        = "CUSTOMER_LIMIT"  // more tickets than one customer may have
	ReasonHoldCap              = "HOLD_CAP"        // ExtendHold past the hold's MaxExpiresAt
	ReasonAvailable            = "AVAILABLE"       // JoinWaitlist for an event not sold out
	ReasonNotWaiting           = "NOT_WAITING"     // LeaveWaitlist for an entry no longer waiting
)

// Reason returns the machine-readable reason a node gave for refusing a
// request (one of the Reason constants, or a newer value), or "" when err is
// not a refusal that carries one.
func Reason(err error) string {
	var ce *connect.Error
	if errors.As(err, &ce) {
		return ce.Meta().Get(reasonHeader)
	}
	return ""
}
