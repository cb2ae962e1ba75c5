package client

import (
	"errors"
	"strings"

	"connectrpc.com/connect"
	"github.com/bookd/bookd/rpc/errdetail"
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
	ReasonSeatBlocked          = "SEAT_BLOCKED"      // the seat exists but is not for sale
	ReasonEventClosed          = "EVENT_CLOSED"      // sales of the event were stopped
	ReasonEventCancelled       = "EVENT_CANCELLED"   // the event was cancelled
	ReasonHoldLimit            = "HOLD_LIMIT"        // more tickets than one hold may take
	ReasonCustomerLimit        = "CUSTOMER_LIMIT"    // more tickets than one customer may have
	ReasonHoldCap              = "HOLD_CAP"          // ExtendHold past the hold's MaxExpiresAt
	ReasonAvailable            = "AVAILABLE"         // JoinWaitlist for an event not sold out
	ReasonNotWaiting           = "NOT_WAITING"       // LeaveWaitlist for an entry no longer waiting
	ReasonUnknownCategory      = "UNKNOWN_CATEGORY"  // the event has no such category (or needs one named)
	ReasonCurrencyMismatch     = "CURRENCY_MISMATCH" // an order's items, or its voucher, in different currencies
	ReasonVoucherUnknown       = "VOUCHER_UNKNOWN"   // no such voucher (an edge says VOUCHER_NOT_VALID)
	ReasonVoucherNotValid      = "VOUCHER_NOT_VALID" // outside its window, or for none of the order's events
	ReasonVoucherUsedUp        = "VOUCHER_USED_UP"   // redeemed max_redemptions times
	ReasonVoucherExists        = "VOUCHER_EXISTS"    // CreateVoucher with a code taken
	ReasonItemCancelled        = "ITEM_CANCELLED"    // CancelBooking of an item cancelled already
)

// Keys of ErrorMetadata: what a refusal is about, where the node knows it.
const (
	MetaEventID    = "eventId"    // the event (SOLD_OUT, SEAT_TAKEN, EVENT_CLOSED, limits, NOT_FOUND)
	MetaSeat       = "seat"       // the seat taken, blocked or unknown
	MetaSection    = "section"    // the section without the seats asked for
	MetaHoldID     = "holdId"     // the hold (HOLD_EXPIRED, HOLD_RELEASED, HOLD_CONFIRMED, HOLD_CAP, NOT_FOUND)
	MetaBookingID  = "bookingId"  // the booking (BOOKING_CANCELLED, NOT_FOUND), or a confirmed hold's
	MetaEntryID    = "entryId"    // the waitlist entry (NOT_WAITING, NOT_FOUND)
	MetaProductID  = "productId"  // the product not found
	MetaCustomerID = "customerId" // the customer over CUSTOMER_LIMIT
	MetaLimit      = "limit"      // the limit (HOLD_LIMIT, CUSTOMER_LIMIT), in tickets
	MetaHas        = "has"        // tickets the customer has in holds and bookings (CUSTOMER_LIMIT)
	MetaAsked      = "asked"      // tickets asked for
	MetaAvailable  = "available"  // tickets left (SOLD_OUT of general admission)
	MetaExpiresAt  = "expiresAt"  // when the hold expired, or the latest it may (HOLD_CAP), RFC 3339
	MetaStatus     = "status"     // the entry's status (NOT_WAITING)
	MetaItem       = "item"       // the index of the order's item refused
	MetaCategory   = "category"   // the category unknown or sold out
	MetaQuotaID    = "quotaId"    // the quota sold out
)

// ErrorDomain is the google.rpc.ErrorInfo domain of bookd's refusals.
const ErrorDomain = errdetail.Domain

// Reason returns the machine-readable reason a node or edge gave for
// refusing a request (one of the Reason constants, or a newer value), or ""
// when err is not a refusal that carries one. It reads the Bookd-Reason
// header, or where something on the way dropped it, the google.rpc.ErrorInfo
// detail (whose reason for a refusal without a bookd reason is the code's
// name, NOT_FOUND say: Reason returns "" for those).
func Reason(err error) string {
	var ce *connect.Error
	if !errors.As(err, &ce) {
		return ""
	}
	if r := ce.Meta().Get(reasonHeader); r != "" {
		return r
	}
	if info := errdetail.Info(ce); info != nil && info.GetReason() != strings.ToUpper(ce.Code().String()) {
		return info.GetReason()
	}
	return ""
}

// ErrorMetadata returns what a refusal is about, from its
// google.rpc.ErrorInfo detail: the event, seat, hold, limit (keys Meta*),
// where the node knew them; nil when err has none. A refusal answered
// from an idempotency record (a retry with the same key) has none, nor has
// one of a write sent in a batch (BatchWrite, or the Client's batched
// writes), whose results carry code, reason and message only.
func ErrorMetadata(err error) map[string]string {
	return errdetail.Info(err).GetMetadata()
}

// FieldViolation is a field of a request that was refused as
// INVALID_ARGUMENT, from the error's google.rpc.BadRequest detail.
type FieldViolation struct {
	// Field is the field's path in the request, as in proto:
	// "event_id", "seats[2]", "writes[0].ttl".
	Field       string
	Description string
}

// FieldViolations returns the fields err refused the request for, or nil.
func FieldViolations(err error) []FieldViolation {
	var out []FieldViolation
	for _, v := range errdetail.FieldViolations(err) {
		out = append(out, FieldViolation{Field: v.GetField(), Description: v.GetDescription()})
	}
	return out
}
