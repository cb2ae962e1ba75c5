package main

import (
	"context"
	"fmt"
	"time"

	"github.com/bookd/bookd/client"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
)

// orderReading is what the order audit read back from bookd after a run.
type orderReading struct {
	// bookings are the confirmed bookings of the run's events, each once.
	bookings []*bookdv1.Booking
	// avail is each event's availability, by event id.
	avail map[string]*bookdv1.GetAvailabilityResponse
	// vouchers are the run's vouchers, by code.
	vouchers map[string]*bookdv1.Voucher
	// listed counts, per event, the confirmed bookings ListBookings of
	// that event returned (an order is on several events).
	listed map[string]int64
}

// audit reads back everything stored for the tours (linearizably) and
// checks it (see check). Calls still in flight when a run ends may commit
// meanwhile, so the events' counters are read before and after the
// bookings, and the reading is repeated until they agree.
func (s *tourSet) audit(ctx context.Context, t Target) (Audit, *orderAudit, error) {
	c, ok := adminClient(t)
	if !ok {
		return Audit{}, nil, fmt.Errorf("the %s workload runs against bookd only, not %s", workloadOrder, t.Name())
	}
	for attempt := 1; ; attempt++ {
		before, err := s.readAvailability(ctx, c)
		if err != nil {
			return Audit{}, nil, err
		}
		rd := orderReading{avail: before}
		if err := s.readBookings(ctx, c, &rd); err != nil {
			return Audit{}, nil, err
		}
		after, err := s.readAvailability(ctx, c)
		if err != nil {
			return Audit{}, nil, err
		}
		if !sameCounters(before, after) && attempt < 20 {
			time.Sleep(100 * time.Millisecond) // still moving
			continue
		}
		rd.avail = after
		if rd.vouchers, err = s.readVouchers(ctx, c); err != nil {
			return Audit{}, nil, err
		}
		a, o := s.check(rd)
		return a, o, nil
	}
}

func (s *tourSet) readAvailability(ctx context.Context, c *client.Client) (map[string]*bookdv1.GetAvailabilityResponse, error) {
	out := map[string]*bookdv1.GetAvailabilityResponse{}
	for _, e := range s.events() {
		av, err := c.Availability(ctx, e.id)
		if err != nil {
			return nil, fmt.Errorf("availability of %s: %w", e.id, err)
		}
		out[e.id] = av
	}
	return out, nil
}

// sameCounters reports whether two readings of the events' availability
// have the same tickets held and booked, per event and category.
func sameCounters(a, b map[string]*bookdv1.GetAvailabilityResponse) bool {
	for id, x := range a {
		y := b[id]
		if x.GetHeldQuantity() != y.GetHeldQuantity() || x.GetBookedQuantity() != y.GetBookedQuantity() ||
			len(x.GetCategories()) != len(y.GetCategories()) {
			return false
		}
		for i, cx := range x.GetCategories() {
			cy := y.GetCategories()[i]
			if cx.GetHeld() != cy.GetHeld() || cx.GetBooked() != cy.GetBooked() {
				return false
			}
		}
	}
	return true
}

// readBookings lists the bookings of every event of the run and keeps the
// confirmed ones, each once (an order is listed under each of its
// events), counting per event the ones listed.
func (s *tourSet) readBookings(ctx context.Context, c *client.Client, rd *orderReading) error {
	seen := map[string]bool{}
	rd.listed = map[string]int64{}
	for _, e := range s.events() {
		token := ""
		for {
			page, err := c.ListBookings(ctx, &bookdv1.ListBookingsRequest{EventId: e.id, PageSize: 1000, PageToken: token})
			if err != nil {
				return fmt.Errorf("list bookings of %s: %w", e.id, err)
			}
			for _, b := range page.GetBookings() {
				if b.GetStatus() != bookdv1.BookingStatus_BOOKING_STATUS_CONFIRMED {
					continue
				}
				rd.listed[e.id]++
				if seen[b.GetId()] {
					continue
				}
				seen[b.GetId()] = true
				rd.bookings = append(rd.bookings, b)
			}
			if token = page.GetNextPageToken(); token == "" {
				break
			}
		}
	}
	return nil
}

func (s *tourSet) readVouchers(ctx context.Context, c *client.Client) (map[string]*bookdv1.Voucher, error) {
	out := map[string]*bookdv1.Voucher{}
	for _, v := range s.vouchers {
		got, err := c.GetVoucher(ctx, v.code)
		if err != nil {
			return nil, fmt.Errorf("voucher %s: %w", v.code, err)
		}
		out[v.code] = got
	}
	return out, nil
}
