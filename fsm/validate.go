package fsm

import (
	"strings"
	"time"
	"unicode/utf8"

	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"google.golang.org/protobuf/types/known/durationpb"
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
	MaxHoldTTL        = time.Hour
	// MaxHoldLifetime caps how long ExtendHold can keep a hold alive, counted
	// from its creation.
	MaxHoldLifetime = 2 * time.Hour
	// MaxStartsAtSeconds bounds start times (2200-01-01 UTC), which are
	// kept in Unix nanoseconds.
	MaxStartsAtSeconds = 7258118400
	// MaxTicketsPerCustomer bounds an event's per-customer limit.
	MaxTicketsPerCustomer = 10_000
)

// ValidateCreateEvent checks a CreateEventRequest.
func ValidateCreateEvent(r *bookdv1.CreateEventRequest) *Error {
	if err := checkText("name", r.GetName(), MaxNameLen, true); err != nil {
		return err
	}
	if r.StartsAt != nil && (!r.StartsAt.IsValid() || r.StartsAt.GetSeconds() < 0 || r.StartsAt.GetSeconds() >= MaxStartsAtSeconds) {
		return invalid("starts_at: not a valid timestamp from 1970 to 2199")
	}
	if id := r.GetProductId(); id != "" {
		if err := checkRef("product_id", kindProduct, id); err != nil {
			return err
		}
	}
	mapSeats, err := validateSections(r.GetSections())
	if err != nil {
		return err
	}
	if n := r.GetMaxTicketsPerCustomer(); n < 0 || n > MaxTicketsPerCustomer {
		return invalid("max_tickets_per_customer: must be between 0 (no limit) and %d, got %d", MaxTicketsPerCustomer, n)
	}
	if n := r.GetMaxTicketsPerHold(); n < 0 || n > MaxQuantityOfHold {
		return invalid("max_tickets_per_hold: must be between 0 (the server's %d) and %d, got %d", MaxQuantityOfHold, MaxQuantityOfHold, n)
	}
	if err := checkTTL("waitlist_offer_ttl", r.GetWaitlistOfferTtl()); err != nil {
		return err
	}
	if r.GetCapacity() < 0 || r.GetCapacity() > MaxCapacity {
		return invalid("capacity: must be between 0 and %d, got %d", MaxCapacity, r.GetCapacity())
	}
	if n := len(r.GetSeats()) + mapSeats; n > MaxSeatsPerEvent {
		return invalid("seats: at most %d seats per event, got %d", MaxSeatsPerEvent, n)
	}
	if r.GetCapacity() == 0 && len(r.GetSeats()) == 0 && mapSeats == 0 {
		return invalid("capacity: an event needs a capacity above 0, sections or seats")
	}
	if err := checkSeatLabels(r.GetSeats()); err != nil {
		return err
	}
	if err := validateCategories(r); err != nil {
		return err
	}
	if err := checkTimeZone("time_zone", r.GetTimeZone()); err != nil {
		return err
	}
	if err := checkQuotaIDs(r.GetQuotaIds()); err != nil {
		return err
	}
	return checkText("idempotency_key", r.GetIdempotencyKey(), MaxIDLen, false)
}

// ValidateHold checks a HoldRequest.
func ValidateHold(r *bookdv1.HoldRequest) *Error {
	if err := checkOneShape(r); err != nil {
		return err
	}
	if err := validateOrder(orderOf(r)); err != nil {
		return err
	}
	if err := validateAdmission(r); err != nil {
		return err
	}
	if err := checkPayment(r.GetPaymentRef(), r.GetContactEmail()); err != nil {
		return err
	}
	return checkTTL("ttl", r.GetTtl())
}

// ValidateBook checks a BookRequest.
func ValidateBook(r *bookdv1.BookRequest) *Error {
	if err := checkOneShape(r); err != nil {
		return err
	}
	if err := validateOrder(orderOf(r)); err != nil {
		return err
	}
	return checkPayment(r.GetPaymentRef(), r.GetContactEmail())
}

// checkPayment checks what a claim or confirmation may say about payment
// and receipt: a payment reference and an e-mail address, both optional.
func checkPayment(paymentRef, email string) *Error {
	if err := checkText("payment_ref", paymentRef, MaxIDLen, false); err != nil {
		return err
	}
	return checkEmail("contact_email", email)
}

// MaxEmailLen is the longest address SMTP carries (RFC 5321's path limit).
const MaxEmailLen = 254

// checkEmail checks an optional e-mail address: a local part, one '@' and
// a domain, no spaces, brackets or control characters (anything that could
// break out of an SMTP command or a mail header).
func checkEmail(field, s string) *Error {
	if s == "" {
		return nil
	}
	if err := checkText(field, s, MaxEmailLen, false); err != nil {
		return err
	}
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" || domain == "" || strings.Contains(domain, "@") || strings.ContainsAny(s, " <>,;:\\\"()[]") {
		return invalid("%s: %q is not an e-mail address (like name@example.com)", field, clip(s))
	}
	return nil
}

// claimRequest is one item of what Hold, Book or JoinWaitlist ask for.
// field prefixes the names of the fields a refusal names ("items[2].").
type claimRequest struct {
	eventID, customerID string
	category            string
	quantity            int64
	seats               []string
	section             string
	bestAvailable       bool
	field               string
}

// validateItem checks one item of an order, for the rpc layer's early
// check and for the state machine alike. An item names seats, or a
// quantity: of GA tickets (of a category, on an event that has them), or
// with best_available of seats the cluster chooses; never seats with a
// quantity or with best_available.
//
// Earlier versions accepted seats with a quantity equal to their number. A
// log written by such a leader may hold an entry that this rule refuses
// when applied: replicas that apply it under different rules (old and new
// binaries mixed, or a new replica replaying an old log rather than
// installing a snapshot) would disagree on it.
func validateItem(c claimRequest) *Error {
	f, quantity, seats := c.field, c.quantity, c.seats
	switch {
	case c.bestAvailable && len(seats) > 0:
		return invalid("%sbest_available: give seats or best_available, not both", f)
	case c.section != "" && !c.bestAvailable:
		return invalid("%ssection: only used with best_available", f)
	case c.section != "":
		if err := checkMapName(f+"section", c.section); err != nil {
			return err
		}
	}
	if c.category != "" {
		if len(seats) > 0 || c.bestAvailable {
			return invalid("%scategory: seats are of their section's category; leave category empty", f)
		}
		if err := checkCategoryName(f+"category", c.category); err != nil {
			return err
		}
	}
	if _, ok := parseID(kindEvent, c.eventID); !ok {
		return invalid("%sevent_id: %q is not an event id (like ev_12)", f, clip(c.eventID))
	}
	switch {
	case len(seats) == 0 && quantity <= 0:
		return invalid("%squantity: give a quantity above 0 or a list of seats", f)
	case len(seats) > 0 && quantity != 0:
		// Seats count themselves: even a quantity that agrees is refused.
		return invalid("%squantity: give quantity or seats, not both (quantity %d, %d seats)", f, quantity, len(seats))
	case len(seats) == 0 && quantity > MaxQuantityOfHold:
		return invalid("%squantity: at most %d tickets per hold, got %d", f, MaxQuantityOfHold, quantity)
	case len(seats) > MaxSeatsPerHold:
		return invalid("%sseats: at most %d seats per hold, got %d", f, MaxSeatsPerHold, len(seats))
	}
	if err := checkSeatLabels(seats); err != nil {
		if f != "" {
			err.Message = f + err.Message
		}
		return err
	}
	return nil
}

// checkTTL checks an optional hold lifetime.
func checkTTL(field string, ttl *durationpb.Duration) *Error {
	return checkDuration(field, ttl, MinHoldTTL, MaxHoldTTL)
}

// ValidateExtendHold checks an ExtendHoldRequest.
func ValidateExtendHold(r *bookdv1.ExtendHoldRequest) *Error {
	if err := checkRef("hold_id", kindHold, r.GetHoldId()); err != nil {
		return err
	}
	if r.GetTtl() == nil {
		return invalid("ttl: required")
	}
	if err := checkTTL("ttl", r.GetTtl()); err != nil {
		return err
	}
	if err := checkText("client_secret", r.GetClientSecret(), MaxIDLen, false); err != nil {
		return err
	}
	return checkText("idempotency_key", r.GetIdempotencyKey(), MaxIDLen, false)
}

// ValidateCloseEvent and ValidateCancelEvent check requests that stop sales.
func ValidateCloseEvent(r *bookdv1.CloseEventRequest) *Error {
	return checkRefAndKey("event_id", kindEvent, r.GetEventId(), r.GetIdempotencyKey())
}

func ValidateCancelEvent(r *bookdv1.CancelEventRequest) *Error {
	return checkRefAndKey("event_id", kindEvent, r.GetEventId(), r.GetIdempotencyKey())
}

// ValidateJoinWaitlist checks a JoinWaitlistRequest.
func ValidateJoinWaitlist(r *bookdv1.JoinWaitlistRequest) *Error {
	if r.GetQuantity() <= 0 {
		return invalid("quantity: must be above 0, got %d", r.GetQuantity())
	}
	if err := checkMapName("section", r.GetSection()); r.GetSection() != "" && err != nil {
		return err
	}
	if c := r.GetCategory(); c != "" {
		if r.GetSection() != "" {
			return invalid("category: a seated event's waitlist offers seats of their section's category; leave category empty")
		}
		if err := checkCategoryName("category", c); err != nil {
			return err
		}
	}
	// The entry's offer is a GA quantity or best-available seats: checked as one.
	item := claimRequest{eventID: r.GetEventId(), quantity: r.GetQuantity()}
	if err := validateItem(item); err != nil {
		return err
	}
	if err := checkText("customer_id", r.GetCustomerId(), MaxIDLen, true); err != nil {
		return err
	}
	return checkText("idempotency_key", r.GetIdempotencyKey(), MaxIDLen, false)
}

// ValidateLeaveWaitlist checks a LeaveWaitlistRequest.
func ValidateLeaveWaitlist(r *bookdv1.LeaveWaitlistRequest) *Error {
	if err := checkText("client_secret", r.GetClientSecret(), MaxIDLen, false); err != nil {
		return err
	}
	return checkRefAndKey("entry_id", kindEntry, r.GetEntryId(), r.GetIdempotencyKey())
}

func checkRefAndKey(field, kind, id, idemKey string) *Error {
	if err := checkRef(field, kind, id); err != nil {
		return err
	}
	return checkText("idempotency_key", idemKey, MaxIDLen, false)
}

// ValidateConfirm checks a ConfirmRequest.
func ValidateConfirm(r *bookdv1.ConfirmRequest) *Error {
	if err := checkRef("hold_id", kindHold, r.GetHoldId()); err != nil {
		return err
	}
	if err := checkPayment(r.GetPaymentRef(), r.GetContactEmail()); err != nil {
		return err
	}
	if err := checkText("client_secret", r.GetClientSecret(), MaxIDLen, false); err != nil {
		return err
	}
	return checkText("idempotency_key", r.GetIdempotencyKey(), MaxIDLen, false)
}

// ValidateReleaseHold checks a ReleaseHoldRequest.
func ValidateReleaseHold(r *bookdv1.ReleaseHoldRequest) *Error {
	if err := checkRef("hold_id", kindHold, r.GetHoldId()); err != nil {
		return err
	}
	if err := checkText("client_secret", r.GetClientSecret(), MaxIDLen, false); err != nil {
		return err
	}
	return checkText("idempotency_key", r.GetIdempotencyKey(), MaxIDLen, false)
}

// ValidateCancelBooking checks a CancelBookingRequest.
func ValidateCancelBooking(r *bookdv1.CancelBookingRequest) *Error {
	if err := checkRef("booking_id", kindBooking, r.GetBookingId()); err != nil {
		return err
	}
	if len(r.GetItems()) > MaxOrderItems*MaxSeatsPerHold {
		return invalid("items: at most %d items, got %d", MaxOrderItems*MaxSeatsPerHold, len(r.GetItems()))
	}
	for i, n := range r.GetItems() {
		if n < 0 {
			return invalid("items[%d]: %d is not an item index", i, n)
		}
		for j := range i {
			if r.GetItems()[j] == n {
				return invalid("items[%d]: %d repeats items[%d]", i, n, j)
			}
		}
	}
	return checkText("idempotency_key", r.GetIdempotencyKey(), MaxIDLen, false)
}

// ValidateEventID, ValidateHoldID, ValidateBookingID, ValidateProductID and
// ValidateEntryID check identifiers in reads.
func ValidateEventID(field, id string) *Error   { return checkRef(field, kindEvent, id) }
func ValidateProductID(field, id string) *Error { return checkRef(field, kindProduct, id) }
func ValidateEntryID(field, id string) *Error   { return checkRef(field, kindEntry, id) }
func ValidateHoldID(field, id string) *Error    { return checkRef(field, kindHold, id) }
func ValidateBookingID(field, id string) *Error { return checkRef(field, kindBooking, id) }

// ValidateCustomerID checks an optional customer_id filter.
func ValidateCustomerID(id string) *Error { return checkText("customer_id", id, MaxIDLen, false) }

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
	if len(seats) == 0 {
		return nil // general admission: the common case costs no map
	}
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
