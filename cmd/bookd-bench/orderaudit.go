package main

import (
	"fmt"
	"slices"
	"strings"

	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
)

// orderAudit is what the order workload's audit found besides Audit's
// counts: whether each order is stored as asked and priced right, and
// whether categories, tiers, vouchers and the system's own counters held.
type orderAudit struct {
	Orders     int64 `json:"orders"` // confirmed orders stored
	Items      int64 `json:"items"`
	Tickets    int64 `json:"tickets"`
	EarlyBird  int64 `json:"early_bird_tickets"` // adult tickets sold at the early-bird price
	Discounted int64 `json:"discounted_orders"`  // orders stored with a voucher
	// ItemsDiffer counts acknowledged orders stored with other items
	// (event, category, quantity, in order) or another voucher than asked
	// (must be 0).
	ItemsDiffer int64 `json:"items_differ"`
	// PricesWrong counts orders whose price lines are not their event's
	// prices, or whose quantities, amounts, discount or total do not add up
	// (must be 0).
	PricesWrong int64 `json:"prices_wrong"`
	// TierOversold is the tickets sold in a tier beyond its quantity,
	// CategoryOversold beyond a category's capacity, VoucherOverused the
	// redemptions beyond a voucher's max_redemptions (must be 0).
	TierOversold     int64 `json:"tier_oversold"`
	CategoryOversold int64 `json:"category_oversold"`
	VoucherOverused  int64 `json:"voucher_overused"`
	// CountersDiffer names the system's counters (an event's, a
	// category's or tier's, a voucher's) that disagree with the stored
	// orders (must be none).
	CountersDiffer []string       `json:"counters_differ,omitempty"`
	Vouchers       []voucherAudit `json:"vouchers"`
	// ListedShort names events whose ListBookings left out confirmed
	// orders on them (an order is listed under each of its events; the
	// audit reads the union over the events, so it sees them anyway)
	// (must be none).
	ListedShort []string `json:"listed_short,omitempty"`
}

// voucherAudit is one voucher after a run.
type voucherAudit struct {
	Code     string `json:"code"`
	Max      int64  `json:"max_redemptions"`
	Redeemed int64  `json:"redeemed"` // as GetVoucher says: live holds and bookings using it
	Stored   int64  `json:"stored"`   // confirmed orders stored that name it
}

// catKey names a category of an event.
type catKey struct{ event, category string }

// check compares what the audit read with the tours' plan and the
// acknowledged orders. The Audit it returns holds the counts every
// workload reports: orders as bookings, their tickets, tickets beyond an
// event's capacity, and whether an event's counters disagree.
func (s *tourSet) check(rd orderReading) (Audit, *orderAudit) {
	var a Audit
	o := &orderAudit{}
	sold := map[catKey][]int64{} // tickets per price tier index
	onEvent := map[string]int64{}
	ordersOn := map[string]int64{}
	named := map[string]int64{} // orders per voucher code
	for _, b := range rd.bookings {
		key := attemptOfPaymentRef(b.GetPaymentRef())
		a.Bookings++
		a.Keys = append(a.Keys, key)
		o.Orders++
		if !s.pricedRight(b) {
			o.PricesWrong++
		}
		if asked, ok := s.ackedOrder(key); ok && !storedAsAsked(asked, b) {
			o.ItemsDiffer++
		}
		if code := b.GetVoucherCode(); code != "" {
			o.Discounted++
			named[code]++
		}
		var events []string
		for _, it := range b.GetItems() {
			q := it.GetQuantity()
			o.Items++
			o.Tickets += q
			onEvent[it.GetEventId()] += q
			if !slices.Contains(events, it.GetEventId()) {
				events = append(events, it.GetEventId())
				ordersOn[it.GetEventId()]++
			}
			k := catKey{it.GetEventId(), it.GetCategory()}
			for _, l := range it.GetPrices() {
				tier := int(l.GetTier())
				if tier < 0 || tier > maxTiers {
					continue // counted in PricesWrong
				}
				for len(sold[k]) <= tier {
					sold[k] = append(sold[k], 0)
				}
				sold[k][tier] += l.GetQuantity()
				if it.GetCategory() == adultCategory && tier == 0 {
					o.EarlyBird += l.GetQuantity()
				}
			}
		}
	}
	a.Tickets = o.Tickets
	var held int64
	for _, e := range s.events() {
		held += rd.avail[e.id].GetHeldQuantity()
	}
	for _, e := range s.events() {
		a.Oversold += max(0, onEvent[e.id]-e.capacity)
		if o.checkEvent(e, rd.avail[e.id], onEvent[e.id], sold) {
			a.CounterDiffers = true
		}
		if listed := rd.listed[e.id]; listed < ordersOn[e.id] {
			o.ListedShort = append(o.ListedShort, fmt.Sprintf("%s lists %d of its %d orders", e.id, listed, ordersOn[e.id]))
		}
	}
	for _, v := range s.vouchers {
		o.checkVoucher(v, rd.vouchers[v.code], named[v.code], held == 0)
	}
	return a, o
}

// maxTiers bounds the tier index a price line may name and still be
// counted (a category has at most 10 tiers, and its own price after them).
const maxTiers = 10

// pricedRight checks a stored order against the prices of its events'
// categories: each line at its tier's price (or the category's), the
// lines adding up to the item's quantity and amount, the discount the
// voucher's percentage of the whole (every item is covered), shared out
// among the items, and the total what is left.
func (s *tourSet) pricedRight(b *bookdv1.Booking) bool {
	if b.GetCurrency() != orderCurrency || len(b.GetItems()) == 0 {
		return false
	}
	var amount, discount int64
	for _, it := range b.GetItems() {
		e := s.byID[it.GetEventId()]
		if e == nil || it.GetCancelledAt() != nil {
			return false
		}
		cat := e.category(it.GetCategory())
		if cat == nil {
			return false
		}
		var n, sum int64
		for _, l := range it.GetPrices() {
			unit, ok := unitPrice(cat, l.GetTier())
			if !ok || l.GetUnitPrice() != unit || l.GetQuantity() < 1 {
				return false
			}
			n += l.GetQuantity()
			sum += l.GetQuantity() * unit
		}
		if n != it.GetQuantity() || sum != it.GetAmount() || it.GetDiscount() < 0 || it.GetDiscount() > sum {
			return false
		}
		amount += sum
		discount += it.GetDiscount()
	}
	var want int64
	if code := b.GetVoucherCode(); code != "" {
		i := slices.IndexFunc(s.vouchers, func(v voucherPlan) bool { return v.code == code })
		if i < 0 {
			return false
		}
		want = amount * int64(s.vouchers[i].percentOff) / 100
	}
	return discount == want && b.GetDiscount() == want && b.GetTotal() == amount-want
}

// storedAsAsked reports whether a stored order has the items, in order,
// and the voucher its attempt asked for.
func storedAsAsked(asked Attempt, b *bookdv1.Booking) bool {
	items := b.GetItems()
	if len(items) != len(asked.Items) || b.GetVoucherCode() != asked.Voucher {
		return false
	}
	for i, it := range asked.Items {
		got := items[i]
		if got.GetEventId() != it.Event || got.GetCategory() != it.Category || got.GetQuantity() != it.Quantity {
			return false
		}
	}
	return true
}

// checkEvent compares an event's availability with the tickets the stored
// orders have of it (booked in all, sold per category and tier), counts
// tickets beyond a tier's quantity or a category's capacity, and reports
// whether a counter differs. Tiers count held tickets too, so where a
// category has tickets held only the bound is checked; where it has none,
// the tier availability sells at must be the first with room, and its
// tickets left what the orders left of it.
func (o *orderAudit) checkEvent(e *tourEvent, av *bookdv1.GetAvailabilityResponse, booked int64, sold map[catKey][]int64) bool {
	n := len(o.CountersDiffer)
	differ := func(format string, args ...any) {
		o.CountersDiffer = append(o.CountersDiffer, e.id+": "+fmt.Sprintf(format, args...))
	}
	if av == nil {
		differ("no availability read")
		return true
	}
	if av.GetBookedQuantity() != booked {
		differ("booked_quantity %d, the stored orders have %d tickets", av.GetBookedQuantity(), booked)
	}
	for _, cat := range e.categories() {
		name := cat.GetName()
		tiers := sold[catKey{e.id, name}]
		at := func(j int) int64 {
			if j < len(tiers) {
				return tiers[j]
			}
			return 0
		}
		var total int64
		for _, n := range tiers {
			total += n
		}
		if c := cat.GetCapacity(); c > 0 {
			o.CategoryOversold += max(0, total-c)
		}
		for j, t := range cat.GetTiers() {
			o.TierOversold += max(0, at(j)-t.GetQuantity())
		}
		i := slices.IndexFunc(av.GetCategories(), func(c *bookdv1.CategoryAvailability) bool { return c.GetName() == name })
		if i < 0 {
			differ("no category %s in its availability", name)
			continue
		}
		ca := av.GetCategories()[i]
		if ca.GetBooked() != total {
			differ("%s booked %d, the stored orders have %d", name, ca.GetBooked(), total)
		}
		k := int(ca.GetTier())
		if unit, ok := unitPrice(cat, ca.GetTier()); !ok || ca.GetPrice() != unit {
			differ("%s sells tier %d at %d", name, k, ca.GetPrice())
			continue
		}
		if ca.GetHeld() > 0 {
			continue
		}
		for j := range k {
			if q := cat.GetTiers()[j].GetQuantity(); at(j) != q {
				differ("%s sells tier %d, so tier %d is full at %d, but the stored orders have %d", name, k, j, q, at(j))
			}
		}
		if k < len(cat.GetTiers()) {
			if q := cat.GetTiers()[k].GetQuantity(); at(k) != q-ca.GetTierLeft() {
				differ("%s tier %d has %d of %d left, but the stored orders have %d of it", name, k, ca.GetTierLeft(), q, at(k))
			}
		}
	}
	return len(o.CountersDiffer) > n
}

// checkVoucher records voucher v as read back (got) and named by stored
// orders, and checks its redemptions: never beyond its maximum, never
// fewer than the stored orders naming it, and, with no hold live
// (noHolds), exactly those.
func (o *orderAudit) checkVoucher(v voucherPlan, got *bookdv1.Voucher, stored int64, noHolds bool) {
	va := voucherAudit{Code: v.code, Max: v.maxRedemptions, Redeemed: got.GetRedeemed(), Stored: stored}
	o.Vouchers = append(o.Vouchers, va)
	if got == nil {
		o.CountersDiffer = append(o.CountersDiffer, "voucher "+v.code+": not read")
		return
	}
	if got.GetMaxRedemptions() != v.maxRedemptions {
		o.CountersDiffer = append(o.CountersDiffer, fmt.Sprintf("voucher %s: max_redemptions %d, created with %d", v.code, got.GetMaxRedemptions(), v.maxRedemptions))
	}
	o.VoucherOverused += max(0, max(va.Redeemed, va.Stored)-va.Max)
	if va.Stored > va.Redeemed || (noHolds && va.Stored != va.Redeemed) {
		o.CountersDiffer = append(o.CountersDiffer, fmt.Sprintf("voucher %s: redeemed %d, named by %d stored orders", v.code, va.Redeemed, va.Stored))
	}
}

// failed reports whether the audit found anything wrong.
func (o *orderAudit) failed() bool {
	return o.ItemsDiffer > 0 || o.PricesWrong > 0 || o.TierOversold > 0 || o.CategoryOversold > 0 ||
		o.VoucherOverused > 0 || len(o.CountersDiffer) > 0 || len(o.ListedShort) > 0
}

// text is the audit in a line or so.
func (o *orderAudit) text() string {
	s := fmt.Sprintf("orders %d (%d items, %d tickets, %d early-bird, %d with a voucher): items differ %d, prices wrong %d, tier oversold %d, category oversold %d, voucher overused %d",
		o.Orders, o.Items, o.Tickets, o.EarlyBird, o.Discounted, o.ItemsDiffer, o.PricesWrong, o.TierOversold, o.CategoryOversold, o.VoucherOverused)
	var vs []string
	for _, v := range o.Vouchers {
		vs = append(vs, fmt.Sprintf("%s %d/%d redeemed, %d stored", v.Code, v.Redeemed, v.Max, v.Stored))
	}
	s += "; vouchers " + strings.Join(vs, ", ")
	if n := len(o.CountersDiffer); n > 0 {
		s += fmt.Sprintf("; COUNTERS DIFFER (%d): %s", n, strings.Join(o.CountersDiffer[:min(n, 5)], "; "))
	}
	if len(o.ListedShort) > 0 {
		s += "; LISTED SHORT: " + strings.Join(o.ListedShort, ", ")
	}
	return s
}
