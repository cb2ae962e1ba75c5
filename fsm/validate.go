package fsm

import (
	"strings"
	"time"
	"unicode/utf8"

	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
)

// Limits on requests. They are part of the state machine's rules: the rpc
// package checks them first for a quick answer, and the state machine checks
// them again so that no entry in the log can break an invariant.
const (
	MaxNameLen        = 200
	MaxIDLen          = 128 // customer_id, payment_ref, idempotency_key
	MaxSeatLabelLen   = 32
	MaxSeatsPerEvent  = 100_000
	MaxSeatsPerHold   = 50
	MaxCapacity       = 10_000_000
	MaxQuantityOfHold = 50
	DefaultHoldTTL    = 10 * time.Minute
	MinHoldTTL        = time.Second
	MaxHoldTTL        = 24 * time.Hour
)

// ValidateCreateEvent checks a CreateEventRequest.
func ValidateCreateEvent(r *bookdv1.CreateEventRequest) *Error {
	if err := checkText("name", r.GetName(), MaxNameLen, true); err != nil {
		return err
	}
	if r.StartsAt != nil && !r.StartsAt.IsValid() {
		return invalid("starts_at: not a valid timestamp")
	}
	if r.GetCapacity() < 0 || r.GetCapacity() > MaxCapacity {
		return invalid("capacity: must be between 0 and %d, got %d", MaxCapacity, r.GetCapacity())
	}
	if len(r.GetSeats()) > MaxSeatsPerEvent {
		return invalid("seats: at most %d seats per event, got %d", MaxSeatsPerEvent, len(r.GetSeats()))
	}
	if r.GetCapacity() == 0 && len(r.GetSeats()) == 0 {
		return invalid("capacity: an event needs a capacity above 0 or at least one seat")
	}
	if err := checkSeatLabels(r.GetSeats()); err != nil {
		return err
	}
	return checkText("idempotency_key", r.GetIdempotencyKey(), MaxIDLen, false)
}

// ValidateHold checks a HoldRequest.
func ValidateHold(r *bookdv1.HoldRequest) *Error {
	return validateClaim(r.GetEventId(), r.GetCustomerId(), r.GetQuantity(), r.GetSeats(), r.GetIdempotencyKey(), true, r)
}

// ValidateBook checks a BookRequest.
func ValidateBook(r *bookdv1.BookRequest) *Error {
	if err := validateClaim(r.GetEventId(), r.GetCustomerId(), r.GetQuantity(), r.GetSeats(), r.GetIdempotencyKey(), false, nil); err != nil {
		return err
	}
	return checkText("payment_ref", r.GetPaymentRef(), MaxIDLen, false)
}

func validateClaim(eventID, customerID string, quantity int64, seats []string, idemKey string, withTTL bool, hold *bookdv1.HoldRequest) *Error {
	if _, ok := parseID(kindEvent, eventID); !ok {
		return invalid("event_id: %q is not an event id (like ev_12)", clip(eventID))
	}
	if err := checkText("customer_id", customerID, MaxIDLen, true); err != nil {
		return err
	}
	switch {
	case len(seats) == 0 && quantity <= 0:
		return invalid("quantity: give a quantity above 0 or a list of seats")
	case len(seats) > 0 && quantity != 0 && quantity != int64(len(seats)):
		return invalid("quantity: give quantity or seats, not both (quantity %d, %d seats)", quantity, len(seats))
	case len(seats) == 0 && quantity > MaxQuantityOfHold:
		return invalid("quantity: at most %d tickets per hold, got %d", MaxQuantityOfHold, quantity)
	case len(seats) > MaxSeatsPerHold:
		return invalid("seats: at most %d seats per hold, got %d", MaxSeatsPerHold, len(seats))
	}
	if err := checkSeatLabels(seats); err != nil {
		return err
	}
	if withTTL && hold.Ttl != nil {
		if !hold.Ttl.IsValid() {
			return invalid("ttl: not a valid duration")
		}
		if d := hold.Ttl.AsDuration(); d < MinHoldTTL || d > MaxHoldTTL {
			return invalid("ttl: must be between %s and %s, got %s", MinHoldTTL, MaxHoldTTL, d)
		}
	}
	return checkText("idempotency_key", idemKey, MaxIDLen, false)
}

// ValidateConfirm checks a ConfirmRequest.
func ValidateConfirm(r *bookdv1.ConfirmRequest) *Error {
	if err := checkRef("hold_id", kindHold, r.GetHoldId()); err != nil {
		return err
	}
	if err := checkText("payment_ref", r.GetPaymentRef(), MaxIDLen, false); err != nil {
		return err
	}
	return checkText("idempotency_key", r.GetIdempotencyKey(), MaxIDLen, false)
}

// ValidateReleaseHold checks a ReleaseHoldRequest.
func ValidateReleaseHold(r *bookdv1.ReleaseHoldRequest) *Error {
	if err := checkRef("hold_id", kindHold, r.GetHoldId()); err != nil {
		return err
	}
	return checkText("idempotency_key", r.GetIdempotencyKey(), MaxIDLen, false)
}

// ValidateCancelBooking checks a CancelBookingRequest.
func ValidateCancelBooking(r *bookdv1.CancelBookingRequest) *Error {
	if err := checkRef("booking_id", kindBooking, r.GetBookingId()); err != nil {
		return err
	}
	return checkText("idempotency_key", r.GetIdempotencyKey(), MaxIDLen, false)
}

// ValidateEventID, ValidateHoldID and ValidateBookingID check identifiers in reads.
func ValidateEventID(field, id string) *Error   { return checkRef(field, kindEvent, id) }
func ValidateHoldID(field, id string) *Error    { return checkRef(field, kindHold, id) }
func ValidateBookingID(field, id string) *Error { return checkRef(field, kindBooking, id) }

func checkRef(field, kind, id string) *Error {
	if _, ok := parseID(kind, id); !ok {
		return invalid("%s: %q is not a valid id (like %s12)", field, clip(id), kind)
	}
	return nil
}

func checkText(field, s string, max int, required bool) *Error {
	switch {
	case required && s == "":
		return invalid("%s: required", field)
	case len(s) > max:
		return invalid("%s: at most %d bytes, got %d", field, max, len(s))
	case !utf8.ValidString(s):
		return invalid("%s: not valid UTF-8", field)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return invalid("%s: control characters are not allowed", field)
		}
	}
	return nil
}

// checkSeatLabels checks labels and that none repeats (the map is only
// looked up, never iterated, so the answer is deterministic).
func checkSeatLabels(seats []string) *Error {
	seen := make(map[string]int, len(seats))
	for i, s := range seats {
		if err := checkText("seats", s, MaxSeatLabelLen, true); err != nil {
			return invalid("seats[%d]: %s", i, err.Message[len("seats: "):])
		}
		if j, dup := seen[s]; dup {
			return invalid("seats[%d]: %q repeats seats[%d]", i, s, j)
		}
		seen[s] = i
	}
	return nil
}

// clip shortens a user's string for an error message.
func clip(s string) string {
	if len(s) <= 40 {
		return strings.ToValidUTF8(s, "?")
	}
	return strings.ToValidUTF8(s[:40], "?") + "..."
}
