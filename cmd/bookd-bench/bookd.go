package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/bookd/bookd/client"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
)

// bookdTarget drives a bookd cluster through the client package, as the
// edge servers of a portal embedding it would: customers are spread over
// Edges clients, each with its own connections.
type bookdTarget struct {
	clients []*client.Client
	opts    bookdClientOptions
}

// bookdClientOptions are how the load generator's clients talk to bookd.
type bookdClientOptions struct {
	// BrowseStale bounds the staleness of the browse workload's reads, which
	// any node may serve (0: no bound); browse-lin reads linearizably.
	BrowseStale time.Duration
	// Connect calls the nodes with plain connect-go clients, one Book per
	// call, round-robin, instead of through the client package (see
	// connectTarget).
	Connect bool
	// HTTP1 uses HTTP/1.1 connections instead of HTTP/2.
	HTTP1 bool
	// Batch lets each client batch up to this many concurrent writes per
	// call (client.WithBatching); 0 sends every write alone.
	Batch int
	// Edges is the number of clients the customers are spread over.
	Edges int
}

func newBookdTarget(endpoints []string, customers int, o bookdClientOptions) (*bookdTarget, error) {
	t := &bookdTarget{opts: o}
	edges := max(1, min(o.Edges, customers))
	for range edges {
		opts := []client.Option{client.WithBatching(o.Batch)}
		if o.HTTP1 {
			opts = append(opts, client.WithHTTPClient(http1Client(customers/edges+1)))
		}
		c, err := client.New(endpoints, opts...)
		if err != nil {
			t.Close()
			return nil, err
		}
		t.clients = append(t.clients, c)
	}
	return t, nil
}

func (t *bookdTarget) Name() string { return "bookd" }

// client picks the client of the customer an attempt belongs to: the same
// customer always uses the same one.
func (t *bookdTarget) client(customer string) *client.Client {
	return t.clients[fnv32(customer)%uint32(len(t.clients))]
}

func (t *bookdTarget) Prepare(ctx context.Context, inv Inventory) (string, error) {
	ev, err := t.clients[0].CreateEvent(ctx, &bookdv1.CreateEventRequest{
		Name: inv.Name, Capacity: inv.Capacity, Seats: inv.Seats, IdempotencyKey: client.NewIdempotencyKey(),
	})
	if err != nil {
		return "", err
	}
	return ev.GetId(), nil
}

func (t *bookdTarget) Book(ctx context.Context, event string, a Attempt) error {
	// No key: the client makes one, which lets the leader refuse a claim of
	// sold inventory without the log (see client.WithBatching).
	_, err := t.client(a.Customer).Book(ctx, &bookdv1.BookRequest{
		EventId: eventOf(event, a), CustomerId: a.Customer, Quantity: a.Quantity, Seats: a.Seats, PaymentRef: paymentRef(a.Key),
		Items: itemsOf(a), VoucherCode: a.Voucher,
	})
	return conflictOrErr(err)
}

func (t *bookdTarget) Hold(ctx context.Context, event string, a Attempt) (string, error) {
	h, err := t.client(a.Customer).Hold(ctx, &bookdv1.HoldRequest{
		EventId: eventOf(event, a), CustomerId: a.Customer, Quantity: a.Quantity, Seats: a.Seats,
		Items: itemsOf(a), VoucherCode: a.Voucher,
	})
	if err != nil {
		return "", conflictOrErr(err)
	}
	return h.GetId(), nil
}

func (t *bookdTarget) Confirm(ctx context.Context, event, hold string, a Attempt) error {
	_, err := t.client(a.Customer).Confirm(ctx, &bookdv1.ConfirmRequest{
		HoldId: hold, PaymentRef: paymentRef(a.Key), IdempotencyKey: a.Key + "-confirm",
	})
	return err
}

// Browse reads availability through the client: a stale read stays on one
// node while it answers, a linearizable one goes to the leader.
func (t *bookdTarget) Browse(ctx context.Context, event string, linearizable bool) error {
	var opts []client.ReadOption
	if !linearizable {
		opts = append(opts, client.Stale(t.opts.BrowseStale))
	}
	_, err := t.clients[0].Availability(ctx, event, opts...)
	return err
}

// conflictOrErr marks the refusals a hot event gives as conflicts: its
// tickets or seats taken, or the redemptions of an order's voucher.
func conflictOrErr(err error) error {
	switch client.Reason(err) {
	case client.ReasonSoldOut, client.ReasonSeatTaken:
		return fmt.Errorf("%w: %v", ErrConflict, err)
	case client.ReasonVoucherUsedUp:
		return fmt.Errorf("%w: %w: %v", ErrConflict, errVoucherUsedUp, err)
	}
	return err
}

// errVoucherUsedUp marks a conflict over an order's voucher, redeemed as
// often as it may be.
var errVoucherUsedUp = errors.New("voucher used up")

// eventOf is the event a request for attempt a names: none for an order,
// whose items name theirs.
func eventOf(event string, a Attempt) string {
	if len(a.Items) > 0 {
		return ""
	}
	return event
}

// itemsOf are the items of an order attempt as bookd takes them (none for
// a single item).
func itemsOf(a Attempt) []*bookdv1.HoldItem {
	var items []*bookdv1.HoldItem
	for _, it := range a.Items {
		items = append(items, &bookdv1.HoldItem{EventId: it.Event, Category: it.Category, Quantity: it.Quantity})
	}
	return items
}

// Audit reads every booking of the event (linearizably, from the leader)
// and checks them against the event's counters. Calls still in flight when
// a run ends may commit meanwhile, so the counters are read before and after
// the bookings, and the reading is repeated until they agree.
func (t *bookdTarget) Audit(ctx context.Context, event string, inv Inventory) (Audit, error) {
	booked := func() (int64, error) {
		av, err := t.clients[0].Availability(ctx, event)
		if err != nil {
			return 0, fmt.Errorf("availability: %w", err)
		}
		if inv.Seats == nil {
			return av.GetBookedQuantity(), nil
		}
		return av.GetBookedSeats(), nil
	}
	for attempt := 1; ; attempt++ {
		before, err := booked()
		if err != nil {
			return Audit{}, err
		}
		a, err := t.readBookings(ctx, event)
		if err != nil {
			return a, err
		}
		after, err := booked()
		if err != nil {
			return a, err
		}
		if before != after && attempt < 20 {
			time.Sleep(100 * time.Millisecond) // still moving
			continue
		}
		if inv.Seats == nil {
			a.Oversold = max(0, a.Tickets-inv.Capacity)
		}
		a.CounterDiffers = after != a.Tickets
		return a, nil
	}
}

// readBookings counts the confirmed bookings of an event and the seats
// sold twice among them, and lists their attempts' keys (from their payment
// references).
func (t *bookdTarget) readBookings(ctx context.Context, event string) (Audit, error) {
	var a Audit
	owners := map[string]int{}
	token := ""
	for {
		page, err := t.clients[0].ListBookings(ctx, &bookdv1.ListBookingsRequest{EventId: event, PageSize: 1000, PageToken: token})
		if err != nil {
			return a, fmt.Errorf("list bookings: %w", err)
		}
		for _, b := range page.GetBookings() {
			if b.GetStatus() != bookdv1.BookingStatus_BOOKING_STATUS_CONFIRMED {
				continue
			}
			a.Bookings++
			a.Keys = append(a.Keys, attemptOfPaymentRef(b.GetPaymentRef()))
			a.Tickets += b.GetQuantity() // a seated booking's quantity is its number of seats
			for _, s := range b.GetSeats() {
				if owners[s]++; owners[s] == 2 {
					a.DoubleSold++
				}
			}
		}
		if token = page.GetNextPageToken(); token == "" {
			return a, nil
		}
	}
}

func (t *bookdTarget) Close() error {
	var errs []error
	for _, c := range t.clients {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// http1Client keeps one HTTP/1.1 connection per concurrent call instead of
// multiplexing calls over HTTP/2.
func http1Client(conns int) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = conns
	t.Protocols = new(http.Protocols)
	t.Protocols.SetHTTP1(true)
	return &http.Client{Transport: t}
}
