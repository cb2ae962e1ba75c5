package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/bookd/bookd/rpc/clustertest"
)

// The load runner against a real 3-node bookd (in this process): every
// workload sells what it can, nothing more, and the audit finds exactly what
// the runner counted as booked.
func TestLoadAgainstBookd(t *testing.T) {
	c := clustertest.Start(t, 3, clustertest.Options{})
	c.WaitReady()
	var eps []string
	for _, n := range c.Nodes {
		eps = append(eps, n.RPCAddr)
	}
	tests := []struct {
		workload string
		venue    func() *venue
		clients  int
		batch    int
		connect  bool
	}{
		{workloadGA, func() *venue { return newGAVenue(300) }, 32, 64, false},
		{workloadSeats, func() *venue { return newSeatedVenue(4, 20, 1.5) }, 32, 64, false},
		{workloadHoldConfirm, func() *venue { return newGAVenue(120) }, 16, 64, false},
		{workloadHoldConfirm, func() *venue { return newGAVenue(120) }, 16, 0, true},
		{workloadGA, func() *venue { return newGAVenue(100) }, 16, 0, false}, // no batching
		{workloadSeats, func() *venue { return newSeatedVenue(4, 20, 1.5) }, 16, 0, true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/batch=%d/connect=%v", tt.workload, tt.batch, tt.connect), func(t *testing.T) {
			target, err := connectBookd(eps, tt.clients, bookdClientOptions{Batch: tt.batch, Edges: 2, Connect: tt.connect})
			if err != nil {
				t.Fatal(err)
			}
			defer target.Close()
			ctx := context.Background()
			v := tt.venue()
			event, err := target.Prepare(ctx, v.inv)
			if err != nil {
				t.Fatal(err)
			}
			st := load(ctx, target, event, v, runConfig{Workload: tt.workload, Clients: tt.clients,
				Duration: 30 * time.Second, Timeout: 10 * time.Second, Seed: 7, Label: tt.workload})
			if n := st.errorTotal(); n > 0 {
				t.Errorf("%d errors: %v", n, st.errorCounts())
			}
			if !v.soldOut() {
				t.Errorf("the run ended with %s sold, not sold out", v.soldShare())
			}
			a, err := target.Audit(ctx, event, v.inv)
			if err != nil {
				t.Fatal(err)
			}
			if a.Oversold != 0 || a.DoubleSold != 0 || a.CounterDiffers {
				t.Errorf("audit: %+v", a)
			}
			if rec := st.ledger.reconcile(a.Keys); !rec.ok() || rec.Acknowledged != st.bookings.Load() {
				t.Errorf("stored against acknowledged: %+v, %d bookings counted", rec, st.bookings.Load())
			}
			// Every acknowledged booking is stored. GA runs end when the
			// acknowledged tickets reach the capacity, so nothing in flight
			// can add one; a seated run ends when every seat looks taken, and
			// a claim cut off then may still have booked a seat.
			if a.Bookings < st.bookings.Load() || a.Tickets < st.tickets.Load() {
				t.Errorf("stored %d bookings of %d tickets, fewer than the %d of %d acknowledged",
					a.Bookings, a.Tickets, st.bookings.Load(), st.tickets.Load())
			}
			if !v.seated() && (a.Bookings != st.bookings.Load() || a.Tickets != v.inv.Capacity) {
				t.Errorf("stored %d bookings of %d tickets, want the %d acknowledged, of all %d tickets",
					a.Bookings, a.Tickets, st.bookings.Load(), v.inv.Capacity)
			}
		})
	}
}
