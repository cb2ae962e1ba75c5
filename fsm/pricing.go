package fsm

import (
	"slices"
	"strconv"
	"strings"

	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"golang.org/x/text/currency"
	"google.golang.org/protobuf/proto"
)

// Ticket categories, their prices and price tiers. A tier's tickets are
// counted per category in the event's counters (CategoryCounters.tier_taken)
// and sold in order: a ticket is priced at the first tier with room, so
// the tier is decided in the state machine at hold time, and a ticket
// freed by an expiry, release or cancellation goes back to the tier it
// was sold from.

const (
	MaxCategories       = 20
	MaxTiersPerCategory = 10
	MaxCategoryNameLen  = 32
	MaxTierNameLen      = 64
	MaxTierQuantity     = 1_000_000_000
	MaxTimeZoneNameLen  = 64
	noCategory          = -1
)

// validateCategories checks an event's categories against its seat map:
// names unique, prices in range, one currency, tiers in range, and each
// section priced by at most one category. When any category prices
// sections, every seat must be in a section that one does.
func validateCategories(r *bookdv1.CreateEventRequest) *Error {
	cats := r.GetCategories()
	if len(cats) > MaxCategories {
		return invalid("categories: at most %d categories, got %d", MaxCategories, len(cats))
	}
	sections := make(map[string]bool, len(r.GetSections()))
	for _, s := range r.GetSections() {
		sections[s.GetName()] = true
	}
	owner := map[string]int{}
	first := ""
	for i, c := range cats {
		field := "categories[" + strconv.Itoa(i) + "]"
		if err := checkCategoryName(field+".name", c.GetName()); err != nil {
			return err
		}
		for j := range i {
			if cats[j].GetName() == c.GetName() {
				return invalid("%s.name: %q repeats categories[%d]", field, c.GetName(), j)
			}
		}
		if err := checkPrice(field+".price", c.GetPrice()); err != nil {
			return err
		}
		switch cur := c.GetCurrency(); {
		case i == 0 && cur == "":
			return invalid("%s.currency: required on the first category (an ISO 4217 code like EUR)", field)
		case cur != "":
			if err := checkCurrency(field+".currency", cur); err != nil {
				return err
			}
			if i == 0 {
				first = cur
			} else if cur != first {
				return invalid("%s.currency: %s, but categories[0] is in %s; an event sells in one currency", field, cur, first)
			}
		}
		if n := c.GetCapacity(); n < 0 || n > MaxCapacity {
			return invalid("%s.capacity: must be between 0 (no limit of its own) and %d, got %d", field, MaxCapacity, n)
		}
		if len(c.GetTiers()) > MaxTiersPerCategory {
			return invalid("%s.tiers: at most %d tiers, got %d", field, MaxTiersPerCategory, len(c.GetTiers()))
		}
		for k, tier := range c.GetTiers() {
			tf := field + ".tiers[" + strconv.Itoa(k) + "]"
			if q := tier.GetQuantity(); q < 1 || q > MaxTierQuantity {
				return invalid("%s.quantity: must be between 1 and %d, got %d", tf, MaxTierQuantity, q)
			}
			if err := checkPrice(tf+".price", tier.GetPrice()); err != nil {
				return err
			}
			if err := checkText(tf+".name", tier.GetName(), MaxTierNameLen, false); err != nil {
				return err
			}
		}
		for k, s := range c.GetSections() {
			sf := field + ".sections[" + strconv.Itoa(k) + "]"
			if !sections[s] {
				return invalid("%s: the seat map has no section %q", sf, clip(s))
			}
			if j, dup := owner[s]; dup {
				return invalid("%s: section %q is priced by categories[%d] already", sf, s, j)
			}
			owner[s] = i
		}
	}
	if len(owner) == 0 {
		return nil
	}
	for i, s := range r.GetSections() {
		if _, ok := owner[s.GetName()]; !ok {
			return invalid("sections[%d]: section %q has no category; when categories price sections, each must", i, s.GetName())
		}
	}
	if len(r.GetSeats()) > 0 {
		return invalid("seats: seats given by label have no section to price them by; put them in the seat map")
	}
	return nil
}

func checkCategoryName(field, s string) *Error {
	if s == "" || len(s) > MaxCategoryNameLen {
		return invalid("%s: 1 to %d letters, digits, '_' or '-', got %q", field, MaxCategoryNameLen, clip(s))
	}
	for _, c := range []byte(s) {
		if !isNameByte(c) && c != '-' {
			return invalid("%s: only letters, digits, '_' and '-' are allowed, got %q", field, clip(s))
		}
	}
	return nil
}

func checkPrice(field string, p int64) *Error {
	if p < 0 || p > MaxPrice {
		return invalid("%s: must be between 0 and %d minor units, got %d", field, int64(MaxPrice), p)
	}
	return nil
}

// checkCurrency accepts the ISO 4217 codes golang.org/x/text knows, in
// capitals. The table is compiled in, so every node of one version agrees.
func checkCurrency(field, code string) *Error {
	if len(code) != 3 || strings.ToUpper(code) != code {
		return invalid("%s: %q is not an ISO 4217 code (three capitals, like EUR)", field, clip(code))
	}
	if _, err := currency.ParseISO(code); err != nil {
		return invalid("%s: %q is not an ISO 4217 currency", field, code)
	}
	if slices.Contains(notMoney, code) {
		return invalid("%s: %s is an ISO 4217 code but not a currency tickets are sold in", field, code)
	}
	return nil
}

// notMoney are ISO 4217 codes that are not money a ticket is sold in: no
// currency, the testing code, precious metals and accounting units.
var notMoney = []string{"XXX", "XTS", "XAU", "XAG", "XPD", "XPT", "XBA", "XBB", "XBC", "XBD", "XDR", "XSU", "XUA"}

// checkTimeZone checks the form of an IANA zone name ("Europe/Vienna").
// Whether the zone exists is not the state machine's rule: it would depend
// on each node's zone database. The rpc layer asks its own (ValidZone).
func checkTimeZone(field, tz string) *Error {
	if len(tz) > MaxTimeZoneNameLen {
		return invalid("%s: at most %d bytes, got %d", field, MaxTimeZoneNameLen, len(tz))
	}
	for _, c := range []byte(tz) {
		if !isNameByte(c) && !strings.ContainsRune("/-+", rune(c)) {
			return invalid("%s: %q is not an IANA time zone name (like Europe/Vienna)", field, clip(tz))
		}
	}
	return nil
}

// categoryOf resolves an item's category: the GA category it names, or
// the category of its seats' section. It returns noCategory on an event
// without categories.
func categoryOf(ev *bookdv1.Event, name string, seatSection string, field string) (int, *Error) {
	cats := ev.GetCategories()
	if seatSection != "" {
		for i, c := range cats {
			for _, s := range c.GetSections() {
				if s == seatSection {
					return i, nil
				}
			}
		}
		return noCategory, nil
	}
	if name == "" {
		if hasGACategories(ev) {
			return 0, errorf(CodeInvalidArgument, ReasonUnknownCategory, "%scategory: event %s sells GA tickets by category (%s); name one",
				field, ev.GetId(), gaCategoryNames(ev)).with(MetaEvent, ev.GetId())
		}
		return noCategory, nil
	}
	for i, c := range cats {
		if c.GetName() == name && len(c.GetSections()) == 0 {
			return i, nil
		}
	}
	if len(cats) == 0 {
		return 0, errorf(CodeInvalidArgument, ReasonUnknownCategory, "%scategory: event %s has no categories", field, ev.GetId()).
			with(MetaEvent, ev.GetId(), MetaCategory, name)
	}
	return 0, errorf(CodeInvalidArgument, ReasonUnknownCategory, "%scategory: event %s has no GA category %q (it has %s)",
		field, ev.GetId(), clip(name), gaCategoryNames(ev)).with(MetaEvent, ev.GetId(), MetaCategory, name)
}

func hasGACategories(ev *bookdv1.Event) bool {
	for _, c := range ev.GetCategories() {
		if len(c.GetSections()) == 0 {
			return true
		}
	}
	return false
}

func gaCategoryNames(ev *bookdv1.Event) string {
	var names []string
	for _, c := range ev.GetCategories() {
		if len(c.GetSections()) == 0 {
			names = append(names, c.GetName())
		}
	}
	if len(names) == 0 {
		return "none for GA"
	}
	return strings.Join(names, ", ")
}

// withCurrency copies categories with the first one's currency filled in
// where it was left empty.
func withCurrency(cats []*bookdv1.Category) []*bookdv1.Category {
	out := make([]*bookdv1.Category, len(cats))
	for i, c := range cats {
		out[i] = proto.Clone(c).(*bookdv1.Category)
		if out[i].Currency == "" {
			out[i].Currency = cats[0].GetCurrency()
		}
	}
	return out
}

// eventCurrency is the currency of an event's categories ("" without).
func eventCurrency(ev *bookdv1.Event) string {
	if cats := ev.GetCategories(); len(cats) > 0 {
		return cats[0].GetCurrency()
	}
	return ""
}

// seatSection is the section of a seat-map label "<section>-<row>-<n>".
func seatSection(label string) string {
	s, _, _ := strings.Cut(label, "-")
	return s
}

// categoryCounters returns the counters of category i, grown to the
// category's tiers.
func categoryCounters(counters *EventCounters, ev *bookdv1.Event, i int) *CategoryCounters {
	for len(counters.Categories) <= i {
		counters.Categories = append(counters.Categories, &CategoryCounters{})
	}
	c := counters.Categories[i]
	for len(c.TierTaken) < len(ev.GetCategories()[i].GetTiers())+1 {
		c.TierTaken = append(c.TierTaken, 0)
	}
	return c
}

// priceLines prices quantity tickets of category i at the tiers in order,
// as they stand in counters.
func priceLines(ev *bookdv1.Event, counters *EventCounters, i int, quantity int64) []*bookdv1.PriceLine {
	cat := ev.GetCategories()[i]
	cc := categoryCounters(counters, ev, i)
	var lines []*bookdv1.PriceLine
	left := quantity
	for k, tier := range cat.GetTiers() {
		room := tier.GetQuantity() - cc.TierTaken[k]
		if room <= 0 || left == 0 {
			continue
		}
		n := min(room, left)
		lines = append(lines, &bookdv1.PriceLine{Tier: int32(k), Quantity: n, UnitPrice: tier.GetPrice()})
		left -= n
	}
	if left > 0 {
		lines = append(lines, &bookdv1.PriceLine{Tier: int32(len(cat.GetTiers())), Quantity: left, UnitPrice: cat.GetPrice()})
	}
	return lines
}

// currentTier is the tier the next ticket of category i sells at, its
// price, and the tickets left in it (0 at the category's own price); due
// are tickets per tier of holds that expire before the next claim.
func currentTier(ev *bookdv1.Event, counters *EventCounters, i int, due map[int32]int64) (tier int32, price, left int64) {
	cat := ev.GetCategories()[i]
	var taken []int64
	if i < len(counters.GetCategories()) {
		taken = counters.GetCategories()[i].GetTierTaken()
	}
	for k, t := range cat.GetTiers() {
		n := -due[int32(k)]
		if k < len(taken) {
			n += taken[k]
		}
		if n < t.GetQuantity() {
			return int32(k), t.GetPrice(), t.GetQuantity() - n
		}
	}
	return int32(len(cat.GetTiers())), cat.GetPrice(), 0
}

// moveCategory moves category i's counters for an item's tickets: taking
// (held +n), confirming (held -n, booked +n), and giving back from a hold
// or a booking, which returns its tickets to their tiers.
func moveCategory(counters *EventCounters, ev *bookdv1.Event, i int, lines []*bookdv1.PriceLine, from, to byte) {
	cc := categoryCounters(counters, ev, i)
	var n int64
	for _, l := range lines {
		n += l.GetQuantity()
	}
	bump := func(state byte, d int64) {
		switch state {
		case seatHeld:
			cc.Held += d
		case seatBooked:
			cc.Booked += d
		}
	}
	bump(from, -n)
	bump(to, n)
	if from == seatFree || to == seatFree {
		sign := int64(1)
		if to == seatFree {
			sign = -1
		}
		for _, l := range lines {
			cc.TierTaken[l.GetTier()] += sign * l.GetQuantity()
		}
	}
	if cc.Held < 0 || cc.Booked < 0 {
		panic("fsm: category " + ev.GetCategories()[i].GetName() + " of event " + ev.GetId() + " would have negative counters")
	}
}

// amountOf sums price lines.
func amountOf(lines []*bookdv1.PriceLine) int64 {
	var a int64
	for _, l := range lines {
		a += l.GetQuantity() * l.GetUnitPrice()
	}
	return a
}
