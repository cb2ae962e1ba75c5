package main

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/bookd/bookd/rpc/clustertest"
)

// The order workload against a real 3-node bookd (in this process), in
// each way the load generator calls it: the tours sell out without
// errors, every acknowledged order is stored as asked and priced right,
// and no tier, category, event or voucher is sold past its limit.
func TestOrderLoadAgainstBookd(t *testing.T) {
	c := clustertest.Start(t, 3, clustertest.Options{})
	c.WaitReady()
	modes := []struct {
		name string
		opts bookdClientOptions
		edge bool
	}{
		{"batch", bookdClientOptions{Batch: 64, Edges: 2}, false},
		{"client", bookdClientOptions{}, false},
		{"connect", bookdClientOptions{Connect: true}, false},
		{"edge", bookdClientOptions{}, true},
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			var srv Servers
			srv, err := newExternalBookd(c.Endpoints(), "", m.opts)
			if err != nil {
				t.Fatal(err)
			}
			if m.edge {
				if srv, err = withEdge(srv, edgeOptions{Enabled: true, Report: io.Discard, Batch: 64}); err != nil {
					t.Fatal(err)
				}
			}
			v := newOrderVenue(2, 60)
			v.tours.vouchers[len(v.tours.vouchers)-1].maxRedemptions = 1 // the limited voucher: soon used up
			r, err := runOne(context.Background(), "bookd/"+m.name, srv,
				runConfig{Workload: workloadOrder, Clients: 16, Duration: 60 * time.Second, Timeout: 10 * time.Second, Seed: 7}, v)
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Errors) > 0 || r.Unknown > 0 {
				t.Errorf("errors %v, unknown outcomes %d", r.Errors, r.Unknown)
			}
			if !v.soldOut() {
				t.Errorf("the run ended with %s sold, not sold out", v.soldShare())
			}
			if r.auditFailed() || r.Orders == nil {
				t.Fatalf("audit: %s", r.auditText())
			}
			t.Logf("%d orders, %d conflicts; audit: %s", r.Bookings, r.Conflicts, r.auditText())
			if o := r.Orders; o.Orders != r.Bookings || o.Tickets != r.Tickets || o.EarlyBird == 0 || o.Items < 2*o.Orders {
				t.Errorf("stored %d orders (%d items) of %d tickets, %d early-bird; want the %d orders of %d tickets acknowledged, 2-3 items each, some early-bird",
					o.Orders, o.Items, o.Tickets, o.EarlyBird, r.Bookings, r.Tickets)
			}
		})
	}
}
