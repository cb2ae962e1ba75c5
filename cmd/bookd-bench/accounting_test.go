package main

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"
)

// TestStatsCountPerBooking: latency is kept for successes only, from the
// time the booking began; a call the command interrupted is only an
// unknown outcome.
func TestStatsCountPerBooking(t *testing.T) {
	st := newStats()
	st.done(time.Now().Add(-50*time.Millisecond), "ok", nil, false)
	st.done(time.Now(), "taken", fmt.Errorf("x: %w", ErrConflict), false)
	st.done(time.Now(), "late", context.DeadlineExceeded, false)
	st.done(time.Now(), "cut", context.Canceled, true)
	lat := st.latency.snapshot()
	if lat.total() != 1 || lat.quantile(0.5) < 50*time.Millisecond {
		t.Errorf("latency holds %d values, p50 %v; want the one success, at least 50ms", lat.total(), lat.quantile(0.5))
	}
	if a, c, u := st.attempts.Load(), st.conflicts.Load(), st.unknown.Load(); a != 3 || c != 1 || u != 2 {
		t.Errorf("attempts %d, conflicts %d, unknown %d; want 3, 1, 2", a, c, u)
	}
	if errs := st.errorCounts(); len(errs) != 1 || errs["deadline_exceeded"] != 1 {
		t.Errorf("errors %v, want the one deadline_exceeded (the interrupted call is not one)", errs)
	}
	rec := st.ledger.reconcile([]string{"ok", "cut"})
	if want := (reconciliation{Acknowledged: 1, Unknown: 2, Stored: 2, UnknownStored: 1}); rec != want {
		t.Errorf("reconcile: %+v, want %+v", rec, want)
	}
}

// slowTarget books after a delay, counting the calls that started and
// ended.
type slowTarget struct {
	delay          time.Duration
	started, ended atomic.Int64
}

func (s *slowTarget) Name() string                                       { return "slow" }
func (s *slowTarget) Prepare(context.Context, Inventory) (string, error) { return "ev", nil }
func (s *slowTarget) Hold(context.Context, string, Attempt) (string, error) {
	return "", errors.ErrUnsupported
}
func (s *slowTarget) Confirm(context.Context, string, string, Attempt) error {
	return errors.ErrUnsupported
}
func (s *slowTarget) Browse(context.Context, string, bool) error { return nil }
func (s *slowTarget) Audit(context.Context, string, Inventory) (Audit, error) {
	return Audit{}, nil
}
func (s *slowTarget) Close() error { return nil }

func (s *slowTarget) Book(ctx context.Context, _ string, _ Attempt) error {
	s.started.Add(1)
	defer s.ended.Add(1)
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(s.delay):
		return nil
	}
}

// TestLoadLetsCallsInFlightFinish: the run ends after 100ms with every
// customer in a 300ms call; those calls are not cut off but finish, and
// each is counted as a booking, acknowledged in the ledger.
func TestLoadLetsCallsInFlightFinish(t *testing.T) {
	tg := &slowTarget{delay: 300 * time.Millisecond}
	v := newGAVenue(1000)
	st := load(context.Background(), tg, "ev", v, runConfig{Workload: workloadGA, Clients: 4,
		Duration: 100 * time.Millisecond, Timeout: 5 * time.Second, Seed: 1, Label: "drain"})
	if s, e := tg.started.Load(), tg.ended.Load(); s != 4 || e != 4 {
		t.Fatalf("%d calls started, %d ended; want the 4 in flight at the end, finished", s, e)
	}
	if b, d := st.bookings.Load(), st.drained.Load(); b != 4 || d != 4 {
		t.Errorf("bookings %d, drained %d; want 4 and 4", b, d)
	}
	if n := st.errorTotal(); n != 0 {
		t.Errorf("%d errors: %v", n, st.errorCounts())
	}
	if rec := st.ledger.reconcile(nil); rec.Acknowledged != 4 || rec.Missing != 4 {
		t.Errorf("ledger: %+v, want 4 acknowledged (missing from an empty store)", rec)
	}
	if p50 := st.latency.snapshot().quantile(0.5); p50 < 300*time.Millisecond {
		t.Errorf("p50 %v, below the 300ms every booking took", p50)
	}
}

// TestLoadInterruptedCountsUnknown: stopping the command cuts the calls
// off; they are unknown outcomes, not errors.
func TestLoadInterruptedCountsUnknown(t *testing.T) {
	tg := &slowTarget{delay: time.Minute}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	st := load(ctx, tg, "ev", newGAVenue(1000), runConfig{Workload: workloadGA, Clients: 3,
		Duration: time.Minute, Timeout: time.Minute, Seed: 1, Label: "cut"})
	if u, n := st.unknown.Load(), st.errorTotal(); u != 3 || n != 0 {
		t.Errorf("unknown %d, errors %d (%v); want 3 and 0", u, n, st.errorCounts())
	}
}

// TestConnectRetry: the connect mode's retries keep the key and settle the
// outcome: a definite answer after only refusals is definite, anything
// after an unanswered attempt is unknown unless it succeeded.
func TestConnectRetry(t *testing.T) {
	wire := func(c connect.Code) error { return connect.NewWireError(c, errors.New(c.String())) }
	tests := []struct {
		name    string
		answers []error
		want    outcome
	}{
		{"success at once", []error{nil}, outcomeBooked},
		{"shed, then success", []error{wire(connect.CodeResourceExhausted), nil}, outcomeBooked},
		{"unavailable, then success", []error{wire(connect.CodeUnavailable), nil}, outcomeBooked},
		{"shed, then refused", []error{wire(connect.CodeResourceExhausted), wire(connect.CodeFailedPrecondition)}, outcomeRefused},
		{"unavailable, then refused", []error{wire(connect.CodeUnavailable), wire(connect.CodeFailedPrecondition)}, outcomeUnknown},
		{"shed, then a conflict", []error{wire(connect.CodeResourceExhausted), fmt.Errorf("%w: sold out", ErrConflict)}, outcomeConflict},
		{"unavailable, then a conflict", []error{wire(connect.CodeUnavailable), fmt.Errorf("%w: sold out", ErrConflict)}, outcomeUnknown},
		{"no answer, then shed until the end", []error{context.DeadlineExceeded, wire(connect.CodeResourceExhausted)}, outcomeUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			var ct connectTarget
			sent := 0
			err := ct.retry(ctx, func(_ context.Context, first bool) error {
				sent++
				if first != (sent == 1) {
					t.Errorf("send %d marked first=%v", sent, first)
				}
				if sent > len(tt.answers) {
					return tt.answers[len(tt.answers)-1]
				}
				return tt.answers[sent-1]
			})
			if got := outcomeOf(err); got != tt.want {
				t.Errorf("outcome %d (%v), want %d", got, err, tt.want)
			}
			if tt.want != outcomeUnknown && sent != len(tt.answers) {
				t.Errorf("sent %d times, want %d", sent, len(tt.answers))
			}
		})
	}
}
