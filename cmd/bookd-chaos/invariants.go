package main

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/bookd/bookd/cmd/bookd-chaos/history"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/proto/bookd/v1/bookdv1connect"
)

// acked is what the history says the cluster acknowledged.
type acked struct {
	holds     map[string]bool
	bookings  map[string]string // id → counter
	cancelled map[string]bool
	released  map[string]bool
	events    map[string]bool
}

func acknowledged(ops []history.Op) acked {
	a := acked{holds: map[string]bool{}, bookings: map[string]string{}, cancelled: map[string]bool{}, released: map[string]bool{}, events: map[string]bool{}}
	for _, op := range ops {
		if op.Out.Result != history.OK {
			continue
		}
		switch op.In.Kind {
		case history.Hold:
			a.holds[op.Out.ID] = true
		case history.Book, history.Confirm:
			a.bookings[op.Out.ID] = op.In.Counter
		case history.Cancel:
			a.cancelled[op.In.Ref] = true
		case history.Release:
			a.released[op.In.Ref] = true
		}
	}
	return a
}

// converge waits until every node has applied the same commands and holds an
// identical state, and returns that state's digest.
func converge(ctx context.Context, nc *nodeClients, nodes []string, within time.Duration) (uint64, []byte, error) {
	deadline := time.Now().Add(within)
	var last string
	for time.Now().Before(deadline) {
		index, digest, why := digests(ctx, nc, nodes)
		if why == "" {
			return index, digest, nil
		}
		last = why
		sleep(ctx, 200*time.Millisecond)
	}
	return 0, nil, fmt.Errorf("replicas did not converge within %s: %s", within, last)
}

func digests(ctx context.Context, nc *nodeClients, nodes []string) (uint64, []byte, string) {
	var index uint64
	var digest []byte
	for i, addr := range nodes {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		st, err := bookdv1connect.NewClusterServiceClient(nc.http, "http://"+addr).GetStatus(cctx, &bookdv1.GetStatusRequest{IncludeDigest: true})
		cancel()
		if err != nil {
			return 0, nil, fmt.Sprintf("%s: %v", addr, err)
		}
		if i == 0 {
			index, digest = st.GetDigestIndex(), st.GetStateDigest()
			continue
		}
		if st.GetDigestIndex() != index {
			return 0, nil, fmt.Sprintf("%s at index %d, %s at %d", nodes[0], index, addr, st.GetDigestIndex())
		}
		if !bytes.Equal(st.GetStateDigest(), digest) {
			return 0, nil, fmt.Sprintf("DIVERGED: %s and %s differ at index %d", nodes[0], addr, index)
		}
	}
	return index, digest, ""
}

// checkBookings verifies, on every node's own copy (stale reads, after
// convergence), that every acknowledged booking is there in the state the
// history says, and on the leader's view of each event that no seat is sold
// twice and no event is oversold.
func checkBookings(ctx context.Context, nc *nodeClients, nodes []string, a acked, events []eventInfo) []string {
	var bad []string
	local := &bookdv1.ReadOptions{Consistency: bookdv1.Consistency_CONSISTENCY_STALE}
	for _, addr := range nodes {
		c := nc.booking(addr)
		for id := range a.bookings {
			resp, err := c.GetBooking(ctx, &bookdv1.GetBookingRequest{BookingId: id, Read: local})
			if err != nil {
				bad = append(bad, fmt.Sprintf("%s: acknowledged booking %s: %v", addr, id, err))
				continue
			}
			if cancelled := resp.GetBooking().GetStatus() == bookdv1.BookingStatus_BOOKING_STATUS_CANCELLED; cancelled != a.cancelled[id] {
				bad = append(bad, fmt.Sprintf("%s: booking %s cancelled=%v, history says %v", addr, id, cancelled, a.cancelled[id]))
			}
		}
		for _, ev := range events {
			bad = append(bad, checkEvent(ctx, c, addr, ev, local)...)
		}
	}
	return bad
}

// checkEvent checks one event's bookings against its capacity and seats.
func checkEvent(ctx context.Context, c bookdv1connect.BookingServiceClient, addr string, ev eventInfo, read *bookdv1.ReadOptions) []string {
	var bad []string
	seatOwner := map[string]string{}
	var booked int64
	token := ""
	for {
		resp, err := c.ListBookings(ctx, &bookdv1.ListBookingsRequest{EventId: ev.id, PageSize: 1000, PageToken: token, Read: read})
		if err != nil {
			return append(bad, fmt.Sprintf("%s: list bookings of %s: %v", addr, ev.id, err))
		}
		for _, b := range resp.GetBookings() {
			if b.GetStatus() != bookdv1.BookingStatus_BOOKING_STATUS_CONFIRMED {
				continue
			}
			booked += b.GetQuantity()
			for _, s := range b.GetSeats() {
				if other, ok := seatOwner[s]; ok {
					bad = append(bad, fmt.Sprintf("%s: SEAT SOLD TWICE: %s %s by %s and %s", addr, ev.id, s, other, b.GetId()))
				}
				seatOwner[s] = b.GetId()
			}
		}
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
	}
	capacity := ev.cap
	if len(ev.seats) > 0 {
		capacity = int64(len(ev.seats))
	}
	if booked > capacity {
		bad = append(bad, fmt.Sprintf("%s: OVERSOLD: %s has %d booked of %d", addr, ev.id, booked, capacity))
	}
	av, err := c.GetAvailability(ctx, &bookdv1.GetAvailabilityRequest{EventId: ev.id, Read: read})
	if err != nil {
		return append(bad, fmt.Sprintf("%s: availability of %s: %v", addr, ev.id, err))
	}
	counted := av.GetBookedQuantity()
	if len(ev.seats) > 0 {
		counted = av.GetBookedSeats()
	}
	if counted != booked {
		bad = append(bad, fmt.Sprintf("%s: %s counts %d booked but lists %d", addr, ev.id, counted, booked))
	}
	if av.GetAvailableQuantity() < 0 || av.GetHeldQuantity() < 0 {
		bad = append(bad, fmt.Sprintf("%s: %s has negative counts: %+v", addr, ev.id, av))
	}
	return bad
}
