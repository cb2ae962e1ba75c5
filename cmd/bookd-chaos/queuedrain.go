package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
)

// drain runs once the faults are healed and the workload has stopped. It
// sends the Acks left with an unknown outcome again (so that each is
// settled: done, or LEASE_GONE because it was), then consumes both queues
// as their consumers do, without faults of their own, until each is empty:
// a Receive that waited found nothing and a linearizable read says depth
// 0, drainQuiet or more after the drain began (the last holds' expiries
// are committed by then, so nothing more is enqueued). What it could not
// do is returned as anomalies.
func (q *queueRun) drain(ctx context.Context, within time.Duration) []string {
	rnd := rand.New(rand.NewPCG(4, 4))
	q.rec.mu.Lock()
	pending := q.rec.pending
	q.rec.pending = nil
	q.rec.mu.Unlock()
	for _, p := range pending {
		q.ack(ctx, rnd, p.queue, p.leases, 30*time.Second, true)
	}
	quiet, deadline := time.Now().Add(drainQuiet), time.Now().Add(within)
	var wg sync.WaitGroup
	bad := make([]string, 2)
	for i, name := range []string{workQueue, deadQueue} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			bad[i] = q.drainQueue(ctx, uint64(i), name, quiet, deadline)
		}()
	}
	wg.Wait()
	var out []string
	for _, b := range bad {
		if b != "" {
			out = append(out, b)
		}
	}
	return out
}

// drainQuiet is how long a drain lasts at least. The workload's last hold
// was placed at least 3 s before the drain, for at most 2 s, stamped by a
// clock at most 2.5 s off.
const drainQuiet = 5 * time.Second

func (q *queueRun) drainQueue(ctx context.Context, seed uint64, name string, quiet, deadline time.Time) string {
	rnd := rand.New(rand.NewPCG(5, seed))
	for ctx.Err() == nil {
		msgs := q.receive(ctx, rnd, name, "drain", 100, time.Second)
		var leases []string
		for _, m := range msgs {
			leases = append(leases, m.GetLeaseId())
		}
		if name == deadQueue {
			q.nackConcurrently(ctx, rnd.Uint64(), name, leases, 8)
		} else if len(leases) > 0 {
			q.ack(ctx, rnd, name, leases, 10*time.Second, false)
		}
		if len(msgs) == 0 {
			st, err := q.stats(ctx, rnd, name)
			if err == nil && st.GetDepth() == 0 && time.Now().After(quiet) {
				return ""
			}
			if time.Now().After(deadline) {
				return fmt.Sprintf("QUEUE %s NOT DRAINED within the drain's time: stats %v (%v)", name, st, err)
			}
		}
	}
	return fmt.Sprintf("QUEUE %s NOT DRAINED: %v", name, ctx.Err())
}

// nackConcurrently nacks leases, inFlight at a time.
func (q *queueRun) nackConcurrently(ctx context.Context, seed uint64, queue string, leases []string, inFlight int) {
	var wg sync.WaitGroup
	for w := range min(inFlight, len(leases)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rnd := rand.New(rand.NewPCG(seed, uint64(w)))
			for i := w; i < len(leases); i += inFlight {
				q.nack(ctx, rnd, queue, leases[i])
			}
		}()
	}
	wg.Wait()
}

// stats reads a queue's stats linearizably from a random node.
func (q *queueRun) stats(ctx context.Context, rnd *rand.Rand, name string) (*bookdv1.QueueStats, error) {
	_, c := q.client(rnd)
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	resp, err := c.GetQueue(cctx, &bookdv1.GetQueueRequest{Queue: name,
		Read: &bookdv1.ReadOptions{Consistency: bookdv1.Consistency_CONSISTENCY_LINEARIZABLE}})
	return resp.GetQueue().GetStats(), err
}
