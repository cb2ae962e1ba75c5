package rpc

import (
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/bookd/bookd/client"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/proto/bookd/v1/bookdv1connect"
)

func TestShedderRefusesWritesPastTheBoundsAndKeepsReads(t *testing.T) {
	var lag atomic.Uint64
	s := newShedder(ShedConfig{MaxPendingWrites: 3, MaxApplyLag: 100, RetryAfter: 150 * time.Millisecond}, lag.Load)
	hold := bookdv1connect.BookingServiceHoldProcedure
	write := func(msg any) (func(), error) { return s.admit(hold, connect.IdempotencyUnknown, msg) }
	read := func() error {
		rel, err := s.admit(bookdv1connect.BookingServiceGetAvailabilityProcedure, connect.IdempotencyNoSideEffects, &bookdv1.GetAvailabilityRequest{})
		if rel != nil {
			t.Fatal("a read was counted as a pending write")
		}
		return err
	}
	refused := func(what string, err error) {
		t.Helper()
		if connect.CodeOf(err) != connect.CodeResourceExhausted {
			t.Fatalf("%s: got %v, want RESOURCE_EXHAUSTED", what, err)
		}
		if d := client.RetryAfter(err); d != 150*time.Millisecond {
			t.Fatalf("%s: retry-after %v, want 150ms", what, d)
		}
	}

	// A batch as large as the bound goes through when nothing is pending.
	big, err := write(&bookdv1.BatchWriteRequest{Writes: make([]*bookdv1.Write, 5)})
	if err != nil {
		t.Fatalf("a lone batch over the bound: %v", err)
	}
	_, err = write(&bookdv1.HoldRequest{})
	refused("a hold behind a batch of 5 with a bound of 3", err)
	if err := read(); err != nil {
		t.Fatalf("a read while writes are shed: %v", err)
	}
	big()

	r1, err1 := write(&bookdv1.HoldRequest{})
	r2, err2 := write(&bookdv1.BatchWriteRequest{Writes: make([]*bookdv1.Write, 2)})
	if err1 != nil || err2 != nil {
		t.Fatalf("writes within the bound: %v, %v", err1, err2)
	}
	_, err = write(&bookdv1.HoldRequest{})
	refused("a fourth pending write with a bound of 3", err)
	r1()
	r3, err := write(&bookdv1.HoldRequest{})
	if err != nil {
		t.Fatalf("a write after one finished: %v", err)
	}
	r2()
	r3()

	lag.Store(101)
	_, err = write(&bookdv1.HoldRequest{})
	refused("a write with an apply lag of 101 past a bound of 100", err)
	if err := read(); err != nil {
		t.Fatalf("a read while the apply lag is long: %v", err)
	}
	// Cluster calls (membership, status) are never shed.
	if rel, err := s.admit(bookdv1connect.ClusterServiceAddNodeProcedure, connect.IdempotencyUnknown, nil); err != nil || rel != nil {
		t.Fatalf("a cluster call was shed or counted: %v", err)
	}
	lag.Store(100)
	rel, err := write(&bookdv1.HoldRequest{})
	if err != nil {
		t.Fatalf("a write at the lag bound: %v", err)
	}
	rel()
	if s.pending != 0 {
		t.Fatalf("%d writes still counted pending after all ended", s.pending)
	}
}

func TestShedderDefaultsAndOff(t *testing.T) {
	s := newShedder(ShedConfig{}, func() uint64 { return DefaultMaxApplyLag + 1 })
	if s.maxPending != DefaultMaxPendingWrites || s.maxLag != DefaultMaxApplyLag {
		t.Fatalf("defaults %d/%d", s.maxPending, s.maxLag)
	}
	if _, err := s.admit(bookdv1connect.BookingServiceBookProcedure, connect.IdempotencyUnknown, &bookdv1.BookRequest{}); connect.CodeOf(err) != connect.CodeResourceExhausted {
		t.Fatalf("past the default lag bound: %v", err)
	}
	off := newShedder(ShedConfig{MaxPendingWrites: -1, MaxApplyLag: -1}, func() uint64 { return 1 << 40 })
	for range 3 {
		if _, err := off.admit(bookdv1connect.BookingServiceBookProcedure, connect.IdempotencyUnknown, &bookdv1.BatchWriteRequest{Writes: make([]*bookdv1.Write, 1000)}); err != nil {
			t.Fatalf("shedding off still refused: %v", err)
		}
	}
}
