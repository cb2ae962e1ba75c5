package fsm

import (
	"slices"
	"strconv"
	"strings"
	"time"

	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Limits of work queues, checked by the rpc package for a quick answer and
// by the state machine again.
const (
	MaxQueueNameLen       = 64
	MaxQueues             = 100
	DefaultMaxAttempts    = 8
	MaxAttemptsLimit      = 100
	DefaultRetryMin       = 10 * time.Second
	DefaultRetryMax       = 10 * time.Minute
	MaxRetryDelay         = 24 * time.Hour
	DefaultRetention      = 7 * 24 * time.Hour
	MinRetention          = time.Minute
	MaxRetention          = 30 * 24 * time.Hour
	MaxReceive            = 1000
	DefaultVisibility     = 30 * time.Second
	MinVisibility         = time.Second
	MaxVisibility         = 12 * time.Hour
	MaxReceiveWait        = 20 * time.Second
	MaxLeasesPerCall      = 1000
	MaxMessageBody        = 64 << 10
	MaxNackError          = 1024
	MaxRedrivePerCommand  = 10_000
	MaxEnqueueDelay       = 24 * time.Hour
	maxQueueKindsPerQueue = 32
)

// QueueKinds are the change kinds a queue may take.
var QueueKinds = []string{
	"product_created", "event_created", "event_closed", "event_cancelled",
	"hold_created", "hold_extended", "hold_released", "hold_expired",
	"booking_confirmed", "booking_cancelled", "booking_items_cancelled",
	"waitlist_joined", "waitlist_left", "waitlist_offer", "waitlist_dropped",
}

// ValidateQueueName checks a queue's name: 1 to 64 characters of a-z, 0-9,
// '-' and '_', starting with a letter.
func ValidateQueueName(field, name string) *Error {
	if name == "" {
		return invalid("%s: required", field)
	}
	if len(name) > MaxQueueNameLen {
		return invalid("%s: at most %d characters, got %d", field, MaxQueueNameLen, len(name))
	}
	for i, c := range name {
		ok := c >= 'a' && c <= 'z' || i > 0 && (c >= '0' && c <= '9' || c == '-' || c == '_')
		if !ok {
			return invalid("%s: %q is not a queue name (a-z, 0-9, '-' and '_', starting with a letter)", field, clip(name))
		}
	}
	return nil
}

// ValidateCreateQueue checks a CreateQueueRequest.
func ValidateCreateQueue(r *bookdv1.CreateQueueRequest) *Error {
	q := r.GetQueue()
	if q == nil {
		return invalid("queue: required")
	}
	if err := ValidateQueueName("queue.name", q.GetName()); err != nil {
		return err
	}
	if len(q.GetKinds()) > maxQueueKindsPerQueue {
		return invalid("queue.kinds: at most %d kinds", maxQueueKindsPerQueue)
	}
	for i, k := range q.GetKinds() {
		if !slices.Contains(QueueKinds, k) {
			return invalid("queue.kinds[%d]: %q is not a change kind (one of %s)", i, clip(k), strings.Join(QueueKinds, ", "))
		}
	}
	if q.GetEventId() != "" && q.GetProductId() != "" {
		return invalid("queue.product_id: give event_id or product_id, not both")
	}
	if q.GetEventId() != "" {
		if err := checkRef("queue.event_id", kindEvent, q.GetEventId()); err != nil {
			return err
		}
	}
	if q.GetProductId() != "" {
		if err := checkRef("queue.product_id", kindProduct, q.GetProductId()); err != nil {
			return err
		}
	}
	if n := q.GetMaxAttempts(); n < 0 || n > MaxAttemptsLimit {
		return invalid("queue.max_attempts: 1 to %d (0 for the default %d), got %d", MaxAttemptsLimit, DefaultMaxAttempts, n)
	}
	if err := checkDuration("queue.retry_min", q.GetRetryMin(), 0, MaxRetryDelay); err != nil {
		return err
	}
	if err := checkDuration("queue.retry_max", q.GetRetryMax(), 0, MaxRetryDelay); err != nil {
		return err
	}
	if min, max := durationOr(q.GetRetryMin(), DefaultRetryMin), durationOr(q.GetRetryMax(), DefaultRetryMax); min > max {
		return invalid("queue.retry_max: %s is below retry_min %s", max, min)
	}
	if err := checkDuration("queue.retention", q.GetRetention(), MinRetention, MaxRetention); err != nil {
		return err
	}
	if _, ok := bookdv1.QueueOrdering_name[int32(q.GetOrdering())]; !ok {
		return invalid("queue.ordering: unknown value %d", q.GetOrdering())
	}
	return checkText("idempotency_key", r.GetIdempotencyKey(), MaxIDLen, false)
}

// checkDuration checks an optional duration against [min, max].
func checkDuration(field string, d *durationpb.Duration, min, max time.Duration) *Error {
	if d == nil {
		return nil
	}
	if !d.IsValid() {
		return invalid("%s: not a valid duration", field)
	}
	if v := d.AsDuration(); v < min || v > max {
		return invalid("%s: must be between %s and %s, got %s", field, min, max, v)
	}
	return nil
}

func durationOr(d *durationpb.Duration, def time.Duration) time.Duration {
	if d == nil {
		return def
	}
	return d.AsDuration()
}

// ValidateEnqueue checks an EnqueueRequest.
func ValidateEnqueue(r *bookdv1.EnqueueRequest) *Error {
	if err := ValidateQueueName("queue", r.GetQueue()); err != nil {
		return err
	}
	if err := checkText("idempotency_key", r.GetIdempotencyKey(), MaxIDLen, true); err != nil {
		return err
	}
	if n := len(r.GetBody()); n > MaxMessageBody {
		return invalid("body: at most %d bytes, got %d", MaxMessageBody, n)
	}
	if err := checkText("order_key", r.GetOrderKey(), MaxIDLen, false); err != nil {
		return err
	}
	return checkDuration("delay", r.GetDelay(), 0, MaxEnqueueDelay)
}

// ValidateReceive checks a ReceiveRequest.
func ValidateReceive(r *bookdv1.ReceiveRequest) *Error {
	if err := ValidateQueueName("queue", r.GetQueue()); err != nil {
		return err
	}
	if n := r.GetMax(); n < 1 || n > MaxReceive {
		return invalid("max: 1 to %d messages, got %d", MaxReceive, n)
	}
	if err := checkDuration("visibility", r.GetVisibility(), MinVisibility, MaxVisibility); err != nil {
		return err
	}
	return checkDuration("wait_time", r.GetWaitTime(), 0, MaxReceiveWait)
}

// ValidateAck checks an AckRequest.
func ValidateAck(r *bookdv1.AckRequest) *Error {
	if err := ValidateQueueName("queue", r.GetQueue()); err != nil {
		return err
	}
	return checkLeases(r.GetLeaseIds())
}

// ValidateExtendLease checks an ExtendLeaseRequest.
func ValidateExtendLease(r *bookdv1.ExtendLeaseRequest) *Error {
	if err := ValidateQueueName("queue", r.GetQueue()); err != nil {
		return err
	}
	if err := checkLeases(r.GetLeaseIds()); err != nil {
		return err
	}
	if r.GetVisibility() == nil {
		return invalid("visibility: required")
	}
	return checkDuration("visibility", r.GetVisibility(), MinVisibility, MaxVisibility)
}

// ValidateNack checks a NackRequest.
func ValidateNack(r *bookdv1.NackRequest) *Error {
	if err := ValidateQueueName("queue", r.GetQueue()); err != nil {
		return err
	}
	if _, _, ok := parseLease(r.GetLeaseId()); !ok {
		return invalid("lease_id: %q is not a lease id (like 12.1)", clip(r.GetLeaseId()))
	}
	if n := len(r.GetError()); n > MaxNackError {
		return invalid("error: at most %d bytes, got %d", MaxNackError, n)
	}
	return checkDuration("delay", r.GetDelay(), 0, MaxRetryDelay)
}

func checkLeases(ids []string) *Error {
	if len(ids) == 0 {
		return invalid("lease_ids: required")
	}
	if len(ids) > MaxLeasesPerCall {
		return invalid("lease_ids: at most %d, got %d", MaxLeasesPerCall, len(ids))
	}
	for i, id := range ids {
		if _, _, ok := parseLease(id); !ok {
			return invalid("lease_ids[%d]: %q is not a lease id (like 12.1)", i, clip(id))
		}
	}
	return nil
}

// ValidateRedrive checks a RedriveRequest.
func ValidateRedrive(r *bookdv1.RedriveRequest) *Error {
	if err := ValidateQueueName("queue", r.GetQueue()); err != nil {
		return err
	}
	if len(r.GetMessageIds()) > MaxRedrivePerCommand {
		return invalid("message_ids: at most %d, got %d", MaxRedrivePerCommand, len(r.GetMessageIds()))
	}
	for i, id := range r.GetMessageIds() {
		if _, ok := ParseMessageID(id); !ok {
			return invalid("message_ids[%d]: %q is not a message id (like 12)", i, clip(id))
		}
	}
	return checkText("idempotency_key", r.GetIdempotencyKey(), MaxIDLen, false)
}

// ParseMessageID reads a message's number ("12"); 0 is not one.
func ParseMessageID(id string) (uint64, bool) {
	n, ok := canonicalUint(id)
	return n, ok && n > 0
}

// A lease id names a message and the delivery it leased: "12.3" is the
// third delivery of message 12. A lease is current while the message is
// leased by that delivery.
func formatLease(number uint64, attempt int32) string {
	return strconv.FormatUint(number, 10) + "." + strconv.FormatInt(int64(attempt), 10)
}

func parseLease(id string) (number uint64, attempt int32, ok bool) {
	a, b, found := strings.Cut(id, ".")
	n, ok1 := ParseMessageID(a)
	at, ok2 := canonicalUint(b)
	if !found || !ok1 || !ok2 || at == 0 || at > MaxAttemptsLimit {
		return 0, 0, false
	}
	return n, int32(at), true
}
