package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bookd/bookd/client"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
)

// queueCmd measures a work queue as workers see it: how fast a backlog
// drains to consumers running client.Consume, and how long a message takes
// from its booking's commit to a consumer at a steady booking rate. Every
// message is audited: handled at least once, acked exactly as often as
// enqueued, and the queue empty at the end.
func queueCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("queue", flag.ContinueOnError)
	var sf serverFlags
	sf.register(fs)
	endpoints := fs.String("endpoints", "", "RPC endpoints of a running bookd cluster, comma-separated (default: start one)")
	backlog := fs.Int64("backlog", 100_000, "bookings (so messages) stored before the consumers start")
	consumers := fs.Int("consumers", 8, "consumers (client.Consume calls, each with its own client)")
	concurrency := fs.Int("concurrency", 64, "handlers each consumer runs at once")
	rate := fs.Int("rate", 1000, "bookings a second during the latency phase")
	duration := fs.Duration("duration", 20*time.Second, "length of the latency phase")
	clients := fs.Int("clients", 256, "concurrent customers filling the backlog")
	verbose := fs.Bool("v", false, "log what the servers do")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *backlog < 0 || *consumers < 1 || *concurrency < 1 || *rate < 1 || *duration <= 0 {
		return fmt.Errorf("-backlog must be at least 0; -consumers, -concurrency, -rate and -duration above 0")
	}
	var eps []string
	var t Target
	if *endpoints != "" {
		eps = strings.Split(*endpoints, ",")
		var err error
		if t, err = connectBookd(eps, *clients, sf.client); err != nil {
			return err
		}
		defer t.Close()
	} else {
		s, err := openBookdSession(ctx, &sf, *verbose, *clients)
		if err != nil {
			return err
		}
		defer s.Close()
		eps, t = s.srv.(*bookdServers).endpoints(), s.target
	}
	qb := queueBench{endpoints: eps, target: t, out: os.Stdout, consumers: *consumers, concurrency: *concurrency}
	return qb.run(ctx, *backlog, *clients, *rate, *duration)
}

type queueBench struct {
	endpoints   []string
	target      Target
	out         io.Writer
	consumers   int
	concurrency int
	queue       string
	// handled counts first handlings by message key; seen all handlings.
	mu        sync.Mutex
	firstSeen map[string]time.Duration // key -> commit-to-handler delay
	handled   atomic.Int64
}

func (q *queueBench) run(ctx context.Context, backlog int64, clients, rate int, duration time.Duration) error {
	q.queue = fmt.Sprintf("bench-%d", time.Now().UnixNano()%1_000_000)
	q.firstSeen = map[string]time.Duration{}
	cl, err := client.New(q.endpoints)
	if err != nil {
		return err
	}
	defer cl.Close()
	admin := cl.Queues()
	if _, err := admin.CreateQueue(ctx, &bookdv1.CreateQueueRequest{Queue: &bookdv1.Queue{
		Name: q.queue, Kinds: []string{"booking_confirmed"}}}); err != nil {
		return fmt.Errorf("create queue: %w", err)
	}
	event, err := q.target.Prepare(ctx, Inventory{Name: q.queue, Capacity: 10_000_000})
	if err != nil {
		return err
	}
	if backlog > 0 {
		if err := fill(ctx, q.target, event, backlog, clients, os.Stderr); err != nil {
			return err
		}
	}
	cctx, stopConsumers := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var consumeErr atomic.Pointer[error]
	began := time.Now()
	for range q.consumers {
		c, err := client.New(q.endpoints)
		if err != nil {
			stopConsumers()
			return err
		}
		defer c.Close()
		wg.Go(func() {
			err := c.Consume(cctx, q.queue, q.handle, client.ConsumeOptions{Concurrency: q.concurrency, WaitTime: time.Second})
			if err != nil {
				consumeErr.Store(&err)
			}
		})
	}
	// Drain: until every backlog message was handled.
	for q.distinct() < int(backlog) && ctx.Err() == nil && consumeErr.Load() == nil {
		time.Sleep(10 * time.Millisecond)
	}
	drain := time.Since(began)
	if backlog > 0 {
		fmt.Fprintf(q.out, "drain: %d messages to %d consumers x %d handlers in %.2fs: %.0f msg/s (handled %d times)\n",
			backlog, q.consumers, q.concurrency, drain.Seconds(), float64(backlog)/drain.Seconds(), q.handled.Load())
	}
	q.mu.Lock()
	clear(q.firstSeen)
	q.mu.Unlock()
	q.handled.Store(0)

	// Latency: bookings at a steady rate while the consumers run.
	booked := q.steady(ctx, event, rate, duration)
	deadline := time.Now().Add(30 * time.Second)
	for q.distinct() < int(booked) && time.Now().Before(deadline) && consumeErr.Load() == nil {
		time.Sleep(10 * time.Millisecond)
	}
	stopConsumers()
	wg.Wait()
	if p := consumeErr.Load(); p != nil {
		return fmt.Errorf("consume: %w", *p)
	}
	delays := q.delays()
	var h histogram
	for _, d := range delays {
		h.add(d)
	}
	c := h.snapshot()
	fmt.Fprintf(q.out, "latency at %d bookings/s for %s: %d booked, %d handled (%d handlings); commit to handler p50 %s p99 %s p100 %s\n",
		rate, duration, booked, len(delays), q.handled.Load(), c.quantile(0.5), c.quantile(0.99), c.quantile(1))
	st, err := admin.GetQueue(ctx, &bookdv1.GetQueueRequest{Queue: q.queue})
	if err != nil {
		return err
	}
	s := st.GetQueue().GetStats()
	fmt.Fprintf(q.out, "audit: enqueued %d acked %d depth %d dead %d delivered %d retried %d\n",
		s.GetEnqueued(), s.GetAcked(), s.GetDepth(), s.GetDeadLetters(), s.GetDelivered(), s.GetRetried())
	if want := backlog + booked; s.GetEnqueued() != want || s.GetAcked() != want || s.GetDepth() != 0 || int64(len(delays)) != booked {
		return fmt.Errorf("AUDIT FAILED: %d bookings, %d enqueued, %d acked, depth %d, %d of the %d steady ones handled",
			want, s.GetEnqueued(), s.GetAcked(), s.GetDepth(), len(delays), booked)
	}
	return nil
}

func (q *queueBench) handle(_ context.Context, m *bookdv1.QueueMessage) error {
	d := time.Since(m.GetChange().GetTime().AsTime())
	q.handled.Add(1)
	q.mu.Lock()
	if _, ok := q.firstSeen[m.GetKey()]; !ok {
		q.firstSeen[m.GetKey()] = d
	}
	q.mu.Unlock()
	return nil
}

func (q *queueBench) distinct() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.firstSeen)
}

func (q *queueBench) delays() []time.Duration {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make([]time.Duration, 0, len(q.firstSeen))
	for _, d := range q.firstSeen {
		out = append(out, d)
	}
	return out
}

// steady books one ticket at a time at rate bookings a second for
// duration (open loop), and returns how many were acknowledged.
func (q *queueBench) steady(ctx context.Context, event string, rate int, duration time.Duration) int64 {
	var booked atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	run := fmt.Sprintf("steady-%d", start.UnixNano())
	// Booking n leaves at start + n/rate; one that is late leaves at once,
	// so the rate holds over the run even when the process is not
	// scheduled for a while.
	for n := 0; ctx.Err() == nil; n++ {
		at := start.Add(time.Duration(n) * time.Second / time.Duration(rate))
		if at.Sub(start) >= duration {
			break
		}
		time.Sleep(time.Until(at))
		wg.Go(func() {
			a := Attempt{Key: fmt.Sprintf("%s-%d", run, n), Customer: fmt.Sprintf("%s-c%d", run, n%512), Quantity: 1}
			if err := q.target.Book(ctx, event, a); err == nil {
				booked.Add(1)
			}
		})
	}
	wg.Wait()
	return booked.Load()
}

// createQueues creates n queues taking every booking_confirmed on a bookd
// cluster, for runs that measure what queues cost the booking path.
func createQueues(ctx context.Context, srv Servers, n int) error {
	var eps []string
	switch s := srv.(type) {
	case *bookdServers:
		eps = s.endpoints()
	case *externalBookd:
		eps = s.endpoints
	default:
		return fmt.Errorf("-queues works with -target bookd only")
	}
	cl, err := client.New(eps)
	if err != nil {
		return err
	}
	defer cl.Close()
	admin := cl.Queues()
	for i := range n {
		name := fmt.Sprintf("bench-%d-%d", time.Now().UnixNano()%1_000_000, i)
		if _, err := admin.CreateQueue(ctx, &bookdv1.CreateQueueRequest{Queue: &bookdv1.Queue{
			Name: name, Kinds: []string{"booking_confirmed"}}}); err != nil {
			return fmt.Errorf("create queue %s: %w", name, err)
		}
	}
	return nil
}
