package main

import (
	"context"
	"errors"
	"sync"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5/pgconn"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// outcome is what the load generator learned of one booking: whether the
// system stored it is known for every outcome but outcomeUnknown.
type outcome int

const (
	outcomeBooked   outcome = iota // acknowledged: the system says it stored it
	outcomeConflict                // refused: the inventory is taken
	outcomeRefused                 // refused otherwise, with a definite answer
	outcomeUnknown                 // no definite answer: it may or may not be stored
)

// ErrUnknownOutcome marks an error after which a booking may have been
// stored: an attempt timed out, a connection broke or a node answered
// UNAVAILABLE, and no later attempt settled it.
var ErrUnknownOutcome = errors.New("outcome unknown")

// outcomeOf classifies the error a booking ended with. Only answers that
// say the write was not made are definite: a conflict, a refusal the
// server gave before doing anything (an invalid request, a failed
// precondition, RESOURCE_EXHAUSTED), or a PostgreSQL error (its transaction
// was rolled back). Everything else, timeouts and broken connections first,
// leaves the outcome unknown, and so does any answer, a conflict too,
// marked ErrUnknownOutcome: an earlier attempt went unanswered.
func outcomeOf(err error) outcome {
	switch {
	case err == nil:
		return outcomeBooked
	case errors.Is(err, ErrUnknownOutcome):
		return outcomeUnknown
	case errors.Is(err, ErrConflict):
		return outcomeConflict
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return outcomeUnknown
	}
	var ce *connect.Error
	if errors.As(err, &ce) {
		if !connect.IsWireError(ce) {
			return outcomeUnknown // not an answer from a server
		}
		return definiteCode(ce.Code())
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return outcomeRefused
	}
	if s, ok := status.FromError(err); ok && s.Code() != codes.OK {
		return definiteCode(connect.Code(s.Code())) // gRPC and Connect share code numbers
	}
	return outcomeUnknown
}

// definiteCode is the outcome of an answer with code: the codes a server
// sends only for a write it did not make are definite refusals.
func definiteCode(c connect.Code) outcome {
	switch c {
	case connect.CodeInvalidArgument, connect.CodeFailedPrecondition, connect.CodeNotFound,
		connect.CodeAlreadyExists, connect.CodePermissionDenied, connect.CodeUnauthenticated,
		connect.CodeResourceExhausted, connect.CodeOutOfRange, connect.CodeUnimplemented, connect.CodeAborted:
		return outcomeRefused
	}
	return outcomeUnknown
}

// ledger holds the idempotency keys (Attempt.Key) of the bookings a run
// saw acknowledged and of those whose outcome it never learned, for the
// audit to compare with what the system stored.
type ledger struct {
	mu      sync.Mutex
	acked   map[string]struct{}
	unknown map[string]struct{}
}

func newLedger() *ledger {
	return &ledger{acked: map[string]struct{}{}, unknown: map[string]struct{}{}}
}

// note records the outcome of the booking with key; conflicts and refusals
// need no record, as nothing of theirs may be stored.
func (l *ledger) note(key string, o outcome) {
	if o != outcomeBooked && o != outcomeUnknown {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if o == outcomeBooked {
		l.acked[key] = struct{}{}
	} else {
		l.unknown[key] = struct{}{}
	}
}

// reconciliation compares what a system stored with what the load generator
// was told. It must hold that acknowledged ⊆ stored ⊆ acknowledged ∪ unknown,
// each booking stored once.
type reconciliation struct {
	Acknowledged  int64 `json:"acknowledged"`   // bookings the system acknowledged
	Unknown       int64 `json:"unknown"`        // bookings with no definite answer
	Stored        int64 `json:"stored"`         // bookings stored, each key once
	UnknownStored int64 `json:"unknown_stored"` // of the unknown, those stored
	Missing       int64 `json:"missing"`        // acknowledged, not stored (must be 0)
	Extra         int64 `json:"extra"`          // stored, neither acknowledged nor unknown (must be 0)
	Duplicate     int64 `json:"duplicate"`      // keys stored more than once (must be 0)
}

// reconcile checks the keys of the stored bookings against the ledger.
func (l *ledger) reconcile(stored []string) reconciliation {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := reconciliation{Acknowledged: int64(len(l.acked)), Unknown: int64(len(l.unknown))}
	seen := make(map[string]struct{}, len(stored))
	for _, k := range stored {
		if _, dup := seen[k]; dup {
			r.Duplicate++
			continue
		}
		seen[k] = struct{}{}
		r.Stored++
		if _, ok := l.acked[k]; ok {
			continue
		}
		if _, ok := l.unknown[k]; ok {
			r.UnknownStored++
			continue
		}
		r.Extra++
	}
	for k := range l.acked {
		if _, ok := seen[k]; !ok {
			r.Missing++
		}
	}
	return r
}

// ok reports whether the stored bookings are exactly the acknowledged ones,
// plus some of the unknown.
func (r reconciliation) ok() bool { return r.Missing == 0 && r.Extra == 0 && r.Duplicate == 0 }
