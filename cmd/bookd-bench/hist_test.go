package main

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestBucketsCoverValuesInOrder(t *testing.T) {
	prev := -1
	for _, v := range []uint64{0, 1, 63, 64, 65, 127, 128, 1000, 1 << 20, 1<<40 + 12345, 1<<63 - 1, 1 << 63} {
		b := bucketOf(v)
		if b < prev {
			t.Fatalf("bucket of %d is %d, below the previous value's %d", v, b, prev)
		}
		prev = b
		if top := bucketValue(b); top < v || float64(top-v) > float64(v)/subBuckets+1 {
			t.Fatalf("value %d in bucket %d whose top is %d", v, b, top)
		}
	}
}

func TestQuantilesMatchSortedValues(t *testing.T) {
	var h histogram
	rnd := rand.New(rand.NewPCG(1, 2))
	var vals []time.Duration
	for range 100_000 {
		d := time.Duration(rnd.ExpFloat64() * float64(3*time.Millisecond))
		vals = append(vals, d)
		h.add(d)
	}
	slices.Sort(vals)
	c := h.snapshot()
	for _, q := range []float64{0.5, 0.99, 0.999} {
		want := vals[int(q*float64(len(vals)-1))]
		got := c.quantile(q)
		if got < want || float64(got-want) > float64(want)/subBuckets*1.5 {
			t.Errorf("p%v = %v, the values say %v", q*100, got, want)
		}
	}
	if c.total() != uint64(len(vals)) {
		t.Errorf("total %d, added %d", c.total(), len(vals))
	}
	if d := h.snapshot().minus(c); d.total() != 0 {
		t.Errorf("nothing added, delta holds %d", d.total())
	}
}
