package fsm_test

import (
	"testing"
	"time"

	"github.com/bookd/bookd/fsm"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// tourEvent is a GA departure with adult and child prices in EUR and an
// early-bird tier of `early` adult tickets at 2000.
func tourEvent(capacity, early int64) *bookdv1.CreateEventRequest {
	req := &bookdv1.CreateEventRequest{Name: "Harbour tour", Capacity: capacity, TimeZone: "Europe/Vienna",
		Categories: []*bookdv1.Category{{Name: "adult", Price: 3000, Currency: "EUR"}, {Name: "child", Price: 1200}}}
	if early > 0 {
		req.Categories[0].Tiers = []*bookdv1.PriceTier{{Quantity: early, Price: 2000, Name: "early bird"}}
	}
	return req
}

func orderHold(customer string, items ...*bookdv1.HoldItem) *bookdv1.HoldRequest {
	return &bookdv1.HoldRequest{CustomerId: customer, Items: items, Ttl: durationpb.New(time.Minute)}
}

func ga(eventID, category string, n int64) *bookdv1.HoldItem {
	return &bookdv1.HoldItem{EventId: eventID, Category: category, Quantity: n}
}

func TestOrderOfTwoDeparturesIsPricedAndConfirmedWhole(t *testing.T) {
	h := newHarness(t)
	out := h.createEvent(tourEvent(20, 3))
	back := h.createEvent(tourEvent(20, 3))
	if out.GetCategories()[1].GetCurrency() != "EUR" || out.GetTimeZone() != "Europe/Vienna" {
		t.Fatalf("event keeps categories %v and zone %q; want child in EUR and the zone", out.GetCategories(), out.GetTimeZone())
	}
	hold := h.hold(orderHold("fam", ga(out.Id, "adult", 2), ga(out.Id, "child", 2), ga(back.Id, "adult", 2)))
	if len(hold.GetItems()) != 3 || hold.GetEventId() != out.Id || hold.GetQuantity() != 2 {
		t.Fatalf("hold items %v, event %s quantity %d", hold.GetItems(), hold.GetEventId(), hold.GetQuantity())
	}
	// 2×2000 + 2×1200 + 2×2000 = 10400, all early bird.
	if hold.GetTotal() != 10400 || hold.GetCurrency() != "EUR" || hold.GetDiscount() != 0 {
		t.Fatalf("total %d %s discount %d, want 10400 EUR 0", hold.GetTotal(), hold.GetCurrency(), hold.GetDiscount())
	}
	checkAvail(t, h.avail(out.Id), 16, 4, 0, nil)
	checkAvail(t, h.avail(back.Id), 18, 2, 0, nil)

	b := h.confirm(hold.Id)
	if len(b.GetItems()) != 3 || b.GetTotal() != 10400 {
		t.Fatalf("booking items %v total %d", b.GetItems(), b.GetTotal())
	}
	checkAvail(t, h.avail(out.Id), 16, 0, 4, nil)
	checkAvail(t, h.avail(back.Id), 18, 0, 2, nil)
	for _, ev := range []string{out.Id, back.Id} {
		page, _, err := h.f.ListBookings(ev, "", "", 10)
		if err != nil || len(page) != 1 || page[0].GetId() != b.Id {
			t.Errorf("bookings of %s = %v (%v), want the order's booking", ev, page, err)
		}
	}
}

func TestOrderIsAllOrNothing(t *testing.T) {
	h := newHarness(t)
	a := h.createEvent(tourEvent(10, 2))
	full := h.createEvent(tourEvent(2, 0))
	h.book(&bookdv1.BookRequest{EventId: full.Id, Category: "adult", Quantity: 2, CustomerId: "x"})
	mustOK[*bookdv1.CreateVoucherResponse](t, h.do(&bookdv1.CreateVoucherRequest{Voucher: &bookdv1.Voucher{Code: "HALF", PercentOff: 50, MaxRedemptions: 5}}))
	before := h.avail(a.Id)

	req := orderHold("fam", ga(a.Id, "adult", 2), ga(full.Id, "child", 1))
	req.VoucherCode = "HALF"
	res := h.do(req)
	wantErr(t, res, fsm.CodeFailedPrecondition, fsm.ReasonSoldOut, "items[1]", full.Id)
	if res.Err.Metadata[fsm.MetaItem] != "1" {
		t.Errorf("metadata %v, want item 1", res.Err.Metadata)
	}
	after := h.avail(a.Id)
	if after.GetAvailableQuantity() != before.GetAvailableQuantity() || after.GetCategories()[0].GetTier() != 0 ||
		after.GetCategories()[0].GetTierLeft() != 2 || after.GetCategories()[0].GetHeld() != 0 {
		t.Errorf("a refused order left availability %v, was %v", after, before)
	}
	if v, _ := h.f.Voucher("HALF"); v.GetRedeemed() != 0 {
		t.Errorf("a refused order redeemed the voucher: %d", v.GetRedeemed())
	}
	// The same order without the sold-out item goes through at the early price.
	ok := orderHold("fam", ga(a.Id, "adult", 2))
	ok.VoucherCode = "HALF"
	hold := h.hold(ok)
	if hold.GetTotal() != 2000 || hold.GetDiscount() != 2000 {
		t.Errorf("total %d discount %d, want 2000 and 2000", hold.GetTotal(), hold.GetDiscount())
	}
}

func TestTiersSellInOrderAndFreedTicketsGoBack(t *testing.T) {
	h := newHarness(t)
	ev := h.createEvent(tourEvent(100, 3))
	first := h.hold(orderHold("a", ga(ev.Id, "adult", 2)))
	long := orderHold("b", ga(ev.Id, "adult", 2))
	long.Ttl = durationpb.New(time.Hour)
	second := h.hold(long) // 1 early, 1 at the category's price
	lines := second.GetItems()[0].GetPrices()
	if len(lines) != 2 || lines[0].GetTier() != 0 || lines[0].GetQuantity() != 1 || lines[0].GetUnitPrice() != 2000 ||
		lines[1].GetTier() != 1 || lines[1].GetQuantity() != 1 || lines[1].GetUnitPrice() != 3000 {
		t.Fatalf("second hold priced %v, want 1 at 2000 (tier 0) and 1 at 3000 (tier 1)", lines)
	}
	if second.GetTotal() != 5000 {
		t.Errorf("second total %d, want 5000", second.GetTotal())
	}
	cat := h.avail(ev.Id).GetCategories()[0]
	if cat.GetTier() != 1 || cat.GetPrice() != 3000 || cat.GetTierLeft() != 0 {
		t.Errorf("availability says tier %d price %d left %d, want the category's price", cat.GetTier(), cat.GetPrice(), cat.GetTierLeft())
	}
	// The first hold expires: its two early-bird tickets go back to the tier.
	h.at(2 * time.Minute)
	h.do(&bookdv1.CreateProductRequest{Name: "tick"}) // any command moves time and expires holds
	if got := h.readHold(first.Id, h.now).GetStatus(); got != bookdv1.HoldStatus_HOLD_STATUS_EXPIRED {
		t.Fatalf("first hold is %v", got)
	}
	if cat := h.avail(ev.Id).GetCategories()[0]; cat.GetTier() != 0 || cat.GetTierLeft() != 2 || cat.GetPrice() != 2000 {
		t.Errorf("after expiry: tier %d left %d price %d, want tier 0 with 2 left at 2000", cat.GetTier(), cat.GetTierLeft(), cat.GetPrice())
	}
	third := h.hold(orderHold("c", ga(ev.Id, "adult", 2)))
	if third.GetTotal() != 4000 {
		t.Errorf("third total %d, want 4000 (two early-bird tickets freed by the expiry)", third.GetTotal())
	}
}

func TestVoucherIsNeverRedeemedPastItsLimit(t *testing.T) {
	h := newHarness(t)
	ev := h.createEvent(tourEvent(100, 0))
	mustOK[*bookdv1.CreateVoucherResponse](t, h.do(&bookdv1.CreateVoucherRequest{Voucher: &bookdv1.Voucher{
		Code: "FIVE-OFF", AmountOff: 500, Currency: "EUR", EventIds: []string{ev.Id}, MaxRedemptions: 5}}))
	var reqs []proto.Message
	for i := range 8 {
		r := orderHold("c"+string(rune('a'+i)), ga(ev.Id, "adult", 1))
		r.VoucherCode = "FIVE-OFF"
		reqs = append(reqs, r)
	}
	res := h.doAll(reqs...) // one entry: applied in order
	var holds []*bookdv1.Hold
	for i, r := range res {
		if i < 5 {
			hold := mustOK[*bookdv1.HoldResponse](t, r).GetHold()
			if hold.GetDiscount() != 500 || hold.GetTotal() != 2500 {
				t.Errorf("hold %d discount %d total %d, want 500 and 2500", i, hold.GetDiscount(), hold.GetTotal())
			}
			holds = append(holds, hold)
			continue
		}
		wantErr(t, r, fsm.CodeFailedPrecondition, fsm.ReasonVoucherUsedUp, "voucher_code")
	}
	if v, _ := h.f.Voucher("FIVE-OFF"); v.GetRedeemed() != 5 {
		t.Fatalf("redeemed %d, want 5", v.GetRedeemed())
	}
	h.release(holds[0].Id)
	if v, _ := h.f.Voucher("FIVE-OFF"); v.GetRedeemed() != 4 {
		t.Fatalf("after a release: redeemed %d, want 4", v.GetRedeemed())
	}
	h.confirm(holds[1].Id) // a confirmed redemption stays used
	again := orderHold("late", ga(ev.Id, "adult", 1))
	again.VoucherCode = "FIVE-OFF"
	h.hold(again)
	wantErr(t, h.do(again), fsm.CodeFailedPrecondition, fsm.ReasonVoucherUsedUp)
}

func TestVoucherWindowEventsAndCurrency(t *testing.T) {
	h := newHarness(t)
	ev := h.createEvent(tourEvent(100, 0))
	other := h.createEvent(tourEvent(100, 0))
	usd := h.createEvent(&bookdv1.CreateEventRequest{Name: "NYC", Capacity: 10, Categories: []*bookdv1.Category{{Name: "adult", Price: 4000, Currency: "USD"}}})
	t1 := timestamppb.New(time.Unix(0, t0).Add(time.Hour))
	for _, v := range []*bookdv1.Voucher{
		{Code: "LATER", PercentOff: 10, ValidFrom: t1, MaxRedemptions: 9},
		{Code: "ONLY-EV", PercentOff: 10, EventIds: []string{ev.Id}, MaxRedemptions: 9},
		{Code: "EURO-5", AmountOff: 500, Currency: "EUR", MaxRedemptions: 9},
	} {
		mustOK[*bookdv1.CreateVoucherResponse](t, h.do(&bookdv1.CreateVoucherRequest{Voucher: v}))
	}
	try := func(code string, items ...*bookdv1.HoldItem) *fsm.Result {
		r := orderHold("c", items...)
		r.VoucherCode = code
		return h.do(r)
	}
	wantErr(t, try("NOPE", ga(ev.Id, "adult", 1)), fsm.CodeFailedPrecondition, fsm.ReasonVoucherUnknown, "voucher_code")
	wantErr(t, try("LATER", ga(ev.Id, "adult", 1)), fsm.CodeFailedPrecondition, fsm.ReasonVoucherNotValid, "voucher_code", "valid from")
	wantErr(t, try("ONLY-EV", ga(other.Id, "adult", 1)), fsm.CodeFailedPrecondition, fsm.ReasonVoucherNotValid, "voucher_code")
	wantErr(t, try("EURO-5", ga(usd.Id, "adult", 1)), fsm.CodeFailedPrecondition, fsm.ReasonCurrencyMismatch, "voucher_code")
	wantErr(t, h.do(orderHold("c", ga(ev.Id, "adult", 1), ga(usd.Id, "adult", 1))), fsm.CodeFailedPrecondition,
		fsm.ReasonCurrencyMismatch, "items[1].category")
	// Valid for ev only: the discount is on ev's item alone.
	hold := mustOK[*bookdv1.HoldResponse](t, try("ONLY-EV", ga(ev.Id, "adult", 1), ga(other.Id, "adult", 1))).GetHold()
	if hold.GetDiscount() != 300 || hold.GetItems()[0].GetDiscount() != 300 || hold.GetItems()[1].GetDiscount() != 0 {
		t.Errorf("discount %d split %d/%d, want 300 on the first item", hold.GetDiscount(), hold.GetItems()[0].GetDiscount(), hold.GetItems()[1].GetDiscount())
	}
	h.at(2 * time.Hour)
	mustOK[*bookdv1.HoldResponse](t, try("LATER", ga(ev.Id, "adult", 1)))
}

func TestCategoriesQuotasAndLimits(t *testing.T) {
	h := newHarness(t)
	bus := mustOK[*bookdv1.CreateQuotaResponse](t, h.do(&bookdv1.CreateQuotaRequest{Name: "Bus 1", Capacity: 5})).GetQuota()
	req := tourEvent(50, 0)
	req.QuotaIds = []string{bus.Id}
	req.Categories[1].Capacity = 2
	a := h.createEvent(req)
	b := h.createEvent(req)
	h.hold(orderHold("x", ga(a.Id, "adult", 2), ga(b.Id, "adult", 2)))
	res := h.do(orderHold("y", ga(b.Id, "adult", 2)))
	wantErr(t, res, fsm.CodeFailedPrecondition, fsm.ReasonSoldOut, "quota "+bus.Id)
	if res.Err.Metadata[fsm.MetaQuota] != bus.Id {
		t.Errorf("metadata %v, want the quota", res.Err.Metadata)
	}
	if got := h.avail(b.Id).GetAvailableQuantity(); got != 1 {
		t.Errorf("available on b = %d, want 1 (the quota's)", got)
	}
	if q, _ := h.f.Quota(bus.Id); q.GetTaken() != 4 {
		t.Errorf("quota taken %d, want 4", q.GetTaken())
	}
	wantErr(t, h.do(orderHold("y", ga(a.Id, "child", 3))), fsm.CodeFailedPrecondition, fsm.ReasonSoldOut, "category child")
	wantErr(t, h.do(orderHold("y", ga(a.Id, "senior", 1))), fsm.CodeInvalidArgument, fsm.ReasonUnknownCategory, "items[0].category", "adult, child")
	wantErr(t, h.do(&bookdv1.HoldRequest{EventId: a.Id, CustomerId: "y", Quantity: 1}), fsm.CodeInvalidArgument, fsm.ReasonUnknownCategory, "category")
	h.hold(&bookdv1.HoldRequest{EventId: a.Id, CustomerId: "y", Category: "child", Quantity: 1})
	if q, _ := h.f.Quota(bus.Id); q.GetTaken() != 5 {
		t.Errorf("quota taken %d, want 5", q.GetTaken())
	}
}

func TestPartialCancellationRefundsItsShare(t *testing.T) {
	h := newHarness(t)
	a := h.createEvent(tourEvent(10, 0))
	b := h.createEvent(tourEvent(10, 0))
	mustOK[*bookdv1.CreateVoucherResponse](t, h.do(&bookdv1.CreateVoucherRequest{Voucher: &bookdv1.Voucher{Code: "TENPC", PercentOff: 10, MaxRedemptions: 9}}))
	req := &bookdv1.BookRequest{CustomerId: "fam", VoucherCode: "TENPC", Items: []*bookdv1.HoldItem{
		ga(a.Id, "adult", 2), ga(a.Id, "child", 1), ga(b.Id, "adult", 1)}}
	bk := h.book(req)
	// 6000 + 1200 + 3000 = 10200, less 1020.
	if bk.GetTotal() != 9180 || bk.GetDiscount() != 1020 {
		t.Fatalf("total %d discount %d, want 9180 and 1020", bk.GetTotal(), bk.GetDiscount())
	}
	res := mustOK[*bookdv1.CancelBookingResponse](t, h.do(&bookdv1.CancelBookingRequest{BookingId: bk.Id, Items: []int32{1}}))
	if res.GetRefund() != 1200-120 || res.GetBooking().GetStatus() != bookdv1.BookingStatus_BOOKING_STATUS_CONFIRMED ||
		res.GetBooking().GetItems()[1].GetCancelledAt() == nil || res.GetBooking().GetRefunded() != 1080 {
		t.Fatalf("partial cancel: refund %d, booking %v", res.GetRefund(), res.GetBooking())
	}
	if cat := h.avail(a.Id).GetCategories()[1]; cat.GetBooked() != 0 {
		t.Errorf("child booked %d after its cancellation", cat.GetBooked())
	}
	wantErr(t, h.do(&bookdv1.CancelBookingRequest{BookingId: bk.Id, Items: []int32{1}}), fsm.CodeFailedPrecondition, fsm.ReasonItemCancelled, "items[0]")
	wantErr(t, h.do(&bookdv1.CancelBookingRequest{BookingId: bk.Id, Items: []int32{3}}), fsm.CodeInvalidArgument, "", "items[0]", "3 items")
	rest := mustOK[*bookdv1.CancelBookingResponse](t, h.do(&bookdv1.CancelBookingRequest{BookingId: bk.Id}))
	if rest.GetRefund() != 9180-1080 || rest.GetBooking().GetStatus() != bookdv1.BookingStatus_BOOKING_STATUS_CANCELLED ||
		rest.GetBooking().GetRefunded() != 9180 {
		t.Fatalf("cancel the rest: refund %d, booking %v", rest.GetRefund(), rest.GetBooking())
	}
	checkAvail(t, h.avail(a.Id), 10, 0, 0, nil)
	checkAvail(t, h.avail(b.Id), 10, 0, 0, nil)
}

func TestSeatCategoriesAndSeatsNamedTwice(t *testing.T) {
	h := newHarness(t)
	ev := h.createEvent(&bookdv1.CreateEventRequest{Name: "Opera",
		Sections: []*bookdv1.Section{
			{Name: "STALLS", Rows: []*bookdv1.SeatRow{{Name: "A", Seats: 4}}},
			{Name: "CIRCLE", Rows: []*bookdv1.SeatRow{{Name: "A", Seats: 4}}},
		},
		Categories: []*bookdv1.Category{
			{Name: "stalls", Price: 8000, Currency: "EUR", Sections: []string{"STALLS"}},
			{Name: "circle", Price: 5000, Sections: []string{"CIRCLE"}},
		}})
	hold := h.hold(orderHold("s", &bookdv1.HoldItem{EventId: ev.Id, Seats: []string{"STALLS-A-1", "CIRCLE-A-1", "STALLS-A-2"}}))
	if len(hold.GetItems()) != 2 || hold.GetItems()[0].GetCategory() != "stalls" || hold.GetItems()[0].GetQuantity() != 2 ||
		hold.GetItems()[1].GetCategory() != "circle" || hold.GetTotal() != 21000 {
		t.Fatalf("seat order split into %v total %d, want stalls×2 and circle×1, 21000", hold.GetItems(), hold.GetTotal())
	}
	wantErr(t, h.do(orderHold("s", &bookdv1.HoldItem{EventId: ev.Id, Seats: []string{"STALLS-A-3"}},
		&bookdv1.HoldItem{EventId: ev.Id, Seats: []string{"CIRCLE-A-4", "STALLS-A-3"}})),
		fsm.CodeInvalidArgument, "", "items[1].seats[1]", "also in items[0]")
	wantErr(t, h.do(orderHold("s", &bookdv1.HoldItem{EventId: ev.Id, Seats: []string{"STALLS-A-3"}, Category: "stalls"})),
		fsm.CodeInvalidArgument, "", "items[0].category")
	// Two best-available items of one event take different seats.
	two := h.hold(orderHold("t", &bookdv1.HoldItem{EventId: ev.Id, Quantity: 1, BestAvailable: true, Section: "CIRCLE"},
		&bookdv1.HoldItem{EventId: ev.Id, Quantity: 1, BestAvailable: true, Section: "CIRCLE"}))
	if s0, s1 := two.GetItems()[0].GetSeats(), two.GetItems()[1].GetSeats(); len(s0) != 1 || len(s1) != 1 || s0[0] == s1[0] {
		t.Errorf("best-available items took %v and %v", s0, s1)
	}
}

func TestOrderRequestsAreValidated(t *testing.T) {
	h := newHarness(t)
	ev := h.createEvent(tourEvent(10, 0))
	many := make([]*bookdv1.HoldItem, fsm.MaxOrderItems+1)
	for i := range many {
		many[i] = ga(ev.Id, "adult", 1)
	}
	both := orderHold("c", ga(ev.Id, "adult", 1))
	both.EventId = ev.Id
	for _, tc := range []struct {
		name  string
		req   *bookdv1.HoldRequest
		field string
	}{
		{"too many items", orderHold("c", many...), "items"},
		{"items and a single item", both, "items"},
		{"bad event of an item", orderHold("c", ga("ev_x", "adult", 1)), "items[0].event_id"},
		{"no quantity", orderHold("c", ga(ev.Id, "adult", 0)), "items[0].quantity"},
		{"bad category name", orderHold("c", ga(ev.Id, "adult!", 1)), "items[0].category"},
		{"bad voucher code", func() *bookdv1.HoldRequest {
			r := orderHold("c", ga(ev.Id, "adult", 1))
			r.VoucherCode = "a b"
			return r
		}(), "voucher_code"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := fsm.ValidateHold(tc.req); err == nil || err.Code != fsm.CodeInvalidArgument {
				t.Fatalf("ValidateHold = %v, want INVALID_ARGUMENT", err)
			}
			wantErr(t, h.do(tc.req), fsm.CodeInvalidArgument, "", tc.field)
		})
	}
	checkAvail(t, h.avail(ev.Id), 10, 0, 0, nil)

	for _, tc := range []struct {
		name  string
		cats  []*bookdv1.Category
		field string
	}{
		{"negative price", []*bookdv1.Category{{Name: "a", Price: -1, Currency: "EUR"}}, "categories[0].price"},
		{"price too high", []*bookdv1.Category{{Name: "a", Price: fsm.MaxPrice + 1, Currency: "EUR"}}, "categories[0].price"},
		{"no currency", []*bookdv1.Category{{Name: "a", Price: 1}}, "categories[0].currency"},
		{"lower case", []*bookdv1.Category{{Name: "a", Price: 1, Currency: "eur"}}, "categories[0].currency"},
		{"not ISO 4217", []*bookdv1.Category{{Name: "a", Price: 1, Currency: "XYZ"}}, "categories[0].currency"},
		{"two currencies", []*bookdv1.Category{{Name: "a", Price: 1, Currency: "EUR"}, {Name: "b", Price: 1, Currency: "USD"}}, "categories[1].currency"},
		{"repeated name", []*bookdv1.Category{{Name: "a", Price: 1, Currency: "EUR"}, {Name: "a", Price: 1}}, "categories[1].name"},
		{"empty tier", []*bookdv1.Category{{Name: "a", Price: 1, Currency: "EUR", Tiers: []*bookdv1.PriceTier{{Quantity: 0, Price: 1}}}}, "categories[0].tiers[0].quantity"},
		{"unknown section", []*bookdv1.Category{{Name: "a", Price: 1, Currency: "EUR", Sections: []string{"X"}}}, "categories[0].sections[0]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := &bookdv1.CreateEventRequest{Name: "x", Capacity: 5, Categories: tc.cats}
			wantErr(t, h.do(req), fsm.CodeInvalidArgument, "", tc.field)
		})
	}
	wantErr(t, h.do(&bookdv1.CreateEventRequest{Name: "x", Capacity: 5, TimeZone: "Europe/Vienna; rm"}), fsm.CodeInvalidArgument, "", "time_zone")
	wantErr(t, h.do(&bookdv1.CreateEventRequest{Name: "x", Capacity: 5, QuotaIds: []string{"qt_99"}}), fsm.CodeNotFound, "", "quota_ids[0]")
}

// On a sold-out event an order with a voucher is refused for the
// inventory, whether its code exists or not: a stranger trying codes there
// learns nothing of them.
func TestSoldOutOrderSaysNothingOfItsVoucher(t *testing.T) {
	h := newHarness(t)
	ev := h.createEvent(tourEvent(1, 0))
	other := h.createEvent(tourEvent(10, 0))
	mustOK[*bookdv1.CreateVoucherResponse](t, h.do(&bookdv1.CreateVoucherRequest{Voucher: &bookdv1.Voucher{
		Code: "OTHER-ONLY", PercentOff: 10, EventIds: []string{other.Id}, MaxRedemptions: 1}}))
	h.book(&bookdv1.BookRequest{EventId: ev.Id, CustomerId: "x", Category: "adult", Quantity: 1})
	for _, code := range []string{"NO-SUCH-CODE", "OTHER-ONLY"} {
		r := orderHold("stranger", ga(ev.Id, "adult", 1))
		r.VoucherCode = code
		wantErr(t, h.do(r), fsm.CodeFailedPrecondition, fsm.ReasonSoldOut, ev.Id)
	}
}
