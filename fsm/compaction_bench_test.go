package fsm_test

import (
	"syscall"
	"testing"
	"time"

	"github.com/bookd/bookd/fsm"
)

// BenchmarkApplyCompactions is BenchmarkApplyBook's batches of 512 with
// what they cost the store afterwards: it waits until no compaction has
// run for a second, and reports the bytes compactions wrote and the
// process's CPU (apply, flushes and compactions) per booking. Run it with
// -benchtime of a few hundred thousand bookings or more (-benchtime
// 1000000x): compactions only settle into their steady cost once the
// store's lower levels fill.
func BenchmarkApplyCompactions(b *testing.B) {
	const batch = 512
	h := newHarness(b)
	ev := h.createEvent(gaEvent(fsm.MaxCapacity))
	cpu0 := processCPU(b)
	b.ResetTimer()
	applyGABookings(h, ev, b.N, batch)
	for idle := time.Duration(0); idle < time.Second; idle += 20 * time.Millisecond {
		if fsm.StoreMetrics(h.f).Compact.NumInProgress > 0 {
			idle = 0
		}
		time.Sleep(20 * time.Millisecond)
	}
	b.StopTimer()
	m := fsm.StoreMetrics(h.f)
	var compacted uint64
	for _, l := range m.Levels {
		compacted += l.TableBytesCompacted
	}
	b.ReportMetric(float64(compacted)/float64(b.N), "compacted-B/booking")
	b.ReportMetric(float64((processCPU(b)-cpu0).Microseconds())/float64(b.N), "cpu-µs/booking")
	b.ReportMetric(float64(m.Compact.Count), "compactions")
}

// processCPU is the CPU time this process has used, user and system.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
