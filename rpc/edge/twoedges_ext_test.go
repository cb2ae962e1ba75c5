package edge_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/bookd/bookd/client"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/proto/bookd/v1/bookdv1connect"
	"github.com/bookd/bookd/rpc/clustertest"
	"github.com/bookd/bookd/rpc/edge"
)

// edgeClient is a new shopper's client of run: one browser, whose session
// cookie makes it one guest customer.
func edgeClient(run *edge.Running) bookdv1connect.BookingServiceClient {
	return shopperClient(newJar(), run)
}

// shopperClient is a client of run for the shopper whose cookies jar
// keeps: the same guest on every edge of a test (they share a session key).
func shopperClient(jar http.CookieJar, run *edge.Running) bookdv1connect.BookingServiceClient {
	return bookdv1connect.NewBookingServiceClient(&http.Client{Jar: jar}, "http://"+run.Addr(), connect.WithProtoJSON())
}

func newJar() http.CookieJar {
	jar, err := cookiejar.New(nil)
	if err != nil {
		panic(err)
	}
	return jar
}

// TestTwoEdgesNeverSellTheSameSeat races shoppers through two edges, each
// with its own cache, at the same seats and the same GA tickets: every seat
// is held at most once and no more GA tickets are held than there are.
func TestTwoEdgesNeverSellTheSameSeat(t *testing.T) {
	c := clustertest.Start(t, 3, clustertest.Options{})
	cl := newClient(t, c.Endpoints())
	var seats []string
	for i := range 12 {
		seats = append(seats, fmt.Sprintf("%c%d", 'A'+i/4, i%4+1))
	}
	const capacity = 15
	ev := createEvent(t, cl, &bookdv1.CreateEventRequest{Name: "Flash sale", Capacity: capacity, Seats: seats})
	edges := []bookdv1connect.BookingServiceClient{}
	for range 2 {
		run, _ := startEdge(t, c, edge.Config{Staleness: time.Second})
		edges = append(edges, edgeClient(run))
	}

	var mu sync.Mutex
	holder := map[string]string{} // seat -> hold id
	gaHeld := int64(0)
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ec := edges[w%2]
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for i := range 12 {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				req := &bookdv1.HoldRequest{EventId: ev.GetId(), IdempotencyKey: fmt.Sprintf("w%d-%d", w, i)}
				if i%2 == 0 {
					a := seats[rng.IntN(len(seats))]
					b := seats[rng.IntN(len(seats))]
					req.Seats = []string{a}
					if b != a {
						req.Seats = append(req.Seats, b)
					}
				} else {
					req.Quantity = int64(1 + rng.IntN(3))
				}
				res, err := ec.Hold(ctx, req)
				cancel()
				if err != nil {
					if r := client.Reason(err); r != client.ReasonSeatTaken && r != client.ReasonSoldOut {
						t.Errorf("hold %v through edge %d: %v", req.GetSeats(), w%2, err)
					}
					continue
				}
				mu.Lock()
				for _, s := range res.GetHold().GetSeats() {
					if prev, ok := holder[s]; ok {
						t.Errorf("seat %s held twice: holds %s and %s", s, prev, res.GetHold().GetId())
					}
					holder[s] = res.GetHold().GetId()
				}
				if len(res.GetHold().GetSeats()) == 0 {
					gaHeld += res.GetHold().GetQuantity()
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if gaHeld > capacity {
		t.Fatalf("%d GA tickets held of %d", gaHeld, capacity)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	av, err := cl.Availability(ctx, ev.GetId())
	if err != nil {
		t.Fatal(err)
	}
	if av.GetHeldSeats() != int64(len(holder)) || av.GetHeldQuantity() != gaHeld {
		t.Fatalf("cluster counts %d seats and %d tickets held; the edges' callers got %d and %d",
			av.GetHeldSeats(), av.GetHeldQuantity(), len(holder), gaHeld)
	}
	if len(holder) == 0 || gaHeld == 0 {
		t.Fatalf("nothing was held (%d seats, %d tickets): the race tested nothing", len(holder), gaHeld)
	}
}

// TestEdgeShedsPastClientRate: past its rate a client gets
// RESOURCE_EXHAUSTED at once, with a retry-after hint.
func TestEdgeShedsPastClientRate(t *testing.T) {
	c := clustertest.Start(t, 1, clustertest.Options{})
	cl := newClient(t, c.Endpoints())
	ev := createEvent(t, cl, &bookdv1.CreateEventRequest{Name: "Rate limited", Capacity: 5})
	run, _ := startEdge(t, c, edge.Config{ClientRate: 0.5, ClientBurst: 3})
	ec := edgeClient(run)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := range 3 {
		if _, err := ec.GetAvailability(ctx, &bookdv1.GetAvailabilityRequest{EventId: ev.GetId()}); err != nil {
			t.Fatalf("call %d within the burst: %v", i+1, err)
		}
	}
	_, err := ec.GetAvailability(ctx, &bookdv1.GetAvailabilityRequest{EventId: ev.GetId()})
	if connect.CodeOf(err) != connect.CodeResourceExhausted {
		t.Fatalf("call past the burst: got %v, want RESOURCE_EXHAUSTED", err)
	}
	if d := client.RetryAfter(err); d <= 0 || d > 2*time.Second {
		t.Fatalf("retry-after hint %v, want about the 2s a token takes at 0.5/s", d)
	}
}

// TestEdgeRefusesOperatorCalls: an edge does not create events or list
// bookings; that is for nodes.
func TestEdgeRefusesOperatorCalls(t *testing.T) {
	c := clustertest.Start(t, 1, clustertest.Options{})
	run, _ := startEdge(t, c, edge.Config{})
	ec := edgeClient(run)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := ec.CreateEvent(ctx, &bookdv1.CreateEventRequest{Name: "x", Capacity: 1})
	if connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Fatalf("CreateEvent through an edge: %v, want PERMISSION_DENIED", err)
	}
	_, err = ec.Hold(ctx, &bookdv1.HoldRequest{Quantity: 1})
	if connect.CodeOf(err) != connect.CodeInvalidArgument {
		t.Fatalf("Hold without event_id: %v, want INVALID_ARGUMENT", err)
	}
}

// TestKillingAnEdgeLosesNothing: a hold made through one edge is confirmed
// through another after the first is gone.
func TestKillingAnEdgeLosesNothing(t *testing.T) {
	c := clustertest.Start(t, 3, clustertest.Options{})
	cl := newClient(t, c.Endpoints())
	ev := createEvent(t, cl, &bookdv1.CreateEventRequest{Name: "Edge crash", Seats: []string{"A1", "A2"}})
	runA, _ := startEdge(t, c, edge.Config{})
	runB, _ := startEdge(t, c, edge.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	jar := newJar() // one shopper, moving from edge A to edge B
	h, err := shopperClient(jar, runA).Hold(ctx, &bookdv1.HoldRequest{EventId: ev.GetId(), Seats: []string{"A2"}, IdempotencyKey: "crash-hold"})
	if err != nil {
		t.Fatal(err)
	}
	if err := runA.Close(); err != nil {
		t.Fatal(err)
	}
	b := shopperClient(jar, runB)
	bk, err := b.Confirm(ctx, &bookdv1.ConfirmRequest{HoldId: h.GetHold().GetId(), PaymentRef: "p1", IdempotencyKey: "crash-confirm"})
	if err != nil {
		t.Fatalf("confirm through the other edge: %v", err)
	}
	got, err := b.GetBooking(ctx, &bookdv1.GetBookingRequest{BookingId: bk.GetBooking().GetId()})
	if err != nil || got.GetBooking().GetSeats()[0] != "A2" {
		t.Fatalf("booking through the other edge: %v, %v", got, err)
	}
	av, err := b.GetAvailability(ctx, &bookdv1.GetAvailabilityRequest{EventId: ev.GetId()})
	if err != nil || len(av.GetFreeSeats()) != 1 || av.GetFreeSeats()[0] != "A1" {
		t.Fatalf("availability through the other edge after the booking: %v, %v", av, err)
	}
}
