package main

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// fill books one ticket at a time on event until it holds want bookings
// more than it did, from clients concurrent customers, printing progress.
func fill(ctx context.Context, t Target, event string, want int64, clients int, progress io.Writer) error {
	run := fmt.Sprintf("fill-%d", time.Now().UnixNano())
	return fillRun(ctx, want, clients, 1, progress, func(ctx context.Context, c int, first, _ int64) error {
		a := Attempt{Key: fmt.Sprintf("%s-%d", run, first), Customer: fmt.Sprintf("%s-c%d", run, c), Quantity: 1}
		return t.Book(ctx, event, a)
	})
}

// fillRun has workers concurrent workers book the bookings numbered 1 to
// want, step at a time: each call of book gets the next step's first and
// last numbers. It prints progress every second and stops at the first
// error, which it returns.
func fillRun(ctx context.Context, want int64, workers int, step int64, progress io.Writer,
	book func(ctx context.Context, worker int, first, last int64) error) error {
	var done, next atomic.Int64
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stop := ticker(ctx, time.Second, func(elapsed time.Duration) {
		fmt.Fprintf(progress, "%5.0fs filling: %d of %d bookings\n", elapsed.Seconds(), done.Load(), want)
	})
	defer stop()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for ctx.Err() == nil {
				last := next.Add(step)
				first := last - step + 1
				if first > want {
					return
				}
				last = min(last, want)
				if err := book(ctx, w, first, last); err != nil {
					cancel(fmt.Errorf("fill: bookings %d-%d: %w", first, last, err))
					return
				}
				done.Add(last - first + 1)
			}
		})
	}
	wg.Wait()
	return context.Cause(ctx)
}

// ticker calls fn every period until stopped or ctx ends.
func ticker(ctx context.Context, period time.Duration, fn func(elapsed time.Duration)) (stop func()) {
	start := time.Now()
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				fn(time.Since(start))
			}
		}
	})
	return func() { close(done); wg.Wait() }
}
