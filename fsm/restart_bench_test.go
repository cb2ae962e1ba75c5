package fsm_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bookd/bookd/fsm"
)

// BenchmarkApplyAfterRestart is a follower's catch-up right after its
// restart: a store holding 300,000 GA bookings is closed and opened again
// (a cold block cache), then b.N more bookings are applied in entries of
// 1,000 (a full BatchWrite). With filter=saved the store opens with the
// idempotency-key filter it saved at Close; with filter=none the saved
// filter is gone (a store without one, or one that does not check out),
// and every lookup reads the store until a scan builds one. It also
// reports how long the open took.
//
//	go test -run '^$' -bench ApplyAfterRestart -benchtime 50000x ./fsm/
func BenchmarkApplyAfterRestart(b *testing.B) {
	const stored, batch = 300_000, 1000
	for _, saved := range []bool{true, false} {
		name := map[bool]string{true: "filter=saved", false: "filter=none"}[saved]
		b.Run(name, func(b *testing.B) {
			h := newHarness(b)
			ev := h.createEvent(gaEvent(fsm.MaxCapacity))
			applyGABookings(h, ev, stored, batch)
			h.close()
			if !saved {
				if err := os.Remove(filepath.Join(h.dir, "state", "idempotency-filter")); err != nil {
					b.Fatal(err)
				}
			}
			began := time.Now()
			f, err := fsm.Open(h.dir, nil)
			if err != nil {
				b.Fatal(err)
			}
			opened := time.Since(began)
			h.f, h.next = f, f.AppliedIndex()+1
			b.ResetTimer()
			applyGABookings(h, ev, b.N, batch)
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/booking")
			b.ReportMetric(float64(opened.Microseconds())/1000, "open-ms")
		})
	}
}
