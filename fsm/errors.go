package fsm

import (
	"fmt"
	"strconv"
)

// Code classifies a refused command. The rpc package maps codes to Connect codes.
type Code int32

const (
	// CodeInvalidArgument: the command is malformed (a field is out of range).
	CodeInvalidArgument Code = iota + 1
	// CodeNotFound: the event, hold or booking does not exist.
	CodeNotFound
	// CodeFailedPrecondition: the state forbids it (seat taken, sold out, hold expired).
	CodeFailedPrecondition
	// CodeAlreadyExists: an idempotency key was reused with another request.
	CodeAlreadyExists
	// CodeOutOfRange: a change-feed cursor older than the retained feed.
	CodeOutOfRange
	// CodePermissionDenied: an admission token does not allow the hold.
	CodePermissionDenied
)

// Reasons name why a command failed, for programs that branch on it.
const (
	ReasonSeatTaken        = "SEAT_TAKEN"
	ReasonSoldOut          = "SOLD_OUT"
	ReasonHoldExpired      = "HOLD_EXPIRED"
	ReasonHoldReleased     = "HOLD_RELEASED"
	ReasonHoldConfirmed    = "HOLD_CONFIRMED"
	ReasonBookingCancelled = "BOOKING_CANCELLED"
	ReasonUnknownSeat      = "UNKNOWN_SEAT"
	ReasonKeyReused        = "IDEMPOTENCY_KEY_REUSED"
	ReasonSeatBlocked      = "SEAT_BLOCKED"
	ReasonEventClosed      = "EVENT_CLOSED"
	ReasonEventCancelled   = "EVENT_CANCELLED"
	ReasonHoldLimit        = "HOLD_LIMIT"
	ReasonCustomerLimit    = "CUSTOMER_LIMIT"
	ReasonHoldCap          = "HOLD_CAP"
	ReasonAvailable        = "AVAILABLE"
	ReasonNotWaiting       = "NOT_WAITING"
	// The hold's admission token is for another event or customer, has
	// expired, or was spent already.
	ReasonAdmissionInvalid = "ADMISSION_INVALID"
	ReasonAdmissionExpired = "ADMISSION_EXPIRED"
	ReasonAdmissionSpent   = "ADMISSION_SPENT"
	// ReasonUnknownCategory: the event has no such ticket category.
	ReasonUnknownCategory = "UNKNOWN_CATEGORY"
	// ReasonCurrencyMismatch: an order's items, or its voucher, are priced
	// in different currencies.
	ReasonCurrencyMismatch = "CURRENCY_MISMATCH"
	// ReasonVoucherUnknown, ReasonVoucherNotValid (outside its window, or
	// for none of the order's events) and ReasonVoucherUsedUp refuse a
	// voucher_code. An edge answers all three alike (a code is a secret).
	ReasonVoucherUnknown  = "VOUCHER_UNKNOWN"
	ReasonVoucherNotValid = "VOUCHER_NOT_VALID"
	ReasonVoucherUsedUp   = "VOUCHER_USED_UP"
	// ReasonVoucherExists: CreateVoucher with a code already taken.
	ReasonVoucherExists = "VOUCHER_EXISTS"
	// ReasonItemCancelled: an item of a booking asked to be cancelled
	// already is.
	ReasonItemCancelled = "ITEM_CANCELLED"
)

// Metadata keys name what a refusal is about (Error.Metadata), in the
// lowerCamelCase of google.rpc.ErrorInfo metadata.
const (
	MetaEvent     = "eventId"   // the event refused
	MetaSeat      = "seat"      // the seat taken, blocked or unknown
	MetaSection   = "section"   // the section without the seats asked for
	MetaHold      = "holdId"    // the hold refused
	MetaBooking   = "bookingId" // the booking refused, or a hold's booking
	MetaEntry     = "entryId"   // the waitlist entry refused
	MetaProduct   = "productId" // the product not found
	MetaCustomer  = "customerId"
	MetaLimit     = "limit"     // the limit exceeded (HOLD_LIMIT, CUSTOMER_LIMIT)
	MetaHas       = "has"       // tickets the customer has (CUSTOMER_LIMIT)
	MetaAsked     = "asked"     // tickets asked for
	MetaAvailable = "available" // tickets left (SOLD_OUT)
	MetaExpiresAt = "expiresAt" // when the hold expired, or the latest it may (HOLD_CAP), RFC 3339
	MetaStatus    = "status"    // the object's status (NOT_WAITING)
	MetaItem      = "item"      // the index of the order's item refused
	MetaCategory  = "category"  // the ticket category refused or sold out
	MetaQuota     = "quotaId"   // the quota sold out
)

// Error is a command the state machine refused. Refusals are deterministic:
// every replica refuses the same command with the same Error.
type Error struct {
	Code    Code
	Reason  string // one of the Reason constants, or empty
	Message string
	// Metadata names what the refusal is about, by the Meta* keys (the
	// seat, the event, the limit), where the refusing code knows it; nil
	// otherwise. An idempotency record keeps code, reason and message
	// only: a replayed refusal has no metadata.
	Metadata map[string]string
}

func (e *Error) Error() string { return "fsm: " + e.Message }

// with adds metadata to e, as key, value pairs, and returns e.
func (e *Error) with(kv ...string) *Error {
	if e.Metadata == nil {
		e.Metadata = make(map[string]string, len(kv)/2)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		e.Metadata[kv[i]] = kv[i+1]
	}
	return e
}

func errorf(code Code, reason, format string, args ...any) *Error {
	return &Error{Code: code, Reason: reason, Message: fmt.Sprintf(format, args...)}
}

func notFound(format string, args ...any) *Error {
	return errorf(CodeNotFound, "", format, args...)
}

func invalid(format string, args ...any) *Error {
	return errorf(CodeInvalidArgument, "", format, args...)
}

// itoa formats a count for metadata.
func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// seatTaken refuses a claim on a seat held or booked by someone else (the
// state machine's refusal and the leader's early one are the same).
func seatTaken(eventID, seat string) *Error {
	return errorf(CodeFailedPrecondition, ReasonSeatTaken, "seat %s of event %s is taken", seat, eventID).
		with(MetaEvent, eventID, MetaSeat, seat)
}
