package raftnode

import (
	"slices"
	"testing"
	"time"
)

// Buckets are cumulative, as Prometheus reads them: a pause counts in
// every bucket at or above its length, and in none below.
func TestPauseLogBuckets(t *testing.T) {
	var l pauseLog
	if got := l.get(); got.Count != 0 || len(got.Buckets) != len(PauseBuckets) {
		t.Fatalf("empty log: %+v", got)
	}
	for _, d := range []time.Duration{15 * time.Millisecond, 50 * time.Millisecond, 230 * time.Millisecond, 7 * time.Second} {
		l.record(d)
	}
	got := l.get()
	want := []uint64{1, 2, 2, 2, 3, 3, 3, 3} // .02 .05 .1 .2 .5 1 2 5
	if !slices.Equal(got.Buckets, want) {
		t.Errorf("buckets %v, want %v", got.Buckets, want)
	}
	if got.Count != 4 || got.Sum != 7295*time.Millisecond {
		t.Errorf("count %d sum %v", got.Count, got.Sum)
	}
	got.Buckets[0] = 99
	if l.get().Buckets[0] != 1 {
		t.Error("get shares its buckets with the log")
	}
}
