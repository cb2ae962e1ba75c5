package client

import (
	"context"
	"log/slog"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/durationpb"

	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
)

// What a Consume does with the leases it holds: acks batched from many
// handlers, one Ack call out at a time; extensions of the leases of
// handlers still running, all due in one ExtendLease call.

// queueAck adds a lease to the next Ack call.
func (w *worker) queueAck(id string) {
	w.mu.Lock()
	w.acks = append(w.acks, id)
	w.mu.Unlock()
	select {
	case w.ackWake <- struct{}{}:
	default:
	}
}

// takeAcks removes up to maxLeasesPerCall leases from the pending acks.
func (w *worker) takeAcks() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := min(len(w.acks), maxLeasesPerCall)
	batch := w.acks[:n:n]
	w.acks = w.acks[n:]
	return batch
}

// ackLoop sends the pending acks, one Ack call at a time, until ctx ends
// or, once drain is closed, none is left.
func (w *worker) ackLoop(ctx context.Context, drain <-chan struct{}) {
	for attempt := 0; ; {
		batch := w.takeAcks()
		if len(batch) == 0 {
			select {
			case <-w.ackWake:
				continue
			case <-drain:
				if batch = w.takeAcks(); len(batch) == 0 {
					return
				}
			case <-ctx.Done():
				return
			}
		}
		err := w.ack(ctx, batch)
		if err == nil {
			attempt = 0
			continue
		}
		w.mu.Lock()
		w.acks = append(batch, w.acks...)
		w.mu.Unlock()
		attempt++
		if w.pause(ctx, "Ack", attempt, err) != nil {
			return
		}
	}
}

// ack acks a batch of leases; an error means try the batch again.
func (w *worker) ack(ctx context.Context, batch []string) error {
	res, err := w.q.Ack(ctx, &bookdv1.AckRequest{Queue: w.queue, LeaseIds: batch})
	switch {
	case err == nil:
		for _, f := range res.GetFailures() {
			w.leaseLost("Ack", f.GetLeaseId(), f.GetReason(), f.GetMessage())
		}
	case len(batch) == 1 && connect.CodeOf(err) == connect.CodeFailedPrecondition && Reason(err) != "":
		w.leaseLost("Ack", batch[0], Reason(err), err.Error())
	case cannotGoOn(err):
		w.stop(err)
	case ctx.Err() != nil:
		return ctx.Err()
	default:
		return err
	}
	w.release(batch...)
	return nil
}

// extendLoop keeps the leases the worker holds, extending each when less
// than half its visibility is left, until ctx ends.
func (w *worker) extendLoop(ctx context.Context) {
	tick := time.NewTicker(w.opts.Visibility / 4)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		due := w.dueForExtension(time.Now().Add(w.opts.Visibility / 2))
		for len(due) > 0 {
			n := min(len(due), maxLeasesPerCall)
			w.extend(ctx, due[:n])
			due = due[n:]
		}
	}
}

// dueForExtension lists the held leases that end before t.
func (w *worker) dueForExtension(t time.Time) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var due []string
	for id, l := range w.held {
		if l.until.Before(t) {
			due = append(due, id)
		}
	}
	return due
}

// extend extends leases by a visibility period; a lease that cannot be
// extended is lost, and its handler's context cancelled.
func (w *worker) extend(ctx context.Context, ids []string) {
	sent := time.Now()
	res, err := w.q.ExtendLease(ctx, &bookdv1.ExtendLeaseRequest{Queue: w.queue, LeaseIds: ids, Visibility: durationpb.New(w.opts.Visibility)})
	lost := map[string]bool{}
	switch {
	case err == nil:
		for _, f := range res.GetFailures() {
			lost[f.GetLeaseId()] = true
			w.leaseLost("ExtendLease", f.GetLeaseId(), f.GetReason(), f.GetMessage())
		}
	case len(ids) == 1 && connect.CodeOf(err) == connect.CodeFailedPrecondition && Reason(err) != "":
		lost[ids[0]] = true
		w.leaseLost("ExtendLease", ids[0], Reason(err), err.Error())
	case cannotGoOn(err):
		w.stop(err)
		return
	default:
		// Tried again at the next tick. A lease that ran out meanwhile
		// still counts until another worker receives the message.
		w.log.Warn("bookd client: consume: ExtendLease failed", slog.Int("leases", len(ids)), slog.Any("error", err))
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, id := range ids {
		l, ok := w.held[id]
		switch {
		case !ok: // acked or nacked meanwhile
		case lost[id]:
			l.cancel()
			delete(w.held, id)
		default:
			l.until = sent.Add(w.opts.Visibility)
		}
	}
}
