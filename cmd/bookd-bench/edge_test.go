package main

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/bookd/bookd/rpc/clustertest"
)

// The load runner through an edge in front of a real 3-node bookd: the
// customers hold then confirm through the edge and sell out without errors;
// with a per-event rate on the edge, the excess is refused as overloaded and
// nothing else goes wrong; the audit is clean either way.
func TestLoadThroughEdge(t *testing.T) {
	c := clustertest.Start(t, 3, clustertest.Options{})
	c.WaitReady()
	ext, err := newExternalBookd(c.Endpoints(), "", bookdClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		workload  string
		venue     func() *venue
		eventRate float64
	}{
		{"seats", workloadSeats, func() *venue { return newSeatedVenue(4, 20, 1.5) }, 0},
		{"ga", workloadGA, func() *venue { return newGAVenue(200) }, 0},
		{"ga rate limited", workloadGA, func() *venue { return newGAVenue(200) }, 40}, // ~80 holds: twice the burst
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, err := withEdge(ext, edgeOptions{Enabled: true, EventRate: tt.eventRate, Report: io.Discard, Batch: 64})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			target, err := srv.Connect(ctx, 32)
			if err != nil {
				t.Fatal(err)
			}
			defer target.Close()
			v := tt.venue()
			event, err := target.Prepare(ctx, v.inv)
			if err != nil {
				t.Fatal(err)
			}
			st := load(ctx, target, event, v, runConfig{Workload: tt.workload, Clients: 32,
				Duration: 60 * time.Second, Timeout: 10 * time.Second, Seed: 7, Label: tt.name})
			errs := st.errorCounts()
			shed := errs["resource_exhausted"]
			delete(errs, "resource_exhausted")
			if len(errs) > 0 {
				t.Errorf("errors: %v", errs)
			}
			if tt.eventRate == 0 && shed > 0 {
				t.Errorf("%d calls refused as overloaded with no limit set", shed)
			}
			if tt.eventRate > 0 && shed == 0 {
				t.Errorf("32 customers at a %v/s event rate were never refused", tt.eventRate)
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
		})
	}
}
