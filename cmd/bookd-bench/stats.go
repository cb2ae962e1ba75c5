package main

import (
	"context"
	"errors"
	"regexp"
	"sync"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"
)

// stats are the counters of one run, shared by every client goroutine.
// A booking (or read) is one call of the workload from the load
// generator's side: its retries, by the client or by the target, are part
// of it.
type stats struct {
	start     time.Time
	latency   histogram // successful calls, each from its first attempt to its answer
	attempts  atomic.Int64
	bookings  atomic.Int64
	tickets   atomic.Int64
	reads     atomic.Int64
	conflicts atomic.Int64
	unknown   atomic.Int64 // bookings whose outcome is unknown (also counted in errors)
	drained   atomic.Int64 // calls that were in flight when the run ended
	lastDone  atomic.Int64 // ns after start of the latest successful call
	ledger    *ledger
	// The old figure, kept for comparison: bookings and ns after start
	// when oldWindow of the inventory was first known sold.
	windowBookings atomic.Int64
	windowAt       atomic.Int64

	mu     sync.Mutex
	errors map[string]int64
}

func newStats() *stats {
	return &stats{start: time.Now(), errors: map[string]int64{}, ledger: newLedger()}
}

// done records one call, of the booking with key (none for reads), that
// began at began and ended with err. An interrupted call (the command was
// stopped under it) is counted only as an unknown outcome.
func (s *stats) done(began time.Time, key string, err error, interrupted bool) {
	now := time.Now()
	o := outcomeOf(err)
	if key != "" {
		s.ledger.note(key, o)
	}
	if interrupted && err != nil {
		if o == outcomeUnknown && key != "" {
			s.unknown.Add(1)
		}
		return
	}
	s.attempts.Add(1)
	switch o {
	case outcomeBooked:
		s.latency.add(now.Sub(began))
		at := int64(now.Sub(s.start))
		for {
			last := s.lastDone.Load()
			if at <= last || s.lastDone.CompareAndSwap(last, at) {
				break
			}
		}
		return
	case outcomeConflict:
		s.conflicts.Add(1)
		return
	case outcomeUnknown:
		if key != "" {
			s.unknown.Add(1)
		}
	}
	code := errorCode(err)
	s.mu.Lock()
	s.errors[code]++
	s.mu.Unlock()
}

// oldWindow is the share of the inventory over which bookd-bench used to
// measure rates, leaving the sell-out tail out; it is still reported,
// labelled as such.
const oldWindow = 0.9

// noteWindow records when oldWindow of v is first known sold.
func (s *stats) noteWindow(v *venue) {
	if s.windowAt.Load() != 0 || v.sold() < oldWindow {
		return
	}
	if s.windowAt.CompareAndSwap(0, int64(time.Since(s.start))) {
		s.windowBookings.Store(s.bookings.Load())
	}
}

func (s *stats) errorCounts() map[string]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int64, len(s.errors))
	for k, v := range s.errors {
		out[k] = v
	}
	return out
}

func (s *stats) errorTotal() int64 {
	var n int64
	for _, v := range s.errorCounts() {
		n += v
	}
	return n
}

var (
	grpcCode = regexp.MustCompile(`code = (\w+)`)
	sqlState = regexp.MustCompile(`SQLSTATE (\w+)`)
)

// errorCode names an error for the table: a Connect or gRPC code, a
// PostgreSQL SQLSTATE, or what kind of failure it was.
func errorCode(err error) string {
	var ce *connect.Error
	switch {
	case errors.As(err, &ce):
		return ce.Code().String()
	case errors.Is(err, context.DeadlineExceeded):
		return "deadline_exceeded"
	case errors.Is(err, context.Canceled):
		return "canceled"
	}
	msg := err.Error()
	if m := grpcCode.FindStringSubmatch(msg); m != nil {
		return "grpc_" + m[1]
	}
	if m := sqlState.FindStringSubmatch(msg); m != nil {
		return "sqlstate_" + m[1]
	}
	return "other"
}
