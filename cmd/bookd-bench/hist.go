package main

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// histogram counts latencies in log-linear buckets: values are grouped by
// their highest set bit and then into subBuckets linear steps, so every
// bucket is within 1/subBuckets (1.6%) of the values it holds. Add is one
// atomic increment: many goroutines share one histogram without a lock.
type histogram struct {
	counts [64 * subBuckets]atomic.Uint64
}

const (
	subBits    = 6
	subBuckets = 1 << subBits
)

func bucketOf(ns uint64) int {
	if ns < subBuckets {
		return int(ns)
	}
	exp := bits.Len64(ns) - subBits // ≥ 1
	return exp*subBuckets + int(ns>>(exp-1))&(subBuckets-1)
}

// bucketValue is the largest value counted in bucket i, so quantiles err
// on the slow side.
func bucketValue(i int) uint64 {
	if i < subBuckets {
		return uint64(i)
	}
	exp, sub := i/subBuckets, uint64(i%subBuckets)
	return ((subBuckets|sub)+1)<<(exp-1) - 1
}

func (h *histogram) add(d time.Duration) {
	if d < 0 {
		d = 0
	}
	h.counts[bucketOf(uint64(d))].Add(1)
}

// snapshot copies the counts, for quantiles and for interval deltas.
func (h *histogram) snapshot() *counts {
	var c counts
	for i := range h.counts {
		c[i] = h.counts[i].Load()
	}
	return &c
}

type counts [64 * subBuckets]uint64

// minus is the counts added since an earlier snapshot.
func (c *counts) minus(earlier *counts) *counts {
	var d counts
	for i := range c {
		d[i] = c[i] - earlier[i]
	}
	return &d
}

func (c *counts) total() uint64 {
	var n uint64
	for _, v := range c {
		n += v
	}
	return n
}

// quantile is the latency below which fraction q of the values fall.
func (c *counts) quantile(q float64) time.Duration {
	n := c.total()
	if n == 0 {
		return 0
	}
	rank := uint64(q*float64(n-1)) + 1
	var seen uint64
	for i, v := range c {
		if seen += v; seen >= rank {
			return time.Duration(bucketValue(i))
		}
	}
	return time.Duration(bucketValue(len(c) - 1))
}
