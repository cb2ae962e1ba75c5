package main

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/bookd/bookd/cmd/bookd-chaos/history"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/proto/bookd/v1/bookdv1connect"
)

// chaosClient is one customer: it holds, pays or walks away, books,
// cancels and looks at availability. Customers with an even id make one
// call per write, one thing at a time; the others send their writes in
// batches (batchclient.go).
type chaosClient struct {
	w         *workload
	id        int
	rnd       *rand.Rand
	home      int
	bookings  []ownBooking
	decisions []decision // batched customers: what to do with holds, and when
	n         int
}

type ownBooking struct {
	id      string
	counter history.Input // the counter the booking is on
}

func (c *chaosClient) run(ctx context.Context) {
	if batchedClient(c.id) {
		c.runBatched(ctx)
		return
	}
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
	in, req := c.holdReq(ev)
	out, ok := c.write(ctx, in, func(ctx context.Context, b bookdv1connect.BookingServiceClient) (history.Output, error) {
		resp, err := b.Hold(ctx, req)
		return holdOutput(resp), err
	})
	if !ok || out.Result != history.OK {
		return
	}
	kind, think := c.decideLater(in)
	sleep(ctx, think)
	switch kind {
	case history.Confirm:
		ref := c.onHold(kind, in, out.ID)
		req := confirmReq(ref)
		bo, ok := c.write(ctx, ref, func(ctx context.Context, b bookdv1connect.BookingServiceClient) (history.Output, error) {
			resp, err := b.Confirm(ctx, req)
			return bookingOutput(resp.GetBooking()), err
		})
		if ok && bo.Result == history.OK {
			c.bookings = append(c.bookings, ownBooking{id: bo.ID, counter: ref})
		}
	case history.Release:
		ref := c.onHold(kind, in, out.ID)
		req := releaseReq(ref)
		c.write(ctx, ref, func(ctx context.Context, b bookdv1connect.BookingServiceClient) (history.Output, error) {
			_, err := b.ReleaseHold(ctx, req)
			return history.Output{}, err
		})
	}
}

func (c *chaosClient) book(ctx context.Context, ev eventInfo) {
	in, req := c.bookReq(ev)
	out, ok := c.write(ctx, in, func(ctx context.Context, b bookdv1connect.BookingServiceClient) (history.Output, error) {
		resp, err := b.Book(ctx, req)
		return bookingOutput(resp.GetBooking()), err
	})
	if ok && out.Result == history.OK {
		c.bookings = append(c.bookings, ownBooking{id: out.ID, counter: in})
	}
}

func (c *chaosClient) cancel(ctx context.Context) {
	in, req := c.cancelReq(c.takeBooking(c.rnd.IntN(len(c.bookings))))
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
