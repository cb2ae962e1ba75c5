package main

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"

	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
)

// The order workload: shoppers buy tours. A tour is two GA events (the
// outward and the return leg, say), each selling adult tickets, the first
// of them at an early-bird price, and child tickets, of which there are
// fewer. An order is 2 or 3 items on the two events of one tour, all or
// nothing, and one order in ten names a voucher: mostly one of two that
// never run out, sometimes one good for a few orders only, which the audit
// checks was never redeemed more often than that.

// The prices and limits of a tour's events, in euro cents.
const (
	orderCurrency  = "EUR"
	adultCategory  = "adult"
	childCategory  = "child"
	adultPrice     = 4900
	earlyBirdPrice = 2900
	childPrice     = 1900
	// earlyBirdShare and childShare are the parts of an event's capacity
	// sold at the early-bird price and as child tickets at most.
	earlyBirdShare = 0.2
	childShare     = 0.25
	eventsPerTour  = 2
	// voucherShare is the share of orders that name a voucher; one in
	// limitedShare of those names the limited one while it lasts.
	voucherShare = 0.10
	limitedShare = 4
	// limitedRedemptions is how many orders the limited voucher is good for.
	limitedRedemptions = 25
	// MaxTours keeps the vouchers, which name every event of the run, within
	// the event_ids a voucher may list (fsm.MaxVoucherTargets).
	maxTours = 50
)

// tourSet is the inventory of the order workload and what the load
// generator knows has been sold of it: acknowledged orders are counted
// here so that shoppers ask for tickets that look left, and the run ends
// when no tour has both of its events with tickets left. Its event ids and
// voucher codes are set by prepare.
type tourSet struct {
	tours    [][]*tourEvent // each tour's events, eventsPerTour of them
	byID     map[string]*tourEvent
	vouchers []voucherPlan
	// limitedGone is set once an order was refused because the limited
	// voucher is used up: shoppers then stop naming it, as a portal would
	// stop offering it.
	limitedGone atomic.Bool

	mu    sync.Mutex
	acked map[string]Attempt // acknowledged orders by Attempt.Key
}

// tourEvent is one event of a tour: its plan and its acknowledged sales.
type tourEvent struct {
	name      string
	id        string // set by prepare
	capacity  int64
	earlyBird int64 // adult tickets in the early-bird tier
	childCap  int64 // the child category's capacity
	tickets   atomic.Int64
	child     atomic.Int64
}

// voucherPlan is one voucher of the run.
type voucherPlan struct {
	code           string // set by prepare: the run's own
	name           string // the code's stem, as progress and reports name it
	percentOff     int32
	maxRedemptions int64
}

// newTourSet plans tours of two events of capacity tickets each.
func newTourSet(tours int, capacity int64) *tourSet {
	s := &tourSet{byID: map[string]*tourEvent{}, acked: map[string]Attempt{}}
	for t := range tours {
		var events []*tourEvent
		for e := range eventsPerTour {
			events = append(events, &tourEvent{
				name:      fmt.Sprintf("bench-order-tour%d-leg%d", t+1, e+1),
				capacity:  capacity,
				earlyBird: max(1, int64(float64(capacity)*earlyBirdShare)),
				childCap:  max(1, int64(float64(capacity)*childShare)),
			})
		}
		s.tours = append(s.tours, events)
	}
	s.vouchers = []voucherPlan{
		{name: "TOUR10", percentOff: 10, maxRedemptions: 1_000_000_000},
		{name: "TOUR20", percentOff: 20, maxRedemptions: 1_000_000_000},
		{name: "LIMITED", percentOff: 50, maxRedemptions: limitedRedemptions},
	}
	return s
}

// newOrderVenue is the venue of the order workload.
func newOrderVenue(tours int, capacity int64) *venue {
	return &venue{inv: Inventory{Name: "bench-order", Capacity: int64(tours*eventsPerTour) * capacity},
		tours: newTourSet(tours, capacity)}
}

// limited is the voucher with few redemptions.
func (s *tourSet) limited() voucherPlan { return s.vouchers[len(s.vouchers)-1] }

// left is the event's tickets that look unsold.
func (e *tourEvent) left() int64 { return e.capacity - e.tickets.Load() }

// childLeft is the event's child tickets that look unsold.
func (e *tourEvent) childLeft() int64 { return min(e.childCap-e.child.Load(), e.left()) }

// next fills in a's order: 2 or 3 items on the events of a tour, drawn at
// random among those whose events both look to have tickets left, and
// perhaps a voucher. ok is false when no tour does.
func (s *tourSet) next(rnd *rand.Rand, a Attempt) (Attempt, bool) {
	start := rnd.IntN(len(s.tours))
	for k := range s.tours {
		if items := s.order(rnd, s.tours[(start+k)%len(s.tours)]); items != nil {
			a.Items = items
			a.Voucher = s.voucher(rnd)
			return a, true
		}
	}
	return a, false
}

// order draws the items of an order on tour: 1-2 adults on each event,
// and half the time a child on one of them, the events in either order;
// nil when an event of the tour looks sold out.
func (s *tourSet) order(rnd *rand.Rand, tour []*tourEvent) []Item {
	first, second := tour[0], tour[1]
	if rnd.IntN(2) == 0 {
		first, second = second, first
	}
	if first.left() <= 0 || second.left() <= 0 {
		return nil
	}
	withChild := -1 // which of the two has a child item
	if rnd.IntN(2) == 0 {
		withChild = rnd.IntN(2)
	}
	var items []Item
	for i, e := range []*tourEvent{first, second} {
		adults := min(1+rnd.Int64N(2), e.left())
		items = append(items, Item{Event: e.id, Category: adultCategory, Quantity: adults})
		if i == withChild && e.childLeft() > 0 && e.left() > adults {
			items = append(items, Item{Event: e.id, Category: childCategory, Quantity: 1})
		}
	}
	return items
}

// voucher is the code an order names: none nine times in ten.
func (s *tourSet) voucher(rnd *rand.Rand) string {
	if rnd.Float64() >= voucherShare {
		return ""
	}
	if !s.limitedGone.Load() && rnd.IntN(limitedShare) == 0 {
		return s.limited().code
	}
	return s.vouchers[rnd.IntN(len(s.vouchers)-1)].code
}

// soldOrder records an acknowledged order: its tickets, and the order
// itself for the audit to compare with what was stored.
func (s *tourSet) soldOrder(a Attempt) {
	for _, it := range a.Items {
		e := s.byID[it.Event]
		e.tickets.Add(it.Quantity)
		if it.Category == childCategory {
			e.child.Add(it.Quantity)
		}
	}
	s.mu.Lock()
	s.acked[a.Key] = a
	s.mu.Unlock()
}

// conflicted learns from a refused order: once the limited voucher is used
// up, nobody names it again. Tickets taken are learnt from acknowledged
// orders only, as for GA.
func (s *tourSet) conflicted(err error) {
	if errors.Is(err, errVoucherUsedUp) {
		s.limitedGone.Store(true)
	}
}

// ackedOrder is the acknowledged order with key, if any.
func (s *tourSet) ackedOrder(key string) (Attempt, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.acked[key]
	return a, ok
}

// soldOut reports whether every tour has an event that looks sold out.
func (s *tourSet) soldOut() bool {
	for _, tour := range s.tours {
		if tour[0].left() > 0 && tour[1].left() > 0 {
			return false
		}
	}
	return true
}

// sold is the share of the tours' tickets known sold.
func (s *tourSet) sold() float64 {
	var sold, capacity int64
	for _, tour := range s.tours {
		for _, e := range tour {
			sold += e.tickets.Load()
			capacity += e.capacity
		}
	}
	return float64(sold) / float64(capacity)
}

// categories are the event's ticket categories as created: adults, the
// first of them at the early-bird price, and fewer children.
func (e *tourEvent) categories() []*bookdv1.Category {
	return []*bookdv1.Category{
		{Name: adultCategory, Price: adultPrice, Currency: orderCurrency,
			Tiers: []*bookdv1.PriceTier{{Quantity: e.earlyBird, Price: earlyBirdPrice, Name: "early bird"}}},
		{Name: childCategory, Price: childPrice, Currency: orderCurrency, Capacity: e.childCap},
	}
}

// category is the event's category named name, or nil.
func (e *tourEvent) category(name string) *bookdv1.Category {
	for _, c := range e.categories() {
		if c.GetName() == name {
			return c
		}
	}
	return nil
}

// unitPrice is the price of a ticket of cat sold at tier: the tier's, or
// past the tiers the category's own; ok is false for no such tier.
func unitPrice(cat *bookdv1.Category, tier int32) (price int64, ok bool) {
	switch tiers := cat.GetTiers(); {
	case tier >= 0 && int(tier) < len(tiers):
		return tiers[tier].GetPrice(), true
	case int(tier) == len(tiers):
		return cat.GetPrice(), true
	}
	return 0, false
}

// events lists every event of the run, tour by tour.
func (s *tourSet) events() []*tourEvent {
	var out []*tourEvent
	for _, tour := range s.tours {
		out = append(out, tour...)
	}
	return out
}
