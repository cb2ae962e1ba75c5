package client_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/bookd/bookd/client"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/rpc/clustertest"
)

var queueSeq atomic.Int64

// newQueue creates q (named after the test) and returns its name.
func newQueue(t *testing.T, c *client.Client, q *bookdv1.Queue) string {
	t.Helper()
	name := strings.ToLower(strings.NewReplacer("/", "-", " ", "-").Replace(t.Name()))
	q.Name = fmt.Sprintf("%.50s-%d", name, queueSeq.Add(1))
	if _, err := c.Queues().CreateQueue(ctxWithTimeout(t, 10*time.Second), &bookdv1.CreateQueueRequest{Queue: q}); err != nil {
		t.Fatalf("CreateQueue(%s): %v", q.Name, err)
	}
	return q.Name
}

func queueStats(t *testing.T, c *client.Client, name string) *bookdv1.QueueStats {
	t.Helper()
	res, err := c.Queues().GetQueue(ctxWithTimeout(t, 10*time.Second), &bookdv1.GetQueueRequest{Queue: name})
	if err != nil {
		t.Fatalf("GetQueue(%s): %v", name, err)
	}
	return res.GetQueue().GetStats()
}

// eventually retries cond until it returns nil or the timeout passes.
func eventually(t *testing.T, timeout time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %v", timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// consuming runs Consume until the returned stop is called; stop returns
// Consume's answer.
func consuming(t *testing.T, c *client.Client, queue string, h client.QueueHandler, opts client.ConsumeOptions) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Consume(ctx, queue, h, opts) }()
	t.Cleanup(cancel)
	return func() error {
		t.Helper()
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(60 * time.Second):
			t.Fatal("Consume did not return within 60s of its context's end")
			return nil
		}
	}
}

// handled counts the handlings of each key.
type handled struct {
	mu sync.Mutex
	n  map[string]int
}

func (h *handled) add(key string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.n == nil {
		h.n = map[string]int{}
	}
	h.n[key]++
	return h.n[key]
}

func (h *handled) count(key string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n[key]
}

// missing returns the keys not handled yet.
func (h *handled) missing(keys []string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, k := range keys {
		if h.n[k] == 0 {
			out = append(out, k)
		}
	}
	return out
}

// book makes n bookings of one ticket at ev with callers running at once
// and returns their ids.
func book(t *testing.T, c *client.Client, ev *bookdv1.Event, n, callers int) []string {
	t.Helper()
	ids := make([]string, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for range callers {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				b, err := c.Book(ctxWithTimeout(t, 30*time.Second), &bookdv1.BookRequest{EventId: ev.GetId(), CustomerId: fmt.Sprint("c", i), Quantity: 1})
				if err != nil {
					errs <- fmt.Errorf("booking %d: %w", i, err)
					return
				}
				ids[i] = b.GetId()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return ids
}

// 1,000 bookings reach a Consume running 8 handlers: each is handled at
// least once, and the queue ends empty with every message acked once.
func TestConsumeHandlesEveryBooking(t *testing.T) {
	c := realClient(t, endpoints, client.WithBatching(64))
	const bookings = 1000
	ev := newEvent(t, c, bookings)
	queue := newQueue(t, c, &bookdv1.Queue{Kinds: []string{"booking_confirmed"}, EventId: ev.GetId()})

	var seen handled
	var running, most atomic.Int64
	stop := consuming(t, c, queue, func(ctx context.Context, m *bookdv1.QueueMessage) error {
		now := running.Add(1)
		defer running.Add(-1)
		for old := most.Load(); now > old && !most.CompareAndSwap(old, now); old = most.Load() {
		}
		seen.add(m.GetChange().GetBookingId())
		return nil
	}, client.ConsumeOptions{Concurrency: 8, WaitTime: time.Second})

	ids := book(t, c, ev, bookings, 32)
	eventually(t, 60*time.Second, func() error {
		if miss := seen.missing(ids); len(miss) > 0 {
			return fmt.Errorf("%d of %d bookings not handled, %s first", len(miss), bookings, miss[0])
		}
		if s := queueStats(t, c, queue); s.GetDepth() != 0 || s.GetAcked() != s.GetEnqueued() {
			return fmt.Errorf("queue stats %v, want depth 0 and every message acked", s)
		}
		return nil
	})
	if err := stop(); err != nil {
		t.Fatalf("Consume: %v", err)
	}
	s := queueStats(t, c, queue)
	if s.GetEnqueued() != bookings || s.GetAcked() != bookings || s.GetDepth() != 0 || s.GetDeadLetters() != 0 {
		t.Errorf("queue stats %v, want %d enqueued and acked, nothing left", s, bookings)
	}
	if got := most.Load(); got > 8 {
		t.Errorf("%d handlers ran at once, want at most 8", got)
	}
}

// A handler's error nacks the message with the error's text (cut to the
// node's 1,024 bytes, whole characters): it comes back as attempt 2 with
// that text as its last error, and is acked then.
func TestConsumeRetriesAfterHandlerError(t *testing.T) {
	c := realClient(t, endpoints)
	queue := newQueue(t, c, &bookdv1.Queue{RetryMin: durationpb.New(100 * time.Millisecond), RetryMax: durationpb.New(100 * time.Millisecond)})
	long := "smtp: 451 try again later: " + strings.Repeat("é", 1000) // 2,027 bytes
	for _, tc := range []struct{ key, err string }{{"short", "smtp: 451 try again later"}, {"long", long}} {
		if _, err := c.Queues().Enqueue(ctxWithTimeout(t, 10*time.Second), &bookdv1.EnqueueRequest{Queue: queue, IdempotencyKey: tc.key, Body: []byte(tc.err)}); err != nil {
			t.Fatal(err)
		}
	}
	var seen handled
	var mu sync.Mutex
	second := map[string]*bookdv1.QueueMessage{}
	stop := consuming(t, c, queue, func(ctx context.Context, m *bookdv1.QueueMessage) error {
		if seen.add(m.GetKey()) == 1 {
			return errors.New(string(m.GetBody()))
		}
		mu.Lock()
		second[m.GetKey()] = m
		mu.Unlock()
		return nil
	}, client.ConsumeOptions{Concurrency: 2, WaitTime: time.Second})
	eventually(t, 30*time.Second, func() error {
		if s := queueStats(t, c, queue); s.GetAcked() != 2 {
			return fmt.Errorf("queue stats %v, want 2 acked", s)
		}
		return nil
	})
	if err := stop(); err != nil {
		t.Fatalf("Consume: %v", err)
	}
	for key, want := range map[string]string{"short": "smtp: 451 try again later", "long": long[:1023]} {
		m := second[key]
		if m.GetAttempts() != 2 || m.GetLastError() != want {
			t.Errorf("%s: second delivery attempts %d, last error %.40q (%d bytes), want attempts 2 and %.40q (%d bytes)",
				key, m.GetAttempts(), m.GetLastError(), len(m.GetLastError()), want, len(want))
		}
		if !utf8.ValidString(m.GetLastError()) {
			t.Errorf("%s: last error is not UTF-8", key)
		}
	}
	if s := queueStats(t, c, queue); s.GetRetried() != 2 || s.GetDelivered() != 4 || s.GetDepth() != 0 {
		t.Errorf("queue stats %v, want 4 delivered, 2 retried, none left", s)
	}
}

// A handler's error wrapping GiveUp dead-letters the message at its first
// attempt, with the error's text.
func TestConsumeGiveUpDeadLetters(t *testing.T) {
	c := realClient(t, endpoints)
	queue := newQueue(t, c, &bookdv1.Queue{MaxAttempts: 5})
	if _, err := c.Queues().Enqueue(ctxWithTimeout(t, 10*time.Second), &bookdv1.EnqueueRequest{Queue: queue, IdempotencyKey: "pi_123"}); err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int64
	stop := consuming(t, c, queue, func(ctx context.Context, m *bookdv1.QueueMessage) error {
		calls.Add(1)
		return fmt.Errorf("capture %s: %w", m.GetKey(), client.GiveUp(errors.New("no such payment intent")))
	}, client.ConsumeOptions{WaitTime: time.Second})
	var dead []*bookdv1.QueueMessage
	eventually(t, 30*time.Second, func() error {
		res, err := c.Queues().ListDeadLetters(ctxWithTimeout(t, 10*time.Second), &bookdv1.ListDeadLettersRequest{Queue: queue})
		if err != nil {
			return err
		}
		if dead = res.GetMessages(); len(dead) != 1 {
			return fmt.Errorf("%d dead letters, want 1", len(dead))
		}
		return nil
	})
	if err := stop(); err != nil {
		t.Fatalf("Consume: %v", err)
	}
	if m := dead[0]; m.GetKey() != "pi_123" || m.GetAttempts() != 1 || m.GetLastError() != "capture pi_123: no such payment intent" {
		t.Errorf("dead letter %v, want pi_123 after 1 attempt with the handler's error", m)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("handler called %d times, want 1", n)
	}
	if s := queueStats(t, c, queue); s.GetDepth() != 0 || s.GetDeadLettered() != 1 {
		t.Errorf("queue stats %v, want depth 0 and 1 dead-lettered", s)
	}
	if client.GiveUp(nil) != nil {
		t.Error("GiveUp(nil) is not nil")
	}
}

// A handler that runs for three times its lease keeps the lease: a second
// handler slot keeps receiving meanwhile, and the message is delivered
// once and acked.
func TestConsumeExtendsLeaseOfSlowHandler(t *testing.T) {
	c := realClient(t, endpoints)
	queue := newQueue(t, c, &bookdv1.Queue{})
	if _, err := c.Queues().Enqueue(ctxWithTimeout(t, 10*time.Second), &bookdv1.EnqueueRequest{Queue: queue, IdempotencyKey: "slow"}); err != nil {
		t.Fatal(err)
	}
	const visibility = time.Second
	var calls atomic.Int64
	stop := consuming(t, c, queue, func(ctx context.Context, m *bookdv1.QueueMessage) error {
		calls.Add(1)
		select { // the work takes 3 leases' time
		case <-time.After(3 * visibility):
			return nil
		case <-ctx.Done():
			return fmt.Errorf("lease lost: %w", context.Cause(ctx))
		}
	}, client.ConsumeOptions{Concurrency: 2, Visibility: visibility, WaitTime: 200 * time.Millisecond})
	eventually(t, 30*time.Second, func() error {
		if s := queueStats(t, c, queue); s.GetAcked() != 1 {
			return fmt.Errorf("queue stats %v, want 1 acked", s)
		}
		return nil
	})
	if err := stop(); err != nil {
		t.Fatalf("Consume: %v", err)
	}
	if s := queueStats(t, c, queue); s.GetDelivered() != 1 || s.GetRetried() != 0 {
		t.Errorf("queue stats %v, want 1 delivery", s)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("handler called %d times, want 1", n)
	}
}

// Consume goes on through the leader's loss: bookings made before and
// while the leader stops are all handled, and none is lost: the queue ends
// with every message acked.
func TestConsumeSurvivesLeaderStop(t *testing.T) {
	cl := clustertest.Start(t, 3, clustertest.Options{})
	c := realClient(t, cl.Endpoints(), client.WithBatching(64), client.WithAttemptTimeout(2*time.Second))
	const before, after = 400, 200
	ev := newEvent(t, c, before+after)
	queue := newQueue(t, c, &bookdv1.Queue{Kinds: []string{"booking_confirmed"}, EventId: ev.GetId(),
		RetryMin: durationpb.New(100 * time.Millisecond), RetryMax: durationpb.New(time.Second)})
	ids := book(t, c, ev, before, 32)

	var seen handled
	stop := consuming(t, c, queue, func(ctx context.Context, m *bookdv1.QueueMessage) error {
		seen.add(m.GetChange().GetBookingId())
		return nil
	}, client.ConsumeOptions{Concurrency: 8, Visibility: 2 * time.Second, WaitTime: time.Second})
	eventually(t, 30*time.Second, func() error {
		if n := before - len(seen.missing(ids)); n < before/4 {
			return fmt.Errorf("%d bookings handled, waiting for %d before stopping the leader", n, before/4)
		}
		return nil
	})
	old := cl.WaitReady()
	cl.Stop(old)
	if cl.WaitReady() == old {
		t.Fatal("no new leader")
	}
	more := book(t, c, ev, after, 16)
	ids = append(ids, more...)
	eventually(t, 60*time.Second, func() error {
		if miss := seen.missing(ids); len(miss) > 0 {
			return fmt.Errorf("%d of %d bookings not handled, %s first", len(miss), len(ids), miss[0])
		}
		if s := queueStats(t, c, queue); s.GetDepth() != 0 || s.GetAcked() != s.GetEnqueued() {
			return fmt.Errorf("queue stats %v, want depth 0 and every message acked", s)
		}
		return nil
	})
	if err := stop(); err != nil {
		t.Fatalf("Consume: %v", err)
	}
	if s := queueStats(t, c, queue); s.GetEnqueued() != before+after || s.GetAcked() != before+after || s.GetDeadLetters() != 0 {
		t.Errorf("queue stats %v, want %d enqueued and acked", s, before+after)
	}
}

// When its context ends, Consume stops receiving, waits for the handlers
// running (their contexts live on), sends their acks and returns nil.
func TestConsumeStopsAfterRunningHandlers(t *testing.T) {
	c := realClient(t, endpoints)
	queue := newQueue(t, c, &bookdv1.Queue{})
	const n = 3
	for i := range n {
		if _, err := c.Queues().Enqueue(ctxWithTimeout(t, 10*time.Second), &bookdv1.EnqueueRequest{Queue: queue, IdempotencyKey: fmt.Sprint("m", i)}); err != nil {
			t.Fatal(err)
		}
	}
	release := make(chan struct{})
	var started, finished, cancelled atomic.Int64
	stop := consuming(t, c, queue, func(ctx context.Context, m *bookdv1.QueueMessage) error {
		started.Add(1)
		<-release
		if ctx.Err() != nil {
			cancelled.Add(1)
		}
		finished.Add(1)
		return nil
	}, client.ConsumeOptions{Concurrency: n, WaitTime: time.Second})
	eventually(t, 30*time.Second, func() error {
		if got := started.Load(); got != n {
			return fmt.Errorf("%d handlers running, want %d", got, n)
		}
		return nil
	})
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	time.AfterFunc(200*time.Millisecond, func() { close(release) })
	if err := <-stopped; err != nil {
		t.Fatalf("Consume: %v", err)
	}
	if got := finished.Load(); got != n {
		t.Errorf("Consume returned with %d of %d handlers finished", got, n)
	}
	if got := cancelled.Load(); got != 0 {
		t.Errorf("%d handlers saw their context cancelled", got)
	}
	if s := queueStats(t, c, queue); s.GetAcked() != n || s.GetDepth() != 0 {
		t.Errorf("queue stats right after Consume returned %v, want %d acked, none left", s, n)
	}
}

// Consume answers at once what it cannot go on with: an unknown queue,
// options out of range, no handler.
func TestConsumeRefuses(t *testing.T) {
	c := realClient(t, endpoints)
	ok := func(context.Context, *bookdv1.QueueMessage) error { return nil }
	for _, tc := range []struct {
		name  string
		queue string
		h     client.QueueHandler
		opts  client.ConsumeOptions
		code  connect.Code
		says  string
	}{
		{"unknown queue", "no-such-queue", ok, client.ConsumeOptions{}, connect.CodeNotFound, "no-such-queue"},
		{"bad queue name", "Bad Name", ok, client.ConsumeOptions{}, connect.CodeInvalidArgument, "queue"},
		{"short visibility", "q", ok, client.ConsumeOptions{Visibility: time.Millisecond}, connect.CodeInvalidArgument, "Visibility"},
		{"long wait", "q", ok, client.ConsumeOptions{WaitTime: time.Minute}, connect.CodeInvalidArgument, "WaitTime"},
		{"negative concurrency", "q", ok, client.ConsumeOptions{Concurrency: -1}, connect.CodeInvalidArgument, "Concurrency"},
		{"no handler", "q", nil, client.ConsumeOptions{}, connect.CodeInvalidArgument, "handler"},
	} {
		err := c.Consume(ctxWithTimeout(t, 30*time.Second), tc.queue, tc.h, tc.opts)
		if connect.CodeOf(err) != tc.code || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%s: Consume: %v, want %v saying %q", tc.name, err, tc.code, tc.says)
		}
	}
}
