package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/bookd/bookd/cmd/bookd-chaos/history"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/proto/bookd/v1/bookdv1connect"
)

// chaosClient is one customer: it holds, pays or walks away, books,
// cancels and looks at availability, one thing at a time.
type chaosClient struct {
	w        *workload
	id       int
	rnd      *rand.Rand
	home     int
	bookings []ownBooking
	n        int
}

type ownBooking struct {
	id      string
	counter history.Input // the counter the booking is on
}

func (c *chaosClient) run(ctx context.Context) {
	for ctx.Err() == nil {
		evs := c.w.current()
		ev := evs[c.rnd.IntN(len(evs))]
		c.home = c.rnd.IntN(16)
		switch r := c.rnd.Float64(); {
		case r < 0.35:
			c.holdAndDecide(ctx, ev)
		case r < 0.50:
			c.book(ctx, ev)
		case r < 0.60 && len(c.bookings) > 0:
			c.cancel(ctx)
		default:
			c.read(ctx, ev)
		}
		sleep(ctx, time.Duration(c.rnd.IntN(10))*time.Millisecond)
	}
}

// counter picks what to claim: a seat, or 1–2 places.
func (c *chaosClient) counter(ev eventInfo, kind history.Kind) (history.Input, []string) {
	in := history.Input{Kind: kind, Counter: ev.id, Capacity: ev.cap, Qty: 1}
	if len(ev.seats) > 0 {
		seat := ev.seats[c.rnd.IntN(len(ev.seats))]
		in.Counter = ev.id + "/" + seat
		return in, []string{seat}
	}
	in.Qty = 1 + int64(c.rnd.IntN(2))
	return in, nil
}

func (c *chaosClient) key() string {
	c.n++
	return fmt.Sprintf("chaos-c%d-%d", c.id, c.n)
}

// write runs one write and records it; out is definite when ok.
func (c *chaosClient) write(ctx context.Context, in history.Input, m mutation) (history.Output, bool) {
	in.Seq = c.w.rec.nextSeq()
	in.Call = time.Now().UnixNano()
	out, ok, err := attempt(ctx, c.w.nc, c.rnd, c.w.nodes(), c.home, opBudget, m)
	switch {
	case err != nil:
		c.w.rec.fail("client %d: %v: %v", c.id, in, err)
	case ok:
		c.w.rec.add(c.id, in, out)
	default:
		c.w.rec.addPending(c.id, in, m)
	}
	return out, ok && err == nil
}

func (c *chaosClient) holdAndDecide(ctx context.Context, ev eventInfo) {
	in, seats := c.counter(ev, history.Hold)
	life := time.Second + time.Duration(c.rnd.IntN(1000))*time.Millisecond
	in.TTL = life.Nanoseconds()
	req := &bookdv1.HoldRequest{EventId: ev.id, CustomerId: fmt.Sprintf("c%d", c.id), Ttl: ttl(life), IdempotencyKey: c.key()}
	if seats != nil {
		req.Seats = seats
	} else {
		req.Quantity = in.Qty
	}
	out, ok := c.write(ctx, in, func(ctx context.Context, b bookdv1connect.BookingServiceClient) (history.Output, error) {
		resp, err := b.Hold(ctx, req)
		h := resp.GetHold()
		return history.Output{ID: h.GetId(), Expires: h.GetExpiresAt().AsTime().UnixNano()}, err
	})
	if !ok || out.Result != history.OK {
		return
	}
	// Pay quickly or slowly (sometimes too late), release, or walk away.
	think := time.Duration(c.rnd.IntN(300)) * time.Millisecond
	if c.rnd.IntN(5) < 2 {
		think = time.Duration(c.rnd.Int64N(int64(life) * 5 / 4))
	}
	sleep(ctx, think)
	ref := history.Input{Counter: in.Counter, Capacity: in.Capacity, Ref: out.ID}
	switch r := c.rnd.Float64(); {
	case r < 0.55:
		ref.Kind = history.Confirm
		req := &bookdv1.ConfirmRequest{HoldId: out.ID, PaymentRef: "pay-" + out.ID, IdempotencyKey: c.key()}
		bo, ok := c.write(ctx, ref, func(ctx context.Context, b bookdv1connect.BookingServiceClient) (history.Output, error) {
			resp, err := b.Confirm(ctx, req)
			return history.Output{ID: resp.GetBooking().GetId()}, err
		})
		if ok && bo.Result == history.OK {
			c.bookings = append(c.bookings, ownBooking{id: bo.ID, counter: ref})
		}
	case r < 0.75:
		ref.Kind = history.Release
		req := &bookdv1.ReleaseHoldRequest{HoldId: out.ID, IdempotencyKey: c.key()}
		c.write(ctx, ref, func(ctx context.Context, b bookdv1connect.BookingServiceClient) (history.Output, error) {
			_, err := b.ReleaseHold(ctx, req)
			return history.Output{}, err
		})
	}
}

func (c *chaosClient) book(ctx context.Context, ev eventInfo) {
	in, seats := c.counter(ev, history.Book)
	req := &bookdv1.BookRequest{EventId: ev.id, CustomerId: fmt.Sprintf("c%d", c.id), IdempotencyKey: c.key(), PaymentRef: "direct"}
	if seats != nil {
		req.Seats = seats
	} else {
		req.Quantity = in.Qty
	}
	out, ok := c.write(ctx, in, func(ctx context.Context, b bookdv1connect.BookingServiceClient) (history.Output, error) {
		resp, err := b.Book(ctx, req)
		return history.Output{ID: resp.GetBooking().GetId()}, err
	})
	if ok && out.Result == history.OK {
		c.bookings = append(c.bookings, ownBooking{id: out.ID, counter: in})
	}
}

func (c *chaosClient) cancel(ctx context.Context) {
	i := c.rnd.IntN(len(c.bookings))
	bk := c.bookings[i]
	c.bookings = append(c.bookings[:i], c.bookings[i+1:]...)
	in := history.Input{Kind: history.Cancel, Counter: bk.counter.Counter, Capacity: bk.counter.Capacity, Ref: bk.id}
	req := &bookdv1.CancelBookingRequest{BookingId: bk.id, IdempotencyKey: c.key()}
	c.write(ctx, in, func(ctx context.Context, b bookdv1connect.BookingServiceClient) (history.Output, error) {
		_, err := b.CancelBooking(ctx, req)
		return history.Output{}, err
	})
}

// read observes an event with a linearizable read on one node, and records
// what it saw of each counter. A read that fails changed nothing: it is
// left out of the history.
func (c *chaosClient) read(ctx context.Context, ev eventInfo) {
	nodes := c.w.nodes()
	call := time.Now().UnixNano()
	cctx, cancel := context.WithTimeout(ctx, time.Second)
	resp, err := c.w.nc.booking(nodes[c.home%len(nodes)]).GetAvailability(cctx, &bookdv1.GetAvailabilityRequest{
		EventId: ev.id, Read: &bookdv1.ReadOptions{Consistency: bookdv1.Consistency_CONSISTENCY_LINEARIZABLE},
	})
	cancel()
	ret := time.Now().UnixNano()
	if err != nil {
		if a, _ := classify(err); a == answerUnexpected {
			c.w.rec.fail("client %d: read %s: %v", c.id, ev.id, err)
		}
		return
	}
	if len(ev.seats) == 0 {
		in := history.Input{Seq: c.w.rec.nextSeq(), Kind: history.Read, Counter: ev.id, Capacity: ev.cap, Call: call}
		c.w.rec.add(c.id, in, history.Output{Result: history.OK, Available: resp.GetAvailableQuantity(), Return: ret})
		return
	}
	free := map[string]bool{}
	for _, s := range resp.GetFreeSeats() {
		free[s] = true
	}
	for _, s := range ev.seats {
		in := history.Input{Seq: c.w.rec.nextSeq(), Kind: history.Read, Counter: ev.id + "/" + s, Capacity: 1, Call: call}
		out := history.Output{Result: history.OK, Return: ret}
		if free[s] {
			out.Available = 1
		}
		c.w.rec.add(c.id, in, out)
	}
}
