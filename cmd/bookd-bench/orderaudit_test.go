package main

import (
	"testing"

	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
)

// orderFixture is one tour of two events of 10 tickets (2 early-bird
// adults, 2 children each) after two acknowledged orders, read back as
// bookd stores them:
//
//	k1: ev_1 adult 2 (early bird), ev_1 child 1, ev_2 adult 2 (early bird)
//	k2: ev_2 adult 1, ev_1 adult 1 (both past the early bird), voucher TOUR10
func orderFixture() (*tourSet, orderReading) {
	s := newTourSet(1, 10)
	for i, e := range s.events() {
		e.id = []string{"ev_1", "ev_2"}[i]
		s.byID[e.id] = e
	}
	for i := range s.vouchers {
		s.vouchers[i].code = s.vouchers[i].name
	}
	k1 := Attempt{Key: "k1", Items: []Item{{"ev_1", adultCategory, 2}, {"ev_1", childCategory, 1}, {"ev_2", adultCategory, 2}}}
	k2 := Attempt{Key: "k2", Items: []Item{{"ev_2", adultCategory, 1}, {"ev_1", adultCategory, 1}}, Voucher: "TOUR10"}
	s.soldOrder(k1)
	s.soldOrder(k2)
	line := func(tier int32, n, unit int64) []*bookdv1.PriceLine {
		return []*bookdv1.PriceLine{{Tier: tier, Quantity: n, UnitPrice: unit}}
	}
	item := func(ev, cat string, lines []*bookdv1.PriceLine, discount int64) *bookdv1.OrderItem {
		it := &bookdv1.OrderItem{EventId: ev, Category: cat, Prices: lines, Discount: discount}
		for _, l := range lines {
			it.Quantity += l.GetQuantity()
			it.Amount += l.GetQuantity() * l.GetUnitPrice()
		}
		return it
	}
	rd := orderReading{
		bookings: []*bookdv1.Booking{
			{Id: "bk_1", PaymentRef: paymentRef("k1"), Currency: orderCurrency, Total: 5800 + 1900 + 5800,
				Items: []*bookdv1.OrderItem{
					item("ev_1", adultCategory, line(0, 2, earlyBirdPrice), 0),
					item("ev_1", childCategory, line(0, 1, childPrice), 0),
					item("ev_2", adultCategory, line(0, 2, earlyBirdPrice), 0),
				}},
			{Id: "bk_2", PaymentRef: paymentRef("k2"), Currency: orderCurrency, VoucherCode: "TOUR10", Discount: 980, Total: 9800 - 980,
				Items: []*bookdv1.OrderItem{
					item("ev_2", adultCategory, line(1, 1, adultPrice), 490),
					item("ev_1", adultCategory, line(1, 1, adultPrice), 490),
				}},
		},
		avail: map[string]*bookdv1.GetAvailabilityResponse{
			"ev_1": {EventId: "ev_1", Capacity: 10, BookedQuantity: 4, Categories: []*bookdv1.CategoryAvailability{
				{Name: adultCategory, Price: adultPrice, Tier: 1, Booked: 3},
				{Name: childCategory, Price: childPrice, Tier: 0, Booked: 1},
			}},
			"ev_2": {EventId: "ev_2", Capacity: 10, BookedQuantity: 3, Categories: []*bookdv1.CategoryAvailability{
				{Name: adultCategory, Price: adultPrice, Tier: 1, Booked: 3},
				{Name: childCategory, Price: childPrice, Tier: 0},
			}},
		},
		vouchers: map[string]*bookdv1.Voucher{
			"TOUR10":  {Code: "TOUR10", PercentOff: 10, MaxRedemptions: 1_000_000_000, Redeemed: 1},
			"TOUR20":  {Code: "TOUR20", PercentOff: 20, MaxRedemptions: 1_000_000_000},
			"LIMITED": {Code: "LIMITED", PercentOff: 50, MaxRedemptions: limitedRedemptions},
		},
		listed: map[string]int64{"ev_1": 2, "ev_2": 2},
	}
	return s, rd
}

// TestOrderAudit: the audit passes the orders bookd stored as asked, and
// finds each way they could be wrong: stored otherwise than acknowledged,
// mispriced, past a tier, category or event, counters that disagree, a
// voucher redeemed beyond its maximum, and an event's listing without
// an order on it.
func TestOrderAudit(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(s *tourSet, rd *orderReading)
		found  func(a Audit, o *orderAudit) bool // what the audit must find
		fails  bool
	}{
		{"as stored", func(*tourSet, *orderReading) {},
			func(a Audit, o *orderAudit) bool {
				return a.Bookings == 2 && a.Tickets == 7 && o.Items == 5 && o.EarlyBird == 4 && o.Discounted == 1 &&
					len(a.Keys) == 2 && o.Vouchers[0].Stored == 1 && o.Vouchers[0].Redeemed == 1
			}, false},
		{"stored with another quantity than acknowledged", func(s *tourSet, _ *orderReading) { s.acked["k1"].Items[1].Quantity = 2 },
			func(_ Audit, o *orderAudit) bool { return o.ItemsDiffer == 1 }, true},
		{"stored with a voucher not asked for", func(s *tourSet, _ *orderReading) {
			k2 := s.acked["k2"]
			k2.Voucher = ""
			s.acked["k2"] = k2
		}, func(_ Audit, o *orderAudit) bool { return o.ItemsDiffer == 1 }, true},
		{"a line at another tier's price", func(_ *tourSet, rd *orderReading) {
			rd.bookings[1].Items[0].Prices[0].UnitPrice = earlyBirdPrice
		}, func(_ Audit, o *orderAudit) bool { return o.PricesWrong == 1 }, true},
		{"a discount not the voucher's", func(_ *tourSet, rd *orderReading) {
			b := rd.bookings[1]
			b.Discount, b.Total = 900, 9800-900
			b.Items[0].Discount = 410
		}, func(_ Audit, o *orderAudit) bool { return o.PricesWrong == 1 }, true},
		{"a total that does not add up", func(_ *tourSet, rd *orderReading) { rd.bookings[0].Total++ },
			func(_ Audit, o *orderAudit) bool { return o.PricesWrong == 1 }, true},
		{"the early bird sold thrice of two", func(_ *tourSet, rd *orderReading) {
			b := rd.bookings[1]
			b.Items[0].Prices[0] = &bookdv1.PriceLine{Tier: 0, Quantity: 1, UnitPrice: earlyBirdPrice}
			b.Items[0].Amount, b.Items[0].Discount = earlyBirdPrice, 290
			b.Discount, b.Total = 780, 7800-780
		}, func(_ Audit, o *orderAudit) bool { return o.TierOversold == 1 && o.PricesWrong == 0 }, true},
		{"children beyond their capacity", func(_ *tourSet, rd *orderReading) {
			b := rd.bookings[0]
			b.Items[1].Prices[0].Quantity, b.Items[1].Quantity, b.Items[1].Amount = 3, 3, 3*childPrice
			b.Total += 2 * childPrice
		}, func(_ Audit, o *orderAudit) bool { return o.CategoryOversold == 1 }, true},
		{"an event beyond its capacity", func(s *tourSet, _ *orderReading) { s.byID["ev_2"].capacity = 2 },
			func(a Audit, _ *orderAudit) bool { return a.Oversold == 1 }, true},
		{"an event's booked counter differs", func(_ *tourSet, rd *orderReading) { rd.avail["ev_1"].BookedQuantity = 5 },
			func(a Audit, o *orderAudit) bool { return a.CounterDiffers && len(o.CountersDiffer) == 1 }, true},
		{"a category's booked counter differs", func(_ *tourSet, rd *orderReading) { rd.avail["ev_1"].Categories[1].Booked = 0 },
			func(a Audit, o *orderAudit) bool { return a.CounterDiffers && len(o.CountersDiffer) == 1 }, true},
		{"the early bird still open with its tickets sold", func(_ *tourSet, rd *orderReading) {
			c := rd.avail["ev_2"].Categories[0]
			c.Tier, c.Price, c.TierLeft = 0, earlyBirdPrice, 1
		}, func(_ Audit, o *orderAudit) bool { return len(o.CountersDiffer) == 1 }, true},
		{"a tier at another price than its own", func(_ *tourSet, rd *orderReading) {
			rd.avail["ev_2"].Categories[0].Price = earlyBirdPrice
		}, func(_ Audit, o *orderAudit) bool { return len(o.CountersDiffer) == 1 }, true},
		{"the limited voucher redeemed beyond its maximum", func(_ *tourSet, rd *orderReading) {
			rd.vouchers["LIMITED"].Redeemed = limitedRedemptions + 1
		}, func(_ Audit, o *orderAudit) bool { return o.VoucherOverused == 1 }, true},
		{"a voucher redeemed less than the orders naming it", func(_ *tourSet, rd *orderReading) { rd.vouchers["TOUR10"].Redeemed = 0 },
			func(_ Audit, o *orderAudit) bool { return len(o.CountersDiffer) == 1 }, true},
		{"a voucher redeemed by more than the stored orders, no hold live", func(_ *tourSet, rd *orderReading) {
			rd.vouchers["TOUR10"].Redeemed = 2
		}, func(_ Audit, o *orderAudit) bool { return len(o.CountersDiffer) == 1 }, true},
		{"a voucher redeemed by a live hold too", func(_ *tourSet, rd *orderReading) {
			rd.vouchers["TOUR10"].Redeemed = 2
			rd.avail["ev_1"].HeldQuantity = 1
			rd.avail["ev_1"].Categories[0].Held = 1
		}, func(_ Audit, o *orderAudit) bool { return o.Vouchers[0].Redeemed == 2 }, false},
		{"ListBookings of an event leaves out an order on it", func(_ *tourSet, rd *orderReading) { rd.listed["ev_2"] = 1 },
			func(_ Audit, o *orderAudit) bool { return len(o.ListedShort) == 1 }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, rd := orderFixture()
			tt.mutate(s, &rd)
			a, o := s.check(rd)
			if !tt.found(a, o) {
				t.Errorf("the audit did not find it: %+v; %s", a, o.text())
			}
			failed := a.Oversold > 0 || a.CounterDiffers || o.failed()
			if failed != tt.fails {
				t.Errorf("failed = %v, want %v: %+v; %s", failed, tt.fails, a, o.text())
			}
		})
	}
}
