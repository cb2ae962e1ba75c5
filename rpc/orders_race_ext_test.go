package rpc_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/proto/bookd/v1/bookdv1connect"
	"github.com/bookd/bookd/rpc/clustertest"
)

// TestOrderRaces: what orders count (a price tier's tickets, a voucher's
// redemptions) raced by concurrent shoppers, each its own customer, sent
// to all three nodes of one cluster: never one more than there is.
func TestOrderRaces(t *testing.T) {
	c := clustertest.Start(t, 3, clustertest.Options{})
	c.WaitReady()
	var nodes []bookdv1connect.BookingServiceClient
	for _, nd := range c.Nodes {
		nodes = append(nodes, bookingClient(nd.RPCAddr))
	}
	t.Run("early bird", func(t *testing.T) { raceEarlyBird(t, c, nodes) })
	t.Run("voucher", func(t *testing.T) { raceVoucher(t, nodes) })
}

// A tour on two dates sells adults at 5000, the first 10 at 3000, and
// children at 2500. 100 shoppers at once each take one or two adults on
// the first date, alone or in an order with a child on the second, on
// hold or (every fifth) booked at once: exactly 10 tickets are sold at the
// early-bird price, the rest at the adults' price, and GetAvailability
// says so. Early-bird tickets a release or an expiry frees go back to the
// tier: the next hold gets them at 3000.
func raceEarlyBird(t *testing.T, c *clustertest.Cluster, nodes []bookdv1connect.BookingServiceClient) {
	ctx := context.Background()
	product := orFatal(retry(ctx, func(ctx context.Context) (*bookdv1.CreateProductResponse, error) {
		return nodes[0].CreateProduct(ctx, &bookdv1.CreateProductRequest{Name: "City tour", IdempotencyKey: "race-tour"})
	}))(t).GetProduct().GetId()
	start := time.Date(2031, 5, 1, 10, 0, 0, 0, time.UTC)
	var dates [2]string
	for d := range dates {
		dates[d] = orFatal(retry(ctx, func(ctx context.Context) (*bookdv1.CreateEventResponse, error) {
			return nodes[1].CreateEvent(ctx, &bookdv1.CreateEventRequest{Name: fmt.Sprintf("City tour, day %d", d+1),
				ProductId: product, StartsAt: timestamppb.New(start.AddDate(0, 0, d)), TimeZone: "Europe/Vienna",
				Capacity: 300, Categories: tourCategories(), IdempotencyKey: "race-tour-" + itoa(d)})
		}))(t).GetEvent().GetId()
	}

	const shoppers = 100
	sales := make([]sale, shoppers)
	errs := make([]error, shoppers)
	var adults, booked, children int64
	var wg sync.WaitGroup
	begin := make(chan struct{})
	for i := range shoppers {
		adult := &bookdv1.HoldItem{EventId: dates[0], Category: "adult", Quantity: 1 + int64(i%3/2)} // every third takes two
		r := &bookdv1.HoldRequest{CustomerId: fmt.Sprintf("shopper-%d", i), IdempotencyKey: "early-" + itoa(i)}
		if i%2 == 0 {
			r.EventId, r.Category, r.Quantity = adult.EventId, adult.Category, adult.Quantity
		} else {
			r.Items = []*bookdv1.HoldItem{adult, {EventId: dates[1], Category: "child", Quantity: 1}}
			children++
		}
		adults += adult.Quantity
		buys := i%5 == 4 // every fifth books at once
		if buys {
			booked += adult.Quantity
		}
		wg.Go(func() {
			<-begin
			sales[i], errs[i] = buy(ctx, nodes[i%3], r, buys)
		})
	}
	close(begin)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("shopper %d: %v", i, err)
		}
	}

	var early, full int64
	for i, s := range sales {
		e, f := adultTiers(t, s, dates[0])
		early, full = early+e, full+f
		var sum int64
		for _, it := range s.items {
			sum += it.GetAmount()
		}
		if s.total != sum || s.currency != "EUR" {
			t.Errorf("shopper %d: total %d %s, want the items' %d EUR", i, s.total, s.currency, sum)
		}
	}
	if early != 10 || early+full != adults {
		t.Errorf("%d adult tickets sold at the early-bird price and %d at the adults', want 10 and %d", early, full, adults-10)
	}
	for n, bc := range nodes {
		a := categoryOf(t, availabilityOf(t, bc, dates[0]), "adult")
		if a.GetTier() != 1 || a.GetPrice() != 5000 || a.GetTierLeft() != 0 || a.GetHeld() != adults-booked || a.GetBooked() != booked || a.GetAvailable() != 300-adults {
			t.Errorf("node %d: adults %v, want at the adults' price (tier 1, 5000, none left in the tier), %d held, %d booked, %d available",
				n, a, adults-booked, booked, 300-adults)
		}
		c := categoryOf(t, availabilityOf(t, bc, dates[1]), "child")
		if c.GetHeld()+c.GetBooked() != children || c.GetPrice() != 2500 {
			t.Errorf("node %d: children %v, want %d held or booked at 2500", n, c, children)
		}
	}

	// Release three holds with early-bird tickets: those go back to the tier.
	var freed int64
	released := 0
	for i, s := range sales {
		if e, _ := adultTiers(t, s, dates[0]); e > 0 && s.hold != "" && released < 3 {
			orFatal(retry(ctx, func(ctx context.Context) (*bookdv1.ReleaseHoldResponse, error) {
				return nodes[i%3].ReleaseHold(ctx, &bookdv1.ReleaseHoldRequest{HoldId: s.hold, IdempotencyKey: "release-" + s.hold})
			}))(t)
			freed += e
			released++
		}
	}
	wantTier := func(state string, tier int32, left int64) {
		t.Helper()
		a := categoryOf(t, availabilityOf(t, nodes[2], dates[0]), "adult")
		if a.GetTier() != tier || a.GetTierLeft() != left {
			t.Errorf("%s: adults at tier %d with %d left, want tier %d with %d", state, a.GetTier(), a.GetTierLeft(), tier, left)
		}
	}
	wantTier("after the releases", 0, freed)

	// A hold of one that expires gives its early-bird ticket back too.
	brief := orFatal(retry(ctx, func(ctx context.Context) (*bookdv1.HoldResponse, error) {
		return nodes[1].Hold(ctx, &bookdv1.HoldRequest{EventId: dates[0], Category: "adult", Quantity: 1, CustomerId: "brief",
			Ttl: durationpb.New(time.Second), IdempotencyKey: "brief"})
	}))(t).GetHold()
	if e, _ := adultTiers(t, saleOf(brief), dates[0]); e != 1 {
		t.Errorf("a hold after the releases got %d early-bird tickets, want 1", e)
	}
	wantTier("while a hold of one is live", 0, freed-1)
	c.Eventually(30*time.Second, func() error {
		a := categoryOf(t, availabilityOf(t, nodes[0], dates[0]), "adult")
		if a.GetTierLeft() != freed {
			return fmt.Errorf("%d early-bird tickets left, want %d once hold %s expired", a.GetTierLeft(), freed, brief.GetId())
		}
		return nil
	})
	last := orFatal(retry(ctx, func(ctx context.Context) (*bookdv1.HoldResponse, error) {
		return nodes[2].Hold(ctx, &bookdv1.HoldRequest{EventId: dates[0], Category: "adult", Quantity: freed + 1, CustomerId: "last",
			IdempotencyKey: "last"})
	}))(t).GetHold()
	if e, f := adultTiers(t, saleOf(last), dates[0]); e != freed || f != 1 {
		t.Errorf("the next hold of %d got %d early-bird and %d full-price tickets, want %d and 1", freed+1, e, f, freed)
	}
	wantTier("after the next hold", 1, 0)
}

// A voucher good for 5 orders, raced by 50 at once, each a hold of one
// adult on the event it is for, some with a second item on another event:
// exactly 5 holds carry it, the rest are refused VOUCHER_USED_UP and hold
// nothing; releasing one of the 5 lets exactly one more in. GetVoucher's
// redeemed agrees on every node at every step.
func raceVoucher(t *testing.T, nodes []bookdv1connect.BookingServiceClient) {
	ctx := context.Background()
	var events [2]string
	for d := range events {
		events[d] = orFatal(retry(ctx, func(ctx context.Context) (*bookdv1.CreateEventResponse, error) {
			return nodes[d].CreateEvent(ctx, &bookdv1.CreateEventRequest{Name: "Voucher race " + itoa(d), Capacity: 100,
				Categories: []*bookdv1.Category{{Name: "adult", Price: 4000, Currency: "EUR"}}, IdempotencyKey: "voucher-race-" + itoa(d)})
		}))(t).GetEvent().GetId()
	}
	const code = "RACE-FIVE"
	orFatal(retry(ctx, func(ctx context.Context) (*bookdv1.CreateVoucherResponse, error) {
		return nodes[2].CreateVoucher(ctx, &bookdv1.CreateVoucherRequest{IdempotencyKey: code, Voucher: &bookdv1.Voucher{
			Code: code, PercentOff: 20, EventIds: []string{events[0]}, MaxRedemptions: 5}})
	}))(t)

	wantRedeemed := func(state string, n int64) {
		t.Helper()
		for i, bc := range nodes {
			v := orFatal(bc.GetVoucher(ctx, &bookdv1.GetVoucherRequest{Code: code}))(t).GetVoucher()
			if v.GetRedeemed() != n {
				t.Errorf("%s: node %d says %d redemptions, want %d", state, i, v.GetRedeemed(), n)
			}
		}
	}
	// race sends n orders at once and returns the holds placed, checking
	// that every other order was refused for the voucher being used up.
	race := func(round string, n int) []*bookdv1.Hold {
		t.Helper()
		var (
			mu     sync.Mutex
			placed []*bookdv1.Hold
			wg     sync.WaitGroup
		)
		begin := make(chan struct{})
		for i := range n {
			r := &bookdv1.HoldRequest{CustomerId: fmt.Sprintf("%s-%d", round, i), VoucherCode: code, IdempotencyKey: round + itoa(i),
				Items: []*bookdv1.HoldItem{{EventId: events[0], Category: "adult", Quantity: 1}}}
			if i%2 == 1 {
				r.Items = append(r.Items, &bookdv1.HoldItem{EventId: events[1], Category: "adult", Quantity: 1})
			}
			wg.Go(func() {
				<-begin
				resp, err := retry(ctx, func(ctx context.Context) (*bookdv1.HoldResponse, error) { return nodes[i%3].Hold(ctx, r) })
				if err != nil {
					if connect.CodeOf(err) != connect.CodeFailedPrecondition || errorReason(err) != "VOUCHER_USED_UP" {
						t.Errorf("order %s-%d: %v, want VOUCHER_USED_UP", round, i, err)
					}
					return
				}
				mu.Lock()
				placed = append(placed, resp.GetHold())
				mu.Unlock()
			})
		}
		close(begin)
		wg.Wait()
		for _, h := range placed {
			if h.GetVoucherCode() != code || h.GetDiscount() != 800 || h.GetItems()[0].GetDiscount() != 800 {
				t.Errorf("hold %s: voucher %q, discount %d, want %s taking 20%% of the 4000 on %s", h.GetId(), h.GetVoucherCode(), h.GetDiscount(), code, events[0])
			}
		}
		return placed
	}
	// held is the tickets held on each event.
	held := func() (out [2]int64) {
		for d, ev := range events {
			out[d] = availabilityOf(t, nodes[d], ev).GetHeldQuantity()
		}
		return out
	}
	// want is the tickets the holds hold on each event.
	want := func(holds []*bookdv1.Hold) (out [2]int64) {
		for _, h := range holds {
			for _, it := range h.GetItems() {
				if it.GetEventId() == events[0] {
					out[0] += it.GetQuantity()
				} else {
					out[1] += it.GetQuantity()
				}
			}
		}
		return out
	}

	placed := race("first", 50)
	if len(placed) != 5 {
		t.Fatalf("%d of 50 orders carry the voucher good for 5", len(placed))
	}
	wantRedeemed("after the race", 5)
	if got, w := held(), want(placed); got != w {
		t.Errorf("tickets held %v, want the placed holds' %v: refused orders hold nothing", got, w)
	}

	gone := placed[0]
	orFatal(retry(ctx, func(ctx context.Context) (*bookdv1.ReleaseHoldResponse, error) {
		return nodes[1].ReleaseHold(ctx, &bookdv1.ReleaseHoldRequest{HoldId: gone.GetId(), IdempotencyKey: "release-" + gone.GetId()})
	}))(t)
	wantRedeemed("after a release", 4)

	more := race("second", 10)
	if len(more) != 1 {
		t.Fatalf("%d of 10 orders got the redemption a release gave back, want 1", len(more))
	}
	wantRedeemed("after the second race", 5)
	if got, w := held(), want(append(placed[1:], more...)); got != w {
		t.Errorf("tickets held %v, want the live holds' %v", got, w)
	}
}

// sale is what a shopper got: a hold, or a booking (hold "").
type sale struct {
	hold     string
	items    []*bookdv1.OrderItem
	total    int64
	currency string
}

func saleOf(h *bookdv1.Hold) sale {
	return sale{hold: h.GetId(), items: h.GetItems(), total: h.GetTotal(), currency: h.GetCurrency()}
}

// buy places a hold as r asks, or with book a booking of the same items.
func buy(ctx context.Context, bc bookdv1connect.BookingServiceClient, r *bookdv1.HoldRequest, book bool) (sale, error) {
	if !book {
		resp, err := retry(ctx, func(ctx context.Context) (*bookdv1.HoldResponse, error) { return bc.Hold(ctx, r) })
		return saleOf(resp.GetHold()), err
	}
	resp, err := retry(ctx, func(ctx context.Context) (*bookdv1.BookResponse, error) {
		return bc.Book(ctx, &bookdv1.BookRequest{CustomerId: r.GetCustomerId(), IdempotencyKey: r.GetIdempotencyKey(),
			EventId: r.GetEventId(), Category: r.GetCategory(), Quantity: r.GetQuantity(), Items: r.GetItems()})
	})
	b := resp.GetBooking()
	return sale{items: b.GetItems(), total: b.GetTotal(), currency: b.GetCurrency()}, err
}

// adultTiers counts a sale's adult tickets on an event at the early-bird
// price (tier 0) and at the adults' own (tier 1), checking each line's
// price and each item's amount.
func adultTiers(t *testing.T, s sale, event string) (early, full int64) {
	t.Helper()
	for _, it := range s.items {
		if it.GetEventId() != event || it.GetCategory() != "adult" {
			continue
		}
		var amount int64
		for _, l := range it.GetPrices() {
			switch {
			case l.GetTier() == 0 && l.GetUnitPrice() == 3000:
				early += l.GetQuantity()
			case l.GetTier() == 1 && l.GetUnitPrice() == 5000:
				full += l.GetQuantity()
			default:
				t.Errorf("price line %v of an adult ticket, want tier 0 at 3000 or tier 1 at 5000", l)
			}
			amount += l.GetQuantity() * l.GetUnitPrice()
		}
		if amount != it.GetAmount() {
			t.Errorf("item amount %d, its lines add up to %d", it.GetAmount(), amount)
		}
	}
	return early, full
}

func availabilityOf(t *testing.T, bc bookdv1connect.BookingServiceClient, ev string) *bookdv1.GetAvailabilityResponse {
	t.Helper()
	return orFatal(bc.GetAvailability(context.Background(), &bookdv1.GetAvailabilityRequest{EventId: ev}))(t)
}

// errorReason is a refusal's reason from its ErrorInfo ("" without one).
func errorReason(err error) string {
	if info := detail[*errdetails.ErrorInfo](err); info != nil {
		return info.GetReason()
	}
	return ""
}

// orFatal returns a call's result, failing the test on its error.
func orFatal[T any](v T, err error) func(testing.TB) T {
	return func(t testing.TB) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}
