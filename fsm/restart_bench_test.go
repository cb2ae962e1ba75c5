package fsm_test

import (
	"testing"
	"time"

	"github.com/bookd/bookd/fsm"
)

// BenchmarkApplyAfterRestart is a follower's catch-up right after its
// restart: a store holding 300,000 GA bookings is closed and opened again
// (a cold block cache), then b.N more bookings are applied in entries of
// 1,000 (a full BatchWrite), with the idempotency-key filter not yet built
// (filter=none: every lookup reads the store, as a node does until its
// state is complete) or built (filter=built).
//
//	go test -run '^$' -bench ApplyAfterRestart -benchtime 50000x ./fsm/
func BenchmarkApplyAfterRestart(b *testing.B) {
	const stored, batch = 300_000, 1000
	for _, build := range []bool{false, true} {
		name := map[bool]string{false: "filter=none", true: "filter=built"}[build]
		b.Run(name, func(b *testing.B) {
			h := newHarness(b)
			ev := h.createEvent(gaEvent(fsm.MaxCapacity))
			applyGABookings(h, ev, stored, batch)
			h.close()
			f, err := fsm.Open(h.dir, nil)
			if err != nil {
				b.Fatal(err)
			}
			h.f, h.next = f, f.AppliedIndex()+1
			if build {
				f.BuildKeyFilter()
				for !fsm.KeyFilterReady(f) {
					applyGABookings(h, ev, 1, 1) // the build starts and ends between batches
					time.Sleep(10 * time.Millisecond)
				}
			}
			b.ResetTimer()
			applyGABookings(h, ev, b.N, batch)
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/booking")
		})
	}
}
