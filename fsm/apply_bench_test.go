package fsm_test

import (
	"fmt"
	"math/rand"
	"testing"
	"time"

	"github.com/bookd/bookd/fsm"
	fsmv1 "github.com/bookd/bookd/proto/bookd/fsm/v1"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
)

// BenchmarkApplyBook applies batches of GA bookings of one hot event, each
// with a fresh idempotency key, as the Raft log delivers them under load.
//
//	go test -run '^$' -bench ApplyBook -benchtime 200000x ./fsm/
func BenchmarkApplyBook(b *testing.B) {
	for _, queues := range []int{0, 1} {
		for _, batch := range []int{1, 64, 512} {
			b.Run(fmt.Sprintf("queues=%d/batch=%d", queues, batch), func(b *testing.B) { benchmarkApplyBook(b, queues, batch) })
		}
	}
}

// benchmarkApplyBook books batch GA tickets a batch with queues work
// queues taking every booking (what a receipts queue costs a booking).
func benchmarkApplyBook(b *testing.B, queues, batch int) {
	{
		{
			h := newHarness(b)
			for i := range queues {
				h.createQueue(&bookdv1.Queue{Name: fmt.Sprint("q", i), Kinds: []string{"booking_confirmed"}})
			}
			ev := h.createEvent(gaEvent(fsm.MaxCapacity))
			b.ResetTimer()
			applyGABookings(h, ev, b.N, batch)
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "bookings/s")
		}
	}
}

// BenchmarkApplySeatBook books two seats a command, batch commands a log
// entry, spread over a 100,000-seat event (a new one when it sells out),
// with fresh keys and customers.
func BenchmarkApplySeatBook(b *testing.B) {
	const rows, perRow = 400, 250
	for _, batch := range []int{64, 512} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			h := newHarness(b)
			var sections []*bookdv1.SeatRow
			for r := range rows {
				sections = append(sections, row(fmt.Sprint("R", r), perRow))
			}
			r := rand.New(rand.NewSource(1))
			var ev *bookdv1.Event
			var free []string
			cmds := make([]*fsmv1.Command, 0, batch)
			b.ResetTimer()
			for i := 0; i < b.N; i += batch {
				cmds = cmds[:0]
				for j := i; j < min(i+batch, b.N); j++ {
					if len(free) < 2 {
						b.StopTimer()
						ev = h.createEvent(mapEvent(section("A", sections...)))
						free = ev.Seats
						r.Shuffle(len(free), func(x, y int) { free[x], free[y] = free[y], free[x] })
						b.StartTimer()
					}
					h.now++
					cmds = append(cmds, stampedCommand(h.now, &bookdv1.BookRequest{EventId: ev.Id, CustomerId: fmt.Sprint("customer-", r.Intn(1_000_000)),
						Seats: free[:2], IdempotencyKey: benchKey(r)}))
					free = free[2:]
				}
				h.applyBatchEntry(cmds...) // as the leader proposes them
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "bookings/s")
		})
	}
}

// applyGABookings applies n bookings of one ticket of ev, batch commands a
// log entry, each with a fresh idempotency key.
func applyGABookings(h *harness, ev *bookdv1.Event, n, batch int) {
	r := rand.New(rand.NewSource(1))
	cmds := make([]*fsmv1.Command, 0, batch)
	for i := 0; i < n; i += batch {
		cmds = cmds[:0]
		for j := i; j < min(i+batch, n); j++ {
			h.now++
			cmds = append(cmds, stampedCommand(h.now, &bookdv1.BookRequest{EventId: ev.Id, CustomerId: "customer",
				Quantity: 1, IdempotencyKey: benchKey(r)}))
		}
		h.applyCommands(cmds...)
	}
}

// benchKey is a fresh idempotency key as the client package makes them: the
// time in milliseconds, then random bits.
func benchKey(r *rand.Rand) string {
	return fmt.Sprintf("%012x%020x", time.Now().UnixMilli(), r.Uint64())
}
