package main

import (
	"context"
	"time"

	"github.com/bookd/bookd/cmd/bookd-chaos/history"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
)

// maxBatch bounds the writes of one BatchWrite call of a batched customer.
const maxBatch = 4

// batchedClient reports whether customer id sends its writes through
// BatchWrite (odd ids) rather than one call per write.
func batchedClient(id int) bool { return id%2 == 1 }

// decision is what a batched customer will do with a hold it got (Confirm
// or Release), once its think time has passed.
type decision struct {
	kind history.Kind
	hold history.Input
	id   string
	at   time.Time
}

// runBatched is the life of a customer whose writes go through BatchWrite.
// Each round it reads, or sends one batch of 1..maxBatch writes on
// different counters: first the decisions on its holds that are due, then
// new holds, bookings and cancellations. A hold is decided in a later
// round, after its think time, so that payments share calls with claims.
func (c *chaosClient) runBatched(ctx context.Context) {
	for ctx.Err() == nil {
		c.home = c.rnd.IntN(16)
		if c.rnd.Float64() < 0.4 {
			evs := c.w.current()
			c.read(ctx, evs[c.rnd.IntN(len(evs))])
		} else {
			c.sendBatch(ctx, c.nextBatch())
		}
		sleep(ctx, time.Duration(c.rnd.IntN(10))*time.Millisecond)
	}
}

// nextBatch picks the writes of the next batch, at most one per counter.
func (c *chaosClient) nextBatch() []*batchedWrite {
	n := 1 + c.rnd.IntN(maxBatch)
	var ws []*batchedWrite
	used := map[string]bool{}
	add := func(bw *batchedWrite) {
		used[bw.in.Counter] = true
		ws = append(ws, bw)
	}
	now := time.Now()
	kept := c.decisions[:0]
	for _, d := range c.decisions {
		if len(ws) < n && !d.at.After(now) && !used[d.hold.Counter] {
			add(c.decide(d))
		} else {
			kept = append(kept, d)
		}
	}
	c.decisions = kept
	evs := c.w.current()
	for tries := 0; len(ws) < n && tries < 2*maxBatch; tries++ {
		ev := evs[c.rnd.IntN(len(evs))]
		var bw *batchedWrite
		switch r := c.rnd.Float64(); {
		case r < 0.6:
			bw = c.batchedHold(ev)
		case r < 0.85 || len(c.bookings) == 0:
			bw = c.batchedBook(ev)
		default:
			if i := c.rnd.IntN(len(c.bookings)); !used[c.bookings[i].counter.Counter] {
				bw = c.batchedCancel(i)
			}
		}
		if bw != nil && !used[bw.in.Counter] {
			add(bw)
		}
	}
	return ws
}

// sendBatch sends ws in one call (and retries) and records each write as
// its own operation: all called together, each returning when its answer
// came. Writes left without one are pending, resent alone and unmarked.
func (c *chaosClient) sendBatch(ctx context.Context, ws []*batchedWrite) {
	if len(ws) == 0 {
		return
	}
	for _, bw := range ws {
		bw.in.Seq = c.w.rec.nextSeq()
	}
	call := time.Now().UnixNano()
	for _, bw := range ws {
		bw.in.Call = call
	}
	c.w.batches.Add(1)
	for i, a := range attemptBatch(ctx, c.w.nc, c.rnd, c.w.nodes(), c.home, opBudget, ws) {
		bw := ws[i]
		switch {
		case a.err != nil:
			c.w.rec.fail("client %d: %v (batched): %v", c.id, bw.in, a.err)
		case a.ok:
			c.w.rec.add(c.id, bw.in, a.out)
			if a.out.Result == history.OK && bw.onOK != nil {
				bw.onOK(a.out)
			}
		default:
			c.w.rec.addPending(c.id, bw.in, bw.resend())
		}
	}
}

func (c *chaosClient) batchedHold(ev eventInfo) *batchedWrite {
	in, req := c.holdReq(ev)
	return &batchedWrite{
		in: in, w: &bookdv1.Write{Op: &bookdv1.Write_Hold{Hold: req}},
		pick: func(r *bookdv1.WriteResult) (history.Output, bool) {
			return holdOutput(r.GetHold()), r.GetHold() != nil
		},
		onOK: func(out history.Output) {
			if kind, think := c.decideLater(in); kind != 0 {
				c.decisions = append(c.decisions, decision{kind: kind, hold: in, id: out.ID, at: time.Now().Add(think)})
			}
		},
	}
}

func (c *chaosClient) batchedBook(ev eventInfo) *batchedWrite {
	in, req := c.bookReq(ev)
	return &batchedWrite{
		in: in, w: &bookdv1.Write{Op: &bookdv1.Write_Book{Book: req}},
		pick: func(r *bookdv1.WriteResult) (history.Output, bool) {
			return bookingOutput(r.GetBook().GetBooking()), r.GetBook() != nil
		},
		onOK: func(out history.Output) { c.bookings = append(c.bookings, ownBooking{id: out.ID, counter: in}) },
	}
}

// batchedCancel cancels the customer's i-th booking.
func (c *chaosClient) batchedCancel(i int) *batchedWrite {
	in, req := c.cancelReq(c.takeBooking(i))
	return &batchedWrite{
		in: in, w: &bookdv1.Write{Op: &bookdv1.Write_CancelBooking{CancelBooking: req}},
		pick: func(r *bookdv1.WriteResult) (history.Output, bool) {
			return history.Output{}, r.GetCancelBooking() != nil
		},
	}
}

// decide is the write that carries out decision d.
func (c *chaosClient) decide(d decision) *batchedWrite {
	in := c.onHold(d.kind, d.hold, d.id)
	if d.kind == history.Release {
		return &batchedWrite{
			in: in, w: &bookdv1.Write{Op: &bookdv1.Write_ReleaseHold{ReleaseHold: releaseReq(in)}},
			pick: func(r *bookdv1.WriteResult) (history.Output, bool) {
				return history.Output{}, r.GetReleaseHold() != nil
			},
		}
	}
	return &batchedWrite{
		in: in, w: &bookdv1.Write{Op: &bookdv1.Write_Confirm{Confirm: confirmReq(in)}},
		pick: func(r *bookdv1.WriteResult) (history.Output, bool) {
			return bookingOutput(r.GetConfirm().GetBooking()), r.GetConfirm() != nil
		},
		onOK: func(out history.Output) { c.bookings = append(c.bookings, ownBooking{id: out.ID, counter: in}) },
	}
}
