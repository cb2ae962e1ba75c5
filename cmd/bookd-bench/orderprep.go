package main

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/bookd/bookd/client"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
)

// adminClient is the client a bookd target sets events up and audits
// them with, in every client mode; ok is false for other systems.
func adminClient(t Target) (c *client.Client, ok bool) {
	switch t := t.(type) {
	case *bookdTarget:
		return t.clients[0], true
	case *connectTarget:
		return t.admin.clients[0], true
	case *edgeTarget:
		return t.cluster, true
	}
	return nil, false
}

// prepare creates the tours' events, with their categories, and the
// run's vouchers, valid for those events, on bookd through t, and returns
// the first event's id (for warming the connections up). Voucher codes
// end in a suffix of the run, so that runs against one cluster do not
// share them.
func (s *tourSet) prepare(ctx context.Context, t Target) (string, error) {
	c, ok := adminClient(t)
	if !ok {
		return "", fmt.Errorf("the %s workload runs against bookd only, not %s", workloadOrder, t.Name())
	}
	var ids []string
	for _, e := range s.events() {
		ev, err := c.CreateEvent(ctx, &bookdv1.CreateEventRequest{
			Name: e.name, Capacity: e.capacity, TimeZone: "Europe/Vienna", IdempotencyKey: client.NewIdempotencyKey(),
			Categories: e.categories(),
		})
		if err != nil {
			return "", fmt.Errorf("create event %s: %w", e.name, err)
		}
		e.id = ev.GetId()
		s.byID[e.id] = e
		ids = append(ids, e.id)
	}
	suffix := fmt.Sprintf("%08x", rand.Uint32())
	for i := range s.vouchers {
		v := &s.vouchers[i]
		v.code = v.name + "-" + suffix
		_, err := c.CreateVoucher(ctx, &bookdv1.CreateVoucherRequest{Voucher: &bookdv1.Voucher{
			Code: v.code, PercentOff: v.percentOff, MaxRedemptions: v.maxRedemptions, EventIds: ids,
		}})
		if err != nil {
			return "", fmt.Errorf("create voucher %s: %w", v.code, err)
		}
	}
	if et, ok := t.(*edgeTarget); ok && et.stopProbe == nil {
		et.startProbe(ids[0])
	}
	return ids[0], nil
}
