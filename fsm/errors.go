package fsm

import "fmt"

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
)

// Error is a command the state machine refused. Refusals are deterministic:
// every replica refuses the same command with the same Error.
type Error struct {
	Code    Code
	Reason  string // one of the Reason constants, or empty
	Message string
}

func (e *Error) Error() string { return "fsm: " + e.Message }

func errorf(code Code, reason, format string, args ...any) *Error {
	return &Error{Code: code, Reason: reason, Message: fmt.Sprintf(format, args...)}
}

func notFound(format string, args ...any) *Error {
	return errorf(CodeNotFound, "", format, args...)
}

func invalid(format string, args ...any) *Error {
	return errorf(CodeInvalidArgument, "", format, args...)
}
