package rpc_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/proto/bookd/v1/bookdv1connect"
	"github.com/bookd/bookd/rpc/clustertest"
	"google.golang.org/protobuf/proto"
)

// ledger is what clients were told: every acknowledged booking, and the
// calls cut off before they got an answer.
type ledger struct {
	mu       sync.Mutex
	bookings map[string]*bookdv1.Booking
	unknown  []func(context.Context) (*bookdv1.Booking, error) // retries of cut-off calls
}

// resolve learns the outcome of every cut-off call by retrying it with the
// same idempotency key: a retry returns the first outcome, or makes the
// call for the first time.
func (l *ledger) resolve(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, call := range l.unknown {
		b, err := call(ctx)
		switch {
		case err == nil:
			l.add(b)
		case codeOf(err) != connect.CodeFailedPrecondition:
			t.Fatalf("retry of a cut-off call: %v", err)
		}
	}
	l.unknown = nil
}

func (l *ledger) add(b *bookdv1.Booking) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if prev, ok := l.bookings[b.Id]; ok && !proto.Equal(prev, b) {
		panic(fmt.Sprintf("booking %s acknowledged twice with different content", b.Id))
	}
	l.bookings[b.Id] = b
}

// storm runs clients racing for an event's seats and GA tickets through
// every running node until ctx ends or the event is sold out.
func storm(ctx context.Context, c *clustertest.Cluster, ev *bookdv1.Event, clients int, l *ledger) {
	var wg sync.WaitGroup
	for w := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			// Every attempt goes to a node that is up now.
			anyNode := func() bookdv1connect.BookingServiceClient {
				eps := c.Endpoints()
				return bookingClient(eps[rng.IntN(len(eps))])
			}
			for attempt := 0; ctx.Err() == nil; attempt++ {
				req := &bookdv1.BookRequest{EventId: ev.Id, CustomerId: fmt.Sprintf("cust-%d", w),
					IdempotencyKey: fmt.Sprintf("w%d-a%d", w, attempt), PaymentRef: "pay"}
				if w%2 == 0 {
					req.Quantity = int64(1 + rng.IntN(3))
				} else {
					a, b := rng.IntN(len(ev.Seats)), rng.IntN(len(ev.Seats))
					req.Seats = []string{ev.Seats[a]}
					if a != b {
						req.Seats = append(req.Seats, ev.Seats[b])
					}
				}
				call := func(ctx context.Context) (*bookdv1.Booking, error) {
					if w%3 == 0 { // hold, then confirm
						return holdAndConfirm(ctx, anyNode, req)
					}
					resp, err := retry(ctx, func(ctx context.Context) (*bookdv1.BookResponse, error) { return anyNode().Book(ctx, req) })
					return resp.GetBooking(), err
				}
				b, err := call(ctx)
				switch code := codeOf(err); {
				case err == nil:
					l.add(b)
				case code == connect.CodeFailedPrecondition:
					av, aerr := retry(ctx, func(ctx context.Context) (*bookdv1.GetAvailabilityResponse, error) {
						return anyNode().GetAvailability(ctx, &bookdv1.GetAvailabilityRequest{EventId: ev.Id})
					})
					if aerr == nil && av.AvailableQuantity == 0 && len(av.FreeSeats) == 0 && av.HeldQuantity == 0 && av.HeldSeats == 0 {
						return
					}
				case ctx.Err() != nil:
					l.mu.Lock()
					l.unknown = append(l.unknown, call)
					l.mu.Unlock()
					return
				default:
					panic(fmt.Sprintf("worker %d: unexpected error %v", w, err))
				}
			}
		}()
	}
	wg.Wait()
}

func holdAndConfirm(ctx context.Context, anyNode func() bookdv1connect.BookingServiceClient, r *bookdv1.BookRequest) (*bookdv1.Booking, error) {
	hreq := &bookdv1.HoldRequest{EventId: r.EventId, CustomerId: r.CustomerId, Quantity: r.Quantity, Seats: r.Seats, IdempotencyKey: r.IdempotencyKey + "-hold"}
	h, err := retry(ctx, func(ctx context.Context) (*bookdv1.HoldResponse, error) { return anyNode().Hold(ctx, hreq) })
	if err != nil {
		return nil, err
	}
	creq := &bookdv1.ConfirmRequest{HoldId: h.Hold.Id, PaymentRef: r.PaymentRef, IdempotencyKey: r.IdempotencyKey + "-confirm"}
	resp, err := retry(ctx, func(ctx context.Context) (*bookdv1.ConfirmResponse, error) { return anyNode().Confirm(ctx, creq) })
	return resp.GetBooking(), err
}

// checkLedger asserts that no seat was sold twice, GA was not oversold, the
// acknowledged bookings are exactly what the cluster sold, and every node
// has every acknowledged booking.
func checkLedger(t *testing.T, c *clustertest.Cluster, ev *bookdv1.Event, l *ledger) {
	t.Helper()
	l.resolve(t)
	c.WaitConverged()
	seatOwner := map[string]string{}
	var ga int64
	for id, b := range l.bookings {
		if b.EventId != ev.Id || b.Status != bookdv1.BookingStatus_BOOKING_STATUS_CONFIRMED {
			t.Errorf("booking %s = %v", id, b)
		}
		for _, s := range b.Seats {
			if other, taken := seatOwner[s]; taken {
				t.Errorf("seat %s sold twice: %s and %s", s, other, id)
			}
			seatOwner[s] = id
		}
		if len(b.Seats) == 0 {
			ga += b.Quantity
		}
	}
	if ga > ev.Capacity {
		t.Errorf("GA oversold: %d of %d", ga, ev.Capacity)
	}
	ctx := context.Background()
	for _, nd := range c.Running() {
		cl := bookingClient(nd.RPCAddr)
		av, err := cl.GetAvailability(ctx, &bookdv1.GetAvailabilityRequest{EventId: ev.Id, Read: staleRead()})
		if err != nil {
			t.Fatalf("%s: availability: %v", nd.ID, err)
		}
		if av.BookedQuantity != ga || av.BookedSeats != int64(len(seatOwner)) {
			t.Errorf("%s sold %d GA and %d seats; clients were told of %d and %d", nd.ID, av.BookedQuantity, av.BookedSeats, ga, len(seatOwner))
		}
		if av.BookedQuantity+av.HeldQuantity+av.AvailableQuantity != ev.Capacity || av.BookedQuantity > ev.Capacity {
			t.Errorf("%s: GA counters %v do not add up to capacity %d", nd.ID, av, ev.Capacity)
		}
		for id, want := range l.bookings {
			got, err := cl.GetBooking(ctx, &bookdv1.GetBookingRequest{BookingId: id, Read: staleRead()})
			if err != nil {
				t.Fatalf("%s: acknowledged booking %s: %v", nd.ID, id, err)
			}
			if !proto.Equal(got.Booking, want) {
				t.Errorf("%s: booking %s = %v, acknowledged %v", nd.ID, id, got.Booking, want)
			}
		}
	}
}

func seatLabels(n int) []string {
	s := make([]string, n)
	for i := range s {
		s[i] = fmt.Sprintf("A%d", i+1)
	}
	return s
}

func TestStormNeverOversells(t *testing.T) {
	c := clustertest.Start(t, 3, clustertest.Options{})
	ev := createEvent(t, c.Nodes[0].RPCAddr, 50, seatLabels(20))
	l := &ledger{bookings: map[string]*bookdv1.Booking{}}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	storm(ctx, c, ev, 120, l)
	if ctx.Err() != nil {
		t.Fatalf("the storm did not sell out within the deadline")
	}
	checkLedger(t, c, ev, l)
	var ga int64
	seats := 0
	for _, b := range l.bookings {
		seats += len(b.Seats)
		if len(b.Seats) == 0 {
			ga += b.Quantity
		}
	}
	if ga != 50 || seats != 20 {
		t.Errorf("sold out with %d GA and %d seats acknowledged, want 50 and 20", ga, seats)
	}
	t.Logf("%d bookings acknowledged", len(l.bookings))
}

func (l *ledger) snapshot() map[string]*bookdv1.Booking {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := make(map[string]*bookdv1.Booking, len(l.bookings))
	for k, v := range l.bookings {
		m[k] = v
	}
	return m
}
