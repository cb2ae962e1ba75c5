package client_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/bookd/bookd/client"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/rpc/clustertest"
)

// rpcCounter is an h2c transport, like the Client's own, that counts the
// RPCs it carries by method, and the most BatchWrite calls out at once to
// one node.
type rpcCounter struct {
	next http.RoundTripper

	mu          sync.Mutex
	calls       map[string]int
	inFlight    map[string]int // by node
	maxInFlight int
}

func newRPCCounter() *rpcCounter {
	t := &http.Transport{}
	t.Protocols = new(http.Protocols)
	t.Protocols.SetUnencryptedHTTP2(true)
	return &rpcCounter{next: t, calls: map[string]int{}, inFlight: map[string]int{}}
}

func (c *rpcCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	method := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
	c.mu.Lock()
	c.calls[method]++
	if method == "BatchWrite" {
		c.inFlight[r.URL.Host]++
		c.maxInFlight = max(c.maxInFlight, c.inFlight[r.URL.Host])
	}
	c.mu.Unlock()
	resp, err := c.next.RoundTrip(r)
	if method == "BatchWrite" {
		c.mu.Lock()
		c.inFlight[r.URL.Host]--
		c.mu.Unlock()
	}
	return resp, err
}

func (c *rpcCounter) mostInFlight() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.maxInFlight
}

func (c *rpcCounter) count(method string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls[method]
}

// retryLog reads the Client's debug log: how often each write (by
// idempotency key) was retried, and the retries that followed a refusal,
// which the Client must never make.
type retryLog struct {
	mu       sync.Mutex
	keys     map[string]int
	refusals []string
}

func (l *retryLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *retryLog) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *retryLog) WithGroup(string) slog.Handler            { return l }

func (l *retryLog) Handle(_ context.Context, r slog.Record) error {
	var key string
	var cause error
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "idempotency_key":
			key = a.Value.String()
		case "error":
			cause, _ = a.Value.Any().(error)
		}
		return true
	})
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.keys == nil {
		l.keys = map[string]int{}
	}
	l.keys[key]++
	switch connect.CodeOf(cause) {
	case connect.CodeFailedPrecondition, connect.CodeInvalidArgument, connect.CodeNotFound, connect.CodeAlreadyExists:
		l.refusals = append(l.refusals, fmt.Sprintf("write %s retried after %v", key, cause))
	}
	return nil
}

func (l *retryLog) retries(key string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.keys[key]
}

func (l *retryLog) retriedRefusals() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.refusals
}

// realClient is a Client for a real cluster that rides out an election
// (which a loaded test machine may cause at any time): it backs off like a
// production Client and tries for several seconds.
func realClient(t *testing.T, endpoints []string, opts ...client.Option) *client.Client {
	t.Helper()
	return newClient(t, endpoints, append([]client.Option{client.WithBackoff(20*time.Millisecond, 500*time.Millisecond),
		client.WithMaxAttempts(30)}, opts...)...)
}

// listBookings pages through all of an event's bookings.
func listBookings(t *testing.T, c *client.Client, eventID string) []*bookdv1.Booking {
	t.Helper()
	var all []*bookdv1.Booking
	req := &bookdv1.ListBookingsRequest{EventId: eventID, PageSize: 100}
	for {
		resp, err := c.ListBookings(ctxWithTimeout(t, 10*time.Second), req)
		if err != nil {
			t.Fatalf("ListBookings(%s): %v", eventID, err)
		}
		all = append(all, resp.Bookings...)
		if resp.NextPageToken == "" {
			return all
		}
		req.PageToken = resp.NextPageToken
	}
}

func newEvent(t *testing.T, c *client.Client, capacity int64, seats ...string) *bookdv1.Event {
	t.Helper()
	ev, err := c.CreateEvent(ctxWithTimeout(t, 10*time.Second), &bookdv1.CreateEventRequest{Name: t.Name(), Capacity: capacity, Seats: seats})
	if err != nil {
		t.Fatalf("CreateEvent: %v", err)
	}
	return ev
}

// 300 callers race for 200 GA tickets through a batching Client: exactly
// 200 get a booking, the other 100 get SOLD_OUT (a refusal the Client
// returns as the single call would, with its Reason, and does not retry),
// every write travels in a BatchWrite (fewer calls than writes), and the
// event holds exactly the 200 acknowledged bookings, each once.
func TestBatchingSellsOutExactly(t *testing.T) {
	rt, log := newRPCCounter(), &retryLog{}
	c := realClient(t, endpoints, client.WithBatching(64), client.WithHTTPClient(&http.Client{Transport: rt}),
		client.WithLogger(slog.New(log)))
	const capacity, callers = 200, 300
	ev := newEvent(t, c, capacity)

	ctx := ctxWithTimeout(t, 15*time.Second)
	bookings := make([]*bookdv1.Booking, callers)
	errs := make([]error, callers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range callers {
		wg.Go(func() {
			<-start
			bookings[i], errs[i] = c.Book(ctx, &bookdv1.BookRequest{EventId: ev.Id, CustomerId: fmt.Sprintf("cust-%d", i),
				Quantity: 1, IdempotencyKey: fmt.Sprintf("%s-%d", ev.Id, i)})
		})
	}
	close(start)
	wg.Wait()

	acked := map[string]int{} // booking id -> caller
	soldOut := 0
	for i, err := range errs {
		key := fmt.Sprintf("%s-%d", ev.Id, i)
		switch {
		case err == nil:
			b := bookings[i]
			if b.GetCustomerId() != fmt.Sprintf("cust-%d", i) || b.GetQuantity() != 1 || b.GetEventId() != ev.Id {
				t.Errorf("caller %d got booking %v, not its own", i, b)
			}
			if j, dup := acked[b.GetId()]; dup {
				t.Errorf("callers %d and %d both got booking %s", j, i, b.GetId())
			}
			acked[b.GetId()] = i
		case client.Reason(err) == client.ReasonSoldOut && connect.CodeOf(err) == connect.CodeFailedPrecondition:
			soldOut++
			if strings.Contains(err.Error(), "gave up") {
				t.Errorf("caller %d: a refusal was retried: %v", i, err)
			}
			if n := log.retries(key); n != 0 {
				t.Logf("caller %d: SOLD_OUT after %d retries (of an outcome-unknown error)", i, n)
			}
		default:
			t.Errorf("caller %d: %v (code %v, reason %q), want a booking or SOLD_OUT", i, err, connect.CodeOf(err), client.Reason(err))
		}
	}
	if len(acked) != capacity || soldOut != callers-capacity {
		t.Errorf("%d bookings and %d SOLD_OUT, want %d and %d", len(acked), soldOut, capacity, callers-capacity)
	}

	listed := listBookings(t, c, ev.Id)
	seen := map[string]bool{}
	for _, b := range listed {
		if seen[b.Id] {
			t.Errorf("booking %s listed twice", b.Id)
		}
		seen[b.Id] = true
		i, ok := acked[b.Id]
		switch {
		case !ok:
			t.Errorf("the event has booking %v that no caller was told of", b)
		case !proto.Equal(b, bookings[i]):
			t.Errorf("booking %s is stored as %v, caller %d was told %v", b.Id, b, i, bookings[i])
		}
	}
	if len(listed) != capacity {
		t.Errorf("the event lists %d bookings, want %d", len(listed), capacity)
	}
	av, err := c.Availability(ctxWithTimeout(t, 10*time.Second), ev.Id)
	if err != nil {
		t.Fatal(err)
	}
	if av.BookedQuantity != capacity || av.AvailableQuantity != 0 || av.HeldQuantity != 0 {
		t.Errorf("availability: %d booked, %d held, %d available; want %d, 0, 0", av.BookedQuantity, av.HeldQuantity, av.AvailableQuantity, capacity)
	}
	for _, r := range log.retriedRefusals() {
		t.Errorf("a refusal was retried: %s", r)
	}
	batches := rt.count("BatchWrite")
	if single := rt.count("Book"); single != 0 {
		t.Errorf("a batching Client sent %d single Book calls", single)
	}
	if batches == 0 || batches >= callers {
		t.Errorf("%d BatchWrite calls carried %d writes; concurrent writes should share calls", batches, callers)
	}
	t.Logf("%d writes in %d BatchWrite calls, at most %d out at once to one node", callers, batches, rt.mostInFlight())
}

// Holds, confirms and releases made concurrently through a batching Client
// each get their own kind of answer: 100 holds of 1 ticket, then half
// confirmed and half released, leave exactly 50 booked and nothing held.
func TestBatchingHoldConfirmRelease(t *testing.T) {
	c := realClient(t, endpoints, client.WithBatching(16))
	ev := newEvent(t, c, 100, "A1", "A2")
	ctx := ctxWithTimeout(t, 15*time.Second)
	const callers = 100
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []string
	fail := func(format string, args ...any) {
		mu.Lock()
		failures = append(failures, fmt.Sprintf(format, args...))
		mu.Unlock()
	}
	for i := range callers {
		wg.Go(func() {
			h, err := c.Hold(ctx, &bookdv1.HoldRequest{EventId: ev.Id, CustomerId: fmt.Sprintf("c%d", i), Quantity: 1, Ttl: durationpb.New(time.Minute)})
			if err != nil || h.GetStatus() != bookdv1.HoldStatus_HOLD_STATUS_ACTIVE || h.GetQuantity() != 1 {
				fail("caller %d: Hold = %v, %v", i, h, err)
				return
			}
			if i%2 == 0 {
				b, err := c.Confirm(ctx, &bookdv1.ConfirmRequest{HoldId: h.Id, PaymentRef: "pay"})
				if err != nil || b.GetHoldId() != h.Id || b.GetStatus() != bookdv1.BookingStatus_BOOKING_STATUS_CONFIRMED {
					fail("caller %d: Confirm(%s) = %v, %v", i, h.Id, b, err)
				}
				return
			}
			r, err := c.ReleaseHold(ctx, &bookdv1.ReleaseHoldRequest{HoldId: h.Id})
			if err != nil || r.GetId() != h.Id || r.GetStatus() != bookdv1.HoldStatus_HOLD_STATUS_RELEASED {
				fail("caller %d: ReleaseHold(%s) = %v, %v", i, h.Id, r, err)
			}
		})
	}
	wg.Wait()
	for _, f := range failures {
		t.Error(f)
	}
	av, err := c.Availability(ctx, ev.Id)
	if err != nil {
		t.Fatal(err)
	}
	if av.BookedQuantity != callers/2 || av.HeldQuantity != 0 || av.AvailableQuantity != ev.Capacity-callers/2 {
		t.Errorf("availability: %d booked, %d held, %d available; want %d, 0, %d",
			av.BookedQuantity, av.HeldQuantity, av.AvailableQuantity, callers/2, ev.Capacity-callers/2)
	}
}

// Callers that send the same write (one idempotency key) at the same time
// through a batching Client share one outcome: one booking, made once,
// even when copies of the write leave in the same BatchWrite call.
func TestBatchingSameKeyConcurrently(t *testing.T) {
	c := realClient(t, endpoints, client.WithBatching(64))
	ev := newEvent(t, c, 10)
	ctx := ctxWithTimeout(t, 15*time.Second)
	req := &bookdv1.BookRequest{EventId: ev.Id, CustomerId: "dup", Quantity: 3, IdempotencyKey: "same-" + ev.Id}
	const callers = 40
	got := make([]*bookdv1.Booking, callers)
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() { got[i], errs[i] = c.Book(ctx, req) })
	}
	wg.Wait()
	for i := range callers {
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		if !proto.Equal(got[i], got[0]) {
			t.Errorf("caller %d got booking %v, caller 0 got %v", i, got[i], got[0])
		}
	}
	if n := len(listBookings(t, c, ev.Id)); n != 1 {
		t.Errorf("%d bookings for one idempotency key, want 1", n)
	}
	av, err := c.Availability(ctx, ev.Id)
	if err != nil {
		t.Fatal(err)
	}
	if av.BookedQuantity != 3 {
		t.Errorf("%d tickets booked for one write of 3", av.BookedQuantity)
	}
}

// A write whose context is already over returns at once with that context
// error and is never sent: for every kind of write, the state it would
// have changed is unchanged, and its idempotency key is still unused.
func TestBatchingCancelledContext(t *testing.T) {
	rt := newRPCCounter()
	c := realClient(t, endpoints, client.WithBatching(8), client.WithHTTPClient(&http.Client{Transport: rt}))
	ev := newEvent(t, c, 10, "A1", "A2")
	ctx := ctxWithTimeout(t, 15*time.Second)
	hold, err := c.Hold(ctx, &bookdv1.HoldRequest{EventId: ev.Id, CustomerId: "h", Seats: []string{"A1"}, Ttl: durationpb.New(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	booking, err := c.Book(ctx, &bookdv1.BookRequest{EventId: ev.Id, CustomerId: "b", Quantity: 2})
	if err != nil {
		t.Fatal(err)
	}
	before, err := c.Availability(ctx, ev.Id)
	if err != nil {
		t.Fatal(err)
	}

	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel2()
	tests := []struct {
		name  string
		ctx   context.Context
		want  error
		write func(ctx context.Context, key string) error
		// redo sends the write with its key and another request: it must
		// not find the key used.
		redo func(ctx context.Context, key string) error
	}{
		{"Book", cancelled, context.Canceled,
			func(ctx context.Context, key string) error {
				_, err := c.Book(ctx, &bookdv1.BookRequest{EventId: ev.Id, CustomerId: "ghost", Quantity: 1, IdempotencyKey: key})
				return err
			},
			func(ctx context.Context, key string) error {
				_, err := c.Book(ctx, &bookdv1.BookRequest{EventId: ev.Id, CustomerId: "ghost", Seats: []string{"Z9"}, IdempotencyKey: key})
				return err
			}},
		{"Hold past deadline", expired, context.DeadlineExceeded,
			func(ctx context.Context, key string) error {
				_, err := c.Hold(ctx, &bookdv1.HoldRequest{EventId: ev.Id, CustomerId: "ghost", Seats: []string{"A2"}, IdempotencyKey: key})
				return err
			},
			func(ctx context.Context, key string) error {
				_, err := c.Hold(ctx, &bookdv1.HoldRequest{EventId: ev.Id, CustomerId: "ghost", Seats: []string{"Z9"}, IdempotencyKey: key})
				return err
			}},
		{"Confirm", cancelled, context.Canceled,
			func(ctx context.Context, key string) error {
				_, err := c.Confirm(ctx, &bookdv1.ConfirmRequest{HoldId: hold.Id, IdempotencyKey: key})
				return err
			},
			func(ctx context.Context, key string) error {
				_, err := c.Confirm(ctx, &bookdv1.ConfirmRequest{HoldId: "hd_999999", IdempotencyKey: key})
				return err
			}},
		{"ReleaseHold", cancelled, context.Canceled,
			func(ctx context.Context, key string) error {
				_, err := c.ReleaseHold(ctx, &bookdv1.ReleaseHoldRequest{HoldId: hold.Id, IdempotencyKey: key})
				return err
			},
			func(ctx context.Context, key string) error {
				_, err := c.ReleaseHold(ctx, &bookdv1.ReleaseHoldRequest{HoldId: "hd_999999", IdempotencyKey: key})
				return err
			}},
		{"CancelBooking", cancelled, context.Canceled,
			func(ctx context.Context, key string) error {
				_, err := c.CancelBooking(ctx, &bookdv1.CancelBookingRequest{BookingId: booking.Id, IdempotencyKey: key})
				return err
			},
			func(ctx context.Context, key string) error {
				_, err := c.CancelBooking(ctx, &bookdv1.CancelBookingRequest{BookingId: "bk_999999", IdempotencyKey: key})
				return err
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := "ghost-" + ev.Id + "-" + tt.name
			sent := rt.count("BatchWrite")
			begin := time.Now()
			err := tt.write(tt.ctx, key)
			if took := time.Since(begin); took > time.Second {
				t.Errorf("the write took %v to notice its context was over", took)
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			// The write may have been handed to a batch that leaves after
			// it returned: give that batch time to be sent.
			time.Sleep(100 * time.Millisecond)
			if n := rt.count("BatchWrite") - sent; n != 0 {
				t.Errorf("the write with its context over was sent anyway (%d BatchWrite calls)", n)
			}
			// Had the write been applied, its key would answer another
			// request with IDEMPOTENCY_KEY_REUSED.
			err = tt.redo(ctx, key)
			if client.Reason(err) == client.ReasonIdempotencyKeyReused {
				t.Errorf("the cancelled write was applied: its key is taken (%v)", err)
			}
		})
	}
	after, err := c.Availability(ctx, ev.Id)
	if err != nil {
		t.Fatal(err)
	}
	if after.AvailableQuantity != before.AvailableQuantity || after.BookedQuantity != before.BookedQuantity ||
		after.HeldSeats != before.HeldSeats || after.BookedSeats != before.BookedSeats {
		t.Errorf("cancelled writes changed availability from %v to %v", before, after)
	}
	if h, err := c.GetHold(ctx, hold.Id); err != nil || h.Status != bookdv1.HoldStatus_HOLD_STATUS_ACTIVE {
		t.Errorf("hold after a cancelled Confirm and ReleaseHold: %v, %v; want it still active", h, err)
	}
	if b, err := c.GetBooking(ctx, booking.Id); err != nil || b.Status != bookdv1.BookingStatus_BOOKING_STATUS_CONFIRMED {
		t.Errorf("booking after a cancelled CancelBooking: %v, %v; want it still confirmed", b, err)
	}
}

// blackHole listens on a port and accepts connections but never answers,
// as a paused or wedged node does. It returns the address.
func blackHole(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, conn)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String()
}

// WithAttemptTimeout bounds each attempt, so a node that accepts
// connections but never answers costs one attempt, not the whole call:
// the write is retried on the next node. This must hold with batching as
// without it, also for a write whose attempt runs out while its batch is
// still out: four writes take the silent node's four batch slots, and a
// fifth, sent 200ms later, leaves in a batch only when they time out, so
// its own attempt ends 200ms before its batch call does.
func TestBatchingAttemptTimeoutIsRetried(t *testing.T) {
	const attempt = 400 * time.Millisecond
	for _, tt := range []struct {
		name string
		opts []client.Option
	}{
		{"single calls", nil},
		{"batching", []client.Option{client.WithBatching(8)}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// The silent node comes first, so the first attempts go to it.
			eps := append([]string{blackHole(t)}, endpoints...)
			c := realClient(t, eps, append(tt.opts, client.WithAttemptTimeout(attempt))...)
			ev := newEvent(t, realClient(t, endpoints), 10)
			ctx := ctxWithTimeout(t, 15*time.Second)
			errs := make([]error, 5)
			book := func(i int) {
				b, err := c.Book(ctx, &bookdv1.BookRequest{EventId: ev.Id, CustomerId: fmt.Sprintf("c%d", i), Quantity: 1})
				if err == nil && b.GetCustomerId() != fmt.Sprintf("c%d", i) {
					err = fmt.Errorf("booked %v", b)
				}
				errs[i] = err
			}
			var wg sync.WaitGroup
			for i := range 4 {
				wg.Go(func() { book(i) })
			}
			time.Sleep(attempt / 2)
			book(4)
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Errorf("Book %d with the first node silent: %v (code %v); want it retried on another node", i, err, connect.CodeOf(err))
				}
			}
		})
	}
}

// disruption breaks a running cluster mid-load and mends it enough for
// bookings to go on.
type disruption struct {
	name string
	run  func(t *testing.T, cl *clustertest.Cluster)
}

var disruptions = []disruption{
	{"leader stopped", func(t *testing.T, cl *clustertest.Cluster) {
		old := cl.WaitReady()
		cl.Stop(old)
		if leader := cl.WaitReady(); leader == old {
			t.Fatal("no new leader")
		}
	}},
	// The leader keeps its writes in flight but can commit none of them:
	// they end UNAVAILABLE (outcome unknown), and some may yet commit once
	// the followers are back.
	{"quorum lost and regained", func(t *testing.T, cl *clustertest.Cluster) {
		leader := cl.WaitReady()
		var followers []*clustertest.Node
		for _, nd := range cl.Running() {
			if nd != leader {
				followers = append(followers, nd)
			}
		}
		for _, nd := range followers {
			cl.Stop(nd)
		}
		time.Sleep(1500 * time.Millisecond)
		for _, nd := range followers {
			cl.Restart(nd)
		}
		cl.WaitReady()
	}},
}

// A batching Client keeps booking through a leader change (the leader
// stopped; the leader cut off from its quorum and the quorum back): every
// call returns (a booking, or an error), and afterwards every write whose
// outcome was unknown is resolved by sending it again with the same
// idempotency key; the event then holds exactly one booking per write,
// each the one its caller was told of, on every node.
func TestBatchingSurvivesLeaderChange(t *testing.T) {
	for _, d := range disruptions {
		t.Run(d.name, func(t *testing.T) { batchingThrough(t, d) })
	}
}

func batchingThrough(t *testing.T, d disruption) {
	cl := clustertest.Start(t, 3, clustertest.Options{})
	log := &retryLog{}
	c := realClient(t, cl.Endpoints(), client.WithBatching(32), client.WithAttemptTimeout(2*time.Second), client.WithLogger(slog.New(log)))
	ev := newEvent(t, c, 1_000_000)

	type write struct {
		req     *bookdv1.BookRequest
		booking *bookdv1.Booking
		err     error
	}
	var (
		mu     sync.Mutex
		writes []*write
		acked  atomic.Int64
	)
	load, stop := context.WithCancel(context.Background())
	defer stop()
	var wg sync.WaitGroup
	for w := range 48 {
		wg.Go(func() {
			for n := 0; load.Err() == nil; n++ {
				wr := &write{req: &bookdv1.BookRequest{EventId: ev.Id, CustomerId: fmt.Sprintf("w%d-%d", w, n),
					Quantity: 1 + int64(n%2), IdempotencyKey: fmt.Sprintf("%s-w%d-%d", ev.Id, w, n)}}
				// Each call gets its own deadline: none may hang.
				ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
				wr.booking, wr.err = c.Book(ctx, wr.req)
				cancel()
				mu.Lock()
				writes = append(writes, wr)
				mu.Unlock()
				if wr.err == nil {
					acked.Add(1)
				}
			}
		})
	}
	waitAcked := func(n int64) {
		t.Helper()
		cl.Eventually(10*time.Second, func() error {
			if got := acked.Load(); got < n {
				return fmt.Errorf("%d bookings acknowledged, waiting for %d", got, n)
			}
			return nil
		})
	}
	waitAcked(200)
	d.run(t, cl)
	waitAcked(acked.Load() + 200) // bookings go on afterwards
	stop()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("calls still running 20s after the load stopped")
	}

	// Resolve every failed write by sending it again with its key.
	failed := 0
	for _, wr := range writes {
		if wr.err == nil {
			continue
		}
		failed++
		if code := connect.CodeOf(wr.err); code == connect.CodeFailedPrecondition || code == connect.CodeInvalidArgument || code == connect.CodeAlreadyExists {
			t.Errorf("write %s refused: %v", wr.req.IdempotencyKey, wr.err)
			continue
		}
		wr.booking, wr.err = c.Book(ctxWithTimeout(t, 10*time.Second), wr.req)
		if wr.err != nil {
			t.Fatalf("resending write %s: %v", wr.req.IdempotencyKey, wr.err)
		}
	}

	cl.WaitConverged()
	listed := listBookings(t, c, ev.Id)
	byCustomer := map[string]*bookdv1.Booking{}
	var qty int64
	for _, b := range listed {
		if prev, dup := byCustomer[b.CustomerId]; dup {
			t.Errorf("write of %s booked twice: %s and %s", b.CustomerId, prev.Id, b.Id)
		}
		byCustomer[b.CustomerId] = b
		qty += b.Quantity
	}
	var wantQty int64
	for _, wr := range writes {
		wantQty += wr.req.Quantity
		got, ok := byCustomer[wr.req.CustomerId]
		switch {
		case !ok:
			t.Errorf("write %s was acknowledged as %s but is not stored", wr.req.IdempotencyKey, wr.booking.GetId())
		case !proto.Equal(got, wr.booking):
			t.Errorf("write %s: stored %v, caller told %v", wr.req.IdempotencyKey, got, wr.booking)
		}
	}
	if len(listed) != len(writes) || qty != wantQty {
		t.Errorf("%d bookings of %d tickets stored for %d writes of %d tickets", len(listed), qty, len(writes), wantQty)
	}
	for _, nd := range cl.Running() {
		st, err := client.New([]string{nd.RPCAddr})
		if err != nil {
			t.Fatal(err)
		}
		// A follower learns the last commit with raft's next append (at most
		// its CommitTimeout later when idle): read until it has caught up.
		var av *bookdv1.GetAvailabilityResponse
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			av, err = st.Availability(ctxWithTimeout(t, 10*time.Second), ev.Id, client.Stale(0))
			if err != nil {
				st.Close()
				t.Fatal(err)
			}
			if av.BookedQuantity == wantQty || time.Now().After(deadline) {
				break
			}
		}
		st.Close()
		if av.BookedQuantity != wantQty {
			t.Errorf("%s: %d tickets booked, the writes booked %d", nd.ID, av.BookedQuantity, wantQty)
		}
	}
	retried := 0
	for _, wr := range writes {
		if log.retries(wr.req.IdempotencyKey) > 0 {
			retried++
		}
	}
	if retried == 0 {
		t.Errorf("no write was retried: the disruption did not reach the Client's retries")
	}
	for _, r := range log.retriedRefusals() {
		t.Errorf("a refusal was retried: %s", r)
	}
	t.Logf("%d writes: %d retried by the Client, %d failed and were resent", len(writes), retried, failed)
}
