package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bookd/bookd/cmd/bookd-chaos/history"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/proto/bookd/v1/bookdv1connect"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Workload shape. Counters are small so that clients contend: that is where
// a double sale would show.
const (
	gaPerEpoch     = 3
	gaCapacity     = 5
	seatedPerEpoch = 2
	seatsPerEvent  = 4
	opBudget       = 3 * time.Second // how long a client retries one write
)

type eventInfo struct {
	id    string
	seats []string // empty: general admission
	cap   int64
}

// workload runs clients against the cluster and records what they see.
type workload struct {
	rec      *recorder
	nc       *nodeClients
	nodes    func() []string // RPC addresses clients may call
	clients  int
	epochLen time.Duration

	mu     sync.RWMutex
	events []eventInfo // the current epoch's events
	all    []eventInfo // every event created
	epochs int

	resolvedEarly atomic.Int64
	batches       atomic.Int64 // BatchWrite calls of batched customers (not counting retries)
}

func (w *workload) allEvents() []eventInfo {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return append([]eventInfo(nil), w.all...)
}

func (w *workload) current() []eventInfo {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return w.events
}

// run creates a fresh set of events every epoch and runs the clients until
// ctx ends.
func (w *workload) run(ctx context.Context, seed uint64) error {
	rnd := rand.New(rand.NewPCG(seed, 0))
	if err := w.newEpoch(ctx, rnd); err != nil {
		return err
	}
	var wg sync.WaitGroup
	for i := range w.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &chaosClient{w: w, id: i, rnd: rand.New(rand.NewPCG(seed, uint64(i)+1))}
			c.run(ctx)
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		w.resolveWhileRunning(ctx)
	}()
	tick := time.NewTicker(w.epochLen)
	defer tick.Stop()
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-tick.C:
			w.newEpoch(ctx, rnd) // on failure the clients stay on the old events
		}
	}
	wg.Wait()
	return nil
}

func (w *workload) newEpoch(ctx context.Context, rnd *rand.Rand) error {
	w.mu.Lock()
	w.epochs++
	epoch := w.epochs
	w.mu.Unlock()
	var evs []eventInfo
	for i := range gaPerEpoch + seatedPerEpoch {
		req := &bookdv1.CreateEventRequest{
			Name:           fmt.Sprintf("epoch %d event %d", epoch, i),
			IdempotencyKey: fmt.Sprintf("chaos-epoch-%d-%d", epoch, i),
		}
		if i < gaPerEpoch {
			req.Capacity = gaCapacity
		} else {
			for s := range seatsPerEvent {
				req.Seats = append(req.Seats, fmt.Sprintf("A%d", s+1))
			}
		}
		var ev *bookdv1.Event
		_, ok, err := attempt(ctx, w.nc, rnd, w.nodes(), rnd.IntN(8), 20*time.Second,
			func(ctx context.Context, c bookdv1connect.BookingServiceClient) (history.Output, error) {
				resp, err := c.CreateEvent(ctx, req)
				if err == nil {
					ev = resp.GetEvent()
				}
				return history.Output{}, err
			})
		if err != nil || !ok {
			return fmt.Errorf("create epoch %d events: outcome unknown (%v)", epoch, err)
		}
		cap := ev.GetCapacity()
		if len(ev.GetSeats()) > 0 {
			cap = 1
		}
		evs = append(evs, eventInfo{id: ev.GetId(), seats: ev.GetSeats(), cap: cap})
	}
	w.mu.Lock()
	w.events = evs
	w.all = append(w.all, evs...)
	w.mu.Unlock()
	return nil
}

// resolveWhileRunning keeps sending pending writes again, with their
// idempotency keys, as a client would after a timeout, so that each is
// closed soon after the cluster can answer: an operation's interval then
// ends when the fault does, not when the run does, which keeps the
// linearizability check tractable.
func (w *workload) resolveWhileRunning(ctx context.Context) {
	rnd := rand.New(rand.NewPCG(2, 2))
	for ctx.Err() == nil {
		for _, p := range w.rec.takePending() {
			if !w.resolveOne(ctx, rnd, p, time.Second) {
				w.rec.addPending(p.client, p.in, p.send)
			}
		}
		sleep(ctx, 300*time.Millisecond)
	}
}

// resolve closes every write still pending once the cluster is healed;
// those it cannot close stay unknown.
func (w *workload) resolve(ctx context.Context) (resolved, unknown int) {
	rnd := rand.New(rand.NewPCG(1, 1))
	for _, p := range w.rec.takePending() {
		if w.resolveOne(ctx, rnd, p, 30*time.Second) {
			resolved++
		} else {
			unknown++
			w.rec.add(p.client, p.in, history.Output{Result: history.Unknown})
		}
	}
	return resolved + int(w.resolvedEarly.Load()), unknown
}

// resolveOne sends p again; it reports whether the outcome is now known
// (and recorded).
func (w *workload) resolveOne(ctx context.Context, rnd *rand.Rand, p pendingOp, budget time.Duration) bool {
	out, ok, err := attempt(ctx, w.nc, rnd, w.nodes(), p.in.Seq, budget, p.send)
	switch {
	case err != nil:
		w.rec.fail("resolving %v: %v", p.in, err)
		return true
	case ok:
		w.rec.add(p.client, p.in, out)
		if budget < 30*time.Second {
			w.resolvedEarly.Add(1)
		}
		return true
	}
	return false
}

func ttl(d time.Duration) *durationpb.Duration { return durationpb.New(d) }
