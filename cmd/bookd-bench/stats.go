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
type stats struct {
	start     time.Time
	latency   histogram // every attempt, conflicts and errors included
	attempts  atomic.Int64
	bookings  atomic.Int64
	tickets   atomic.Int64
	reads     atomic.Int64
	conflicts atomic.Int64
	lastDone  atomic.Int64 // ns after start of the latest successful attempt

	mu     sync.Mutex
	errors map[string]int64
}

func newStats() *stats { return &stats{start: time.Now(), errors: map[string]int64{}} }

// done records one attempt that began at began.
func (s *stats) done(began time.Time, err error) {
	now := time.Now()
	s.latency.add(now.Sub(began))
	s.attempts.Add(1)
	switch {
	case err == nil:
		at := int64(now.Sub(s.start))
		for {
			last := s.lastDone.Load()
			if at <= last || s.lastDone.CompareAndSwap(last, at) {
				break
			}
		}
	case errors.Is(err, ErrConflict):
		s.conflicts.Add(1)
	default:
		code := errorCode(err)
		s.mu.Lock()
		s.errors[code]++
		s.mu.Unlock()
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
