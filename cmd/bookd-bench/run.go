package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"time"
)

// runConfig is one measured run of one workload against one target.
type runConfig struct {
	Workload string
	Clients  int           // closed loop: concurrent customers; open loop: most in flight
	Duration time.Duration // the run ends then, or when the event is sold out
	Profile  []step        // open loop when set: the arrival rate over time
	Timeout  time.Duration // per attempt
	Seed     uint64
	Progress io.Writer // live lines every second; nil for none
	Label    string    // names the run in progress lines
	// OnSuccess, if set, is told when each successful attempt returned.
	OnSuccess func(time.Time)
}

// step is a stretch of an open-loop profile: Rate arrivals per second for Len.
type step struct {
	Rate float64
	Len  time.Duration
}

// load runs cfg against t on the event prepared in v, and returns its stats.
// The run ends when cfg.Duration has passed or the event looks sold out;
// then no call starts, but the calls in flight are not cut off: each
// finishes within cfg.Timeout of its start and is counted, as its
// outcome decides what the audit must find stored. Only ctx ending (the
// command stopped) cuts calls off, and those count as unknown outcomes.
func load(ctx context.Context, t Target, event string, v *venue, cfg runConfig) *stats {
	st := newStats()
	runCtx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	stopProgress := startProgress(st, v, cfg)
	defer stopProgress()

	// Keys must be new in every run, also against servers that served
	// earlier runs: a key reused with another request is refused.
	run := fmt.Sprintf("%s-%08x", strings.ReplaceAll(cfg.Label, " ", "-"), rand.Uint32())
	customers := make(chan *customer, cfg.Clients)
	for i := range cfg.Clients {
		customers <- newCustomer(v, run, i, cfg.Seed)
	}
	reads := isRead(cfg.Workload)
	attempt := func(c *customer, began time.Time) bool {
		a, ok := c.next()
		if !ok && !reads {
			cancel() // sold out
			return false
		}
		actx, acancel := context.WithTimeout(ctx, cfg.Timeout)
		err := do(actx, t, event, cfg.Workload, a)
		acancel()
		if runCtx.Err() != nil {
			st.drained.Add(1)
		}
		key := a.Key
		if reads {
			key = ""
		}
		st.done(began, key, err, ctx.Err() != nil)
		if errors.Is(err, ErrConflict) {
			c.conflicted(err)
		}
		if err != nil {
			return true
		}
		if cfg.OnSuccess != nil {
			cfg.OnSuccess(time.Now())
		}
		if reads {
			st.reads.Add(1)
			return true
		}
		c.sold(a)
		st.bookings.Add(1)
		st.tickets.Add(a.tickets())
		st.noteWindow(v)
		if v.done() {
			cancel()
		}
		return true
	}
	var wg sync.WaitGroup
	if len(cfg.Profile) == 0 {
		for range cfg.Clients {
			c := <-customers
			wg.Go(func() {
				// ctx too: a cancelled parent closes its Done before it
				// cancels runCtx, and an attempt started in between was
				// never sent yet counted as an unknown outcome (seen as a
				// fourth unknown of three clients in
				// TestLoadInterruptedCountsUnknown).
				for ctx.Err() == nil && runCtx.Err() == nil && attempt(c, time.Now()) {
				}
			})
		}
	} else {
		openLoop(runCtx, cfg.Profile, customers, &wg, attempt)
	}
	wg.Wait()
	return st
}

// openLoop starts one attempt per scheduled arrival, each by an idle
// customer. Latency counts from the scheduled time, so when every customer
// is busy the wait for one is part of the latency rather than hidden.
func openLoop(ctx context.Context, profile []step, customers chan *customer, wg *sync.WaitGroup, attempt func(*customer, time.Time) bool) {
	start := time.Now()
	next := start
	stepEnd := start
	for _, s := range profile {
		stepEnd = stepEnd.Add(s.Len)
		gap := time.Duration(float64(time.Second) / s.Rate)
		for ; next.Before(stepEnd); next = next.Add(gap) {
			if d := time.Until(next); d > 0 {
				select {
				case <-ctx.Done():
					return
				case <-time.After(d):
				}
			}
			var c *customer
			select {
			case <-ctx.Done():
				return
			case c = <-customers:
			}
			began := next
			wg.Go(func() {
				attempt(c, began)
				customers <- c
			})
		}
	}
	<-ctx.Done()
}

// do makes one attempt of the workload.
func do(ctx context.Context, t Target, event, workload string, a Attempt) error {
	switch workload {
	case workloadGA, workloadSeats, workloadOrder:
		return t.Book(ctx, event, a)
	case workloadHoldConfirm:
		hold, err := t.Hold(ctx, event, a)
		if err != nil {
			return err
		}
		return t.Confirm(ctx, event, hold, a)
	case workloadBrowse:
		return t.Browse(ctx, event, false)
	case workloadBrowseLinear:
		return t.Browse(ctx, event, true)
	}
	return fmt.Errorf("unknown workload %q", workload)
}

// startProgress prints a line a second until stopped.
func startProgress(st *stats, v *venue, cfg runConfig) func() {
	if cfg.Progress == nil {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		prevLat := st.latency.snapshot()
		prevAttempts, prevBookings, prevReads := int64(0), int64(0), int64(0)
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			lat := st.latency.snapshot()
			attempts, bookings, reads := st.attempts.Load(), st.bookings.Load(), st.reads.Load()
			fmt.Fprintf(cfg.Progress, "%5.0fs %-28s ok/s %7d  attempts/s %7d  conflicts %8d  errors %6d  p99 %8s  sold %s\n",
				time.Since(st.start).Seconds(), cfg.Label,
				bookings-prevBookings+reads-prevReads, attempts-prevAttempts,
				st.conflicts.Load(), st.errorTotal(), lat.minus(prevLat).quantile(0.99).Round(10*time.Microsecond), v.soldShare())
			prevLat, prevAttempts, prevBookings, prevReads = lat, attempts, bookings, reads
		}
	})
	return func() { close(done); wg.Wait() }
}
