package fsm

import (
	"slices"
	"strconv"
	"strings"

	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
)

// Orders: a hold (or Book) of several items, each on its own event, placed
// all or nothing. The items are checked and taken one after another, each
// seeing the inventory, tiers, quotas and limits the ones before it left;
// when one is refused, the items taken are given back, by the very moves
// that release a hold, before the refusal is answered. So an order needs no
// second bookkeeping beside the one a single claim has, and what it leaves
// on refusal is what it found.

// MaxOrderItems bounds the items of one order.
const MaxOrderItems = 20

// orderRequest is what a Hold or Book asks for: its items, or the single
// item its top-level fields describe, for one customer.
type orderRequest struct {
	customerID string
	items      []*bookdv1.HoldItem
	// single is the one item of a request without items; refusals name
	// its fields without an "items[i]." prefix. It is kept inline, not as
	// a HoldItem, so that the common claim allocates nothing for it.
	single   claimRequest
	isSingle bool
	voucher  string
	idemKey  string
}

// orderRequester is what HoldRequest and BookRequest have in common: an
// order's fields.
type orderRequester interface {
	GetCustomerId() string
	GetItems() []*bookdv1.HoldItem
	GetVoucherCode() string
	GetIdempotencyKey() string
	GetEventId() string
	GetCategory() string
	GetQuantity() int64
	GetSeats() []string
	GetSection() string
	GetBestAvailable() bool
}

// orderOf reads the order a Hold or Book asks for.
func orderOf(r orderRequester) orderRequest {
	o := orderRequest{customerID: r.GetCustomerId(), items: r.GetItems(), voucher: r.GetVoucherCode(), idemKey: r.GetIdempotencyKey()}
	if len(o.items) == 0 {
		o.isSingle, o.single = true, claimRequest{eventID: r.GetEventId(), customerID: r.GetCustomerId(), category: r.GetCategory(),
			quantity: r.GetQuantity(), seats: r.GetSeats(), section: r.GetSection(), bestAvailable: r.GetBestAvailable()}
	}
	return o
}

// len is the number of items of an order.
func (o orderRequest) len() int {
	if o.isSingle {
		return 1
	}
	return len(o.items)
}

// checkOneShape refuses a request that gives items and a single item's
// fields too.
func checkOneShape(r orderRequester) *Error {
	if len(r.GetItems()) > 0 && (r.GetEventId() != "" || r.GetCategory() != "" || r.GetQuantity() != 0 || len(r.GetSeats()) > 0 ||
		r.GetSection() != "" || r.GetBestAvailable()) {
		return invalid("items: give items, or one item's event_id, category, quantity, seats, section and best_available, not both")
	}
	return nil
}

// claimRequest is item i of an order, with the prefix its refusals give
// its fields.
func (o orderRequest) claimRequest(i int) claimRequest {
	if o.isSingle {
		return o.single
	}
	it := o.items[i]
	return claimRequest{eventID: it.GetEventId(), customerID: o.customerID, category: it.GetCategory(),
		quantity: it.GetQuantity(), seats: it.GetSeats(), section: it.GetSection(), bestAvailable: it.GetBestAvailable(),
		field: "items[" + strconv.Itoa(i) + "]."}
}

// validateOrder checks an order without the state: each item, no seat in
// two items, the customer, the voucher code and the key.
func validateOrder(o orderRequest) *Error {
	if len(o.items) > MaxOrderItems {
		return invalid("items: at most %d items per order, got %d", MaxOrderItems, len(o.items))
	}
	for i := range o.len() {
		if err := validateItem(o.claimRequest(i)); err != nil {
			return err
		}
	}
	if err := checkSeatsOnce(o.items); err != nil {
		return err
	}
	if err := checkText("customer_id", o.customerID, MaxIDLen, true); err != nil {
		return err
	}
	if o.voucher != "" {
		if err := ValidateVoucherCode("voucher_code", o.voucher); err != nil {
			return err
		}
	}
	return checkText("idempotency_key", o.idemKey, MaxIDLen, false)
}

// checkSeatsOnce refuses a seat named by two items of one event. Orders
// are small (MaxOrderItems), so pairs are compared without a map.
func checkSeatsOnce(items []*bookdv1.HoldItem) *Error {
	for j, b := range items {
		for i, a := range items[:j] {
			if a.GetEventId() != b.GetEventId() || len(a.GetSeats()) == 0 {
				continue
			}
			for k, s := range b.GetSeats() {
				if slices.Contains(a.GetSeats(), s) {
					return invalid("items[%d].seats[%d]: seat %q of event %s is also in items[%d]", j, k, s, b.GetEventId(), i)
				}
			}
		}
	}
	return nil
}

// takeOrder checks and takes an order's items, all or nothing, moving
// their inventory from free to `to` (seatHeld for a hold, seatBooked for
// Book), and redeems its voucher. On refusal nothing is left taken.
//
// The voucher is looked at only once every item is taken: a refusal for
// the inventory is the same whether the code exists or not, so a stranger
// trying codes on a sold-out event learns nothing of them.
func (t *txn) takeOrder(o orderRequest, to byte) ([]*claim, *bookdv1.Voucher, *Error) {
	taken := make([]*claim, 0, o.len())
	currency := ""
	for i := range o.len() {
		c := o.claimRequest(i)
		var inOrder int64
		for _, cl := range taken {
			if cl.ev.GetId() == c.eventID {
				inOrder += cl.quantity
			}
		}
		cl, err := t.checkClaim(c, inOrder)
		if err != nil {
			return nil, nil, t.undoOrder(o, taken, to, i, err)
		}
		split, err := t.priceClaim(cl, c.field)
		if err != nil {
			return nil, nil, t.undoOrder(o, taken, to, i, err)
		}
		before := len(taken)
		if split == nil {
			taken = append(taken, cl)
		} else {
			taken = append(taken, split...)
		}
		parts := taken[before:]
		for _, p := range parts {
			if p.category == noCategory {
				continue
			}
			switch cur := eventCurrency(p.ev); {
			case currency == "":
				currency = cur
			case cur != currency:
				t.refusedForGood = false
				return nil, nil, t.undoOrder(o, taken[:before], to, i, errorf(CodeFailedPrecondition, ReasonCurrencyMismatch,
					"%scategory: event %s sells in %s, the order is in %s", c.field, p.ev.GetId(), cur, currency).
					with(MetaEvent, p.ev.GetId()))
			}
		}
		for _, p := range parts {
			t.moveClaim(p, o.customerID, seatFree, to)
		}
	}
	if o.voucher == "" {
		return taken, nil, nil
	}
	voucher, err := t.redeemableVoucher(o.voucher)
	if err == nil {
		err = checkVoucherFits(voucher, taken, currency)
	}
	if err != nil {
		t.refusedForGood = false
		return nil, nil, t.undoOrder(o, taken, to, -1, err)
	}
	t.moveRedemptions(voucher.GetCode(), 1)
	return taken, voucher, nil
}

// undoOrder gives back the claims an order took before item i (-1: the
// order as a whole) was refused, and names the item in the refusal.
func (t *txn) undoOrder(o orderRequest, taken []*claim, to byte, i int, err *Error) *Error {
	for k := len(taken) - 1; k >= 0; k-- {
		t.moveClaim(taken[k], o.customerID, to, seatFree)
	}
	if !o.isSingle && i >= 0 {
		if prefix := "items[" + strconv.Itoa(i) + "]"; !strings.HasPrefix(err.Message, prefix) {
			err.Message = prefix + ": " + err.Message
		}
		err = err.with(MetaItem, strconv.Itoa(i))
	}
	return err
}

// priceClaim splits a checked claim by category (a best-available or named
// seat claim may span sections priced by different categories), checks
// each part against its category's capacity and the event's quotas, and
// prices it at the tiers it falls in. It returns the parts, or nil when
// the claim is one part (the common case allocates nothing).
func (t *txn) priceClaim(cl *claim, field string) (split []*claim, _ *Error) {
	one := [1]*claim{cl}
	parts := one[:]
	if len(cl.seats) > 0 && len(cl.ev.GetCategories()) > 0 {
		parts = nil
		byCategory := map[int]*claim{}
		for _, s := range cl.seats {
			cat, _ := categoryOf(cl.ev, "", seatSection(s), field)
			p, ok := byCategory[cat]
			if !ok {
				p = &claim{event: cl.event, ev: cl.ev, category: cat}
				byCategory[cat] = p
				parts = append(parts, p) // in the order of the seats: deterministic
			}
			p.seats = append(p.seats, s)
			p.quantity++
		}
	}
	counters := t.eventCounters(cl.event)
	for _, p := range parts {
		if p.category == noCategory {
			continue
		}
		cat := cl.ev.GetCategories()[p.category]
		if capacity := cat.GetCapacity(); capacity > 0 {
			cc := categoryCounters(counters, cl.ev, p.category)
			if left := capacity - cc.GetHeld() - cc.GetBooked(); p.quantity > left {
				t.refusedForGood = false
				return nil, errorf(CodeFailedPrecondition, ReasonSoldOut, "category %s of event %s has %d tickets left, %d asked",
					cat.GetName(), cl.ev.GetId(), max(left, 0), p.quantity).
					with(MetaEvent, cl.ev.GetId(), MetaCategory, cat.GetName(), MetaAvailable, itoa(max(left, 0)), MetaAsked, itoa(p.quantity))
			}
		}
		p.lines = priceLines(cl.ev, counters, p.category, p.quantity)
	}
	if left, quota := t.quotaLeft(cl.ev); left >= 0 && cl.quantity > left {
		t.refusedForGood = false
		return nil, errorf(CodeFailedPrecondition, ReasonSoldOut, "event %s has %d tickets left in quota %s, %d asked",
			cl.ev.GetId(), max(left, 0), quota, cl.quantity).
			with(MetaEvent, cl.ev.GetId(), MetaQuota, quota, MetaAvailable, itoa(max(left, 0)), MetaAsked, itoa(cl.quantity))
	}
	if len(parts) == 1 && parts[0] == cl {
		return nil, nil
	}
	return parts, nil
}

// moveClaim moves a claim's tickets between states (seatFree, seatHeld,
// seatBooked): the event's inventory and counters, its category's counters
// and tiers, the customer's tickets and the event's quotas. Every claim,
// release, confirmation and cancellation goes through it, and so does the
// undoing of a refused order.
func (t *txn) moveClaim(cl *claim, customer string, from, to byte) {
	t.shift(cl.event, cl.quantity, cl.seats, from, to)
	if cl.category != noCategory {
		moveCategory(t.eventCounters(cl.event), cl.ev, cl.category, cl.lines, from, to)
	}
	switch {
	case from == seatFree:
		t.addTickets(cl.event, customer, cl.quantity)
		t.takeQuotas(cl.ev, cl.quantity)
	case to == seatFree:
		t.addTickets(cl.event, customer, -cl.quantity)
		t.takeQuotas(cl.ev, -cl.quantity)
	}
}

// checkVoucherFits checks that a voucher applies to one of the order's
// items and, for an amount off, to its currency.
func checkVoucherFits(v *bookdv1.Voucher, claims []*claim, currency string) *Error {
	covered := false
	for _, cl := range claims {
		covered = covered || voucherCovers(v, cl.ev)
	}
	switch {
	case !covered:
		return errorf(CodeFailedPrecondition, ReasonVoucherNotValid, "voucher_code: %s is not valid for the events of this order", v.GetCode())
	case v.GetAmountOff() > 0 && currency != "" && v.GetCurrency() != currency:
		return errorf(CodeFailedPrecondition, ReasonCurrencyMismatch, "voucher_code: %s takes %s off, the order is in %s",
			v.GetCode(), v.GetCurrency(), currency)
	}
	return nil
}

// orderItems records an order's claims as priced items, with the voucher's
// discount shared among the items it covers, and returns the total.
func orderItems(claims []*claim, v *bookdv1.Voucher) (items []*bookdv1.OrderItem, discount, total int64) {
	var covered int64
	for _, cl := range claims {
		it := &bookdv1.OrderItem{EventId: cl.ev.GetId(), Quantity: cl.quantity, Seats: cl.seats, Prices: cl.lines, Amount: amountOf(cl.lines)}
		if cl.category != noCategory {
			it.Category = cl.ev.GetCategories()[cl.category].GetName()
		}
		items = append(items, it)
		total += it.Amount
		if v != nil && voucherCovers(v, cl.ev) {
			covered += it.Amount
		}
	}
	if v == nil || covered == 0 {
		return items, 0, total
	}
	discount = min(v.GetAmountOff(), covered)
	if v.GetPercentOff() > 0 {
		discount = covered * int64(v.GetPercentOff()) / 100
	}
	// Each covered item's share in proportion to its amount, rounded down;
	// what rounding leaves goes a unit each to the first items with room.
	shared := int64(0)
	for i, cl := range claims {
		if voucherCovers(v, cl.ev) {
			items[i].Discount = items[i].Amount * discount / covered
			shared += items[i].Discount
		}
	}
	for i := 0; shared < discount; i = (i + 1) % len(items) {
		if voucherCovers(v, claims[i].ev) && items[i].Discount < items[i].Amount {
			items[i].Discount++
			shared++
		}
	}
	return items, discount, total - discount
}

// claimsOf rebuilds the claims of a stored hold or booking from its items
// (or, for one unpriced item, its top-level fields). An event's categories
// never change, so a category is found again by its name.
func (t *txn) claimsOf(eventID string, quantity int64, seats []string, items []*bookdv1.OrderItem) []*claim {
	if len(items) == 0 {
		n, _ := parseID(kindEvent, eventID)
		return []*claim{{event: n, ev: t.cachedEvent(n), quantity: quantity, seats: seats, category: noCategory}}
	}
	claims := make([]*claim, 0, len(items))
	for _, it := range items {
		n, _ := parseID(kindEvent, it.GetEventId())
		ev := t.cachedEvent(n)
		cat := noCategory
		if it.GetCategory() != "" {
			cat = slices.IndexFunc(ev.GetCategories(), func(c *bookdv1.Category) bool { return c.GetName() == it.GetCategory() })
			if cat < 0 {
				panic("fsm: an order names category " + it.GetCategory() + ", which event " + ev.GetId() + " does not have")
			}
		}
		claims = append(claims, &claim{event: n, ev: ev, quantity: it.GetQuantity(), seats: it.GetSeats(), category: cat, lines: it.GetPrices()})
	}
	return claims
}

// eventsOf lists the distinct events of claims, in order.
func eventsOf(claims []*claim) []uint64 {
	var events []uint64
	for _, cl := range claims {
		if !slices.Contains(events, cl.event) {
			events = append(events, cl.event)
		}
	}
	return events
}

// needsItems reports whether an order is recorded with items: any order
// but a single item on an event without categories.
func needsItems(o orderRequest, claims []*claim, v *bookdv1.Voucher) bool {
	return !o.isSingle || len(claims) != 1 || claims[0].category != noCategory || v != nil
}
