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
	var done, next atomic.Int64
	var firstErr error
	var once sync.Once
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := ticker(ctx, time.Second, func(elapsed time.Duration) {
		fmt.Fprintf(progress, "%5.0fs filling: %d of %d bookings\n", elapsed.Seconds(), done.Load(), want)
	})
	defer stop()
	run := fmt.Sprintf("fill-%d", time.Now().UnixNano())
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			customer := fmt.Sprintf("%s-c%d", run, c)
			for ctx.Err() == nil {
				n := next.Add(1)
				if n > want {
					return
				}
				a := Attempt{Key: fmt.Sprintf("%s-%d", run, n), Customer: customer, Quantity: 1}
				if err := t.Book(ctx, event, a); err != nil {
					once.Do(func() { firstErr = fmt.Errorf("fill: booking %d: %w", n, err); cancel() })
					return
				}
				done.Add(1)
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
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
