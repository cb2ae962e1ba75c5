package receipts

import (
	"fmt"
	"slices"
	"strings"
	"time"
	_ "time/tzdata" // event time zones on a host without a zone database

	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
)

// itemView is one item of an order as a receipt shows it; every string is
// clean (no control characters) but not escaped: the HTML template
// escapes.
type itemView struct {
	Event, Starts, Category string
	Quantity                int64
	Seats                   string
	// Prices are the item's price lines, "2 × 25.00 EUR (early bird)";
	// none when the order has no currency.
	Prices []string
	Amount string
	// Discount is the item's share of the order's discount, shown where
	// it explains a refund.
	Discount string
	// Cancelled says, of an item cancelled before the change the
	// e-mail is about, "cancelled" (on a confirmation) or "cancelled
	// earlier" (on a cancellation).
	Cancelled string
}

// itemViews renders items of an order in currency cur ("" for an order
// without prices); events has the events they are on, by id (an item whose
// event is missing shows its event id). Items cancelled before at, the
// change's time, are marked; a partial cancellation shows the cancelled
// items' discount, which their refund is less.
func itemViews(items []*bookdv1.OrderItem, events map[string]*bookdv1.Event, cur, kind string, at time.Time) []itemView {
	out := make([]itemView, 0, len(items))
	for _, it := range items {
		ev := events[it.GetEventId()]
		v := itemView{
			Event:    eventName(ev, it.GetEventId()),
			Starts:   starts(ev),
			Category: clean(it.GetCategory()),
			Quantity: it.GetQuantity(),
			Seats:    clean(strings.Join(it.GetSeats(), ", ")),
		}
		if c := it.GetCancelledAt(); c != nil && c.AsTime().Before(at) {
			switch kind {
			case KindConfirmed:
				v.Cancelled = "cancelled"
			case KindCancelled:
				v.Cancelled = "cancelled earlier"
			}
		}
		if cur != "" {
			for _, p := range it.GetPrices() {
				line := fmt.Sprintf("%d × %s", p.GetQuantity(), moneyOf(p.GetUnitPrice(), cur))
				if name := tierName(ev, it.GetCategory(), p.GetTier()); name != "" {
					line += " (" + name + ")"
				}
				v.Prices = append(v.Prices, line)
			}
			v.Amount = moneyOf(it.GetAmount(), cur)
			if kind == KindItemsCancelled && it.GetDiscount() > 0 {
				v.Discount = moneyOf(-it.GetDiscount(), cur)
			}
		}
		out = append(out, v)
	}
	return out
}

// eventName is the event's name, or id when it has none (or is unknown).
func eventName(ev *bookdv1.Event, id string) string {
	if name := clean(ev.GetName()); name != "" {
		return name
	}
	return clean(id)
}

// starts is when ev starts, in its time zone (UTC when it names none, or
// one this host does not know), or "" when it has no start.
func starts(ev *bookdv1.Event) string {
	if ev.GetStartsAt() == nil {
		return ""
	}
	loc := time.UTC
	if tz := ev.GetTimeZone(); tz != "" && tz != "Local" {
		if l, err := time.LoadLocation(tz); err == nil {
			loc = l
		}
	}
	return clean(ev.GetStartsAt().AsTime().In(loc).Format("Mon 2 Jan 2006 15:04 MST"))
}

// tierName is the name of the tier a price line was sold at ("" for the
// category's own price, or a tier without a name).
func tierName(ev *bookdv1.Event, category string, tier int32) string {
	for _, c := range ev.GetCategories() {
		if c.GetName() == category && tier >= 0 && int(tier) < len(c.GetTiers()) {
			return clean(c.GetTiers()[tier].GetName())
		}
	}
	return ""
}

// eventsSummary names an order's events for a subject line: the first
// item's, and how many more there are.
func eventsSummary(items []*bookdv1.OrderItem, events map[string]*bookdv1.Event) string {
	var ids []string
	for _, it := range items {
		if !slices.Contains(ids, it.GetEventId()) {
			ids = append(ids, it.GetEventId())
		}
	}
	if len(ids) == 0 {
		return ""
	}
	name := eventName(events[ids[0]], ids[0])
	if more := len(ids) - 1; more > 0 {
		name += fmt.Sprintf(" and %d more", more)
	}
	return name
}
