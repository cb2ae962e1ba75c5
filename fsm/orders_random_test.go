package fsm_test

import (
	"fmt"
	"math/rand"
	"testing"
	"time"

	fsmv1 "github.com/bookd/bookd/proto/bookd/fsm/v1"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
)

// A seeded random mix of orders (one to four items over three events that
// share a quota, with categories, tiers and a voucher), confirmations,
// releases, expiries and whole or partial cancellations, applied to two
// state machines. After every command the stored holds and bookings are
// tallied and must agree with what the state machine counts:
//   - per event, per category and per quota, the tickets of live holds and
//     bookings are what availability and the quota report, within capacity;
//   - no price tier has sold more than its quantity, and availability names
//     the first tier with room;
//   - the voucher's redemptions are its live holds and its bookings, within
//     its limit;
//   - every item's amount is its price lines', every order's total its
//     amounts less its discount;
//
// and both state machines end with the same digest.
func TestOrdersRandom(t *testing.T) {
	for seed := int64(1); seed <= 4; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			r := rand.New(rand.NewSource(seed))
			a, b := newHarness(t), newHarness(t)
			applied := false // a command ran this step: due holds are expired
			do := func(req proto.Message) proto.Message {
				t.Helper()
				applied = true
				ra, rb := a.do(req), b.do(req)

				if !sameResult(ra, rb) {
					t.Fatalf("two state machines answered %v/%v and %v/%v", ra.Response, ra.Err, rb.Response, rb.Err)
				}
				return ra.Response
			}
			quota := do(&bookdv1.CreateQuotaRequest{Name: "bus", Capacity: 14}).(*bookdv1.CreateQuotaResponse).GetQuota().GetId()
			var events []string
			for i := range 3 {
				req := &bookdv1.CreateEventRequest{Name: "tour", Capacity: 8, QuotaIds: []string{quota}, Categories: []*bookdv1.Category{
					{Name: "adult", Price: 3000, Currency: "EUR", Tiers: []*bookdv1.PriceTier{{Quantity: 2, Price: 1000}, {Quantity: 2, Price: 2000}}},
					{Name: "child", Price: 1500, Capacity: 3},
				}}
				if i == 2 {
					req.QuotaIds = nil
				}
				events = append(events, do(req).(*bookdv1.CreateEventResponse).GetEvent().GetId())
			}
			do(&bookdv1.CreateVoucherRequest{Voucher: &bookdv1.Voucher{Code: "SAVE", PercentOff: 15, MaxRedemptions: 3, EventIds: events[:2]}})
			var holds, bookings []string
			pick := func(ids []string) string {
				if len(ids) == 0 {
					return "hd_999999"
				}
				return ids[r.Intn(len(ids))]
			}
			for step := 0; step < 500; step++ {
				a.now += r.Int63n(5 * sec)
				b.now = a.now
				var items []*bookdv1.HoldItem
				for range 1 + r.Intn(4) {
					items = append(items, ga(events[r.Intn(3)], []string{"adult", "child"}[r.Intn(2)], int64(1+r.Intn(2))))
				}
				voucher := ""
				if r.Intn(3) == 0 {
					voucher = "SAVE"
				}
				customer := fmt.Sprint("c", r.Intn(5))
				var resp proto.Message
				switch p := r.Intn(100); {
				case p < 35:
					resp = do(&bookdv1.HoldRequest{CustomerId: customer, Items: items, VoucherCode: voucher,
						Ttl: durationpb.New(time.Duration(1+r.Intn(30)) * time.Second)})
				case p < 45:
					resp = do(&bookdv1.BookRequest{CustomerId: customer, Items: items, VoucherCode: voucher})
				case p < 60:
					resp = do(&bookdv1.ConfirmRequest{HoldId: pick(holds)})
				case p < 68:
					resp = do(&bookdv1.ReleaseHoldRequest{HoldId: pick(holds)})
				case p < 80:
					if len(bookings) > 0 {
						req := &bookdv1.CancelBookingRequest{BookingId: pick(bookings)}
						if r.Intn(2) == 0 {
							req.Items = []int32{int32(r.Intn(3))}
						}
						resp = do(req)
					}
				default:
					a.now += r.Int63n(20 * sec)
					b.now = a.now
					resp = do(&fsmv1.ExpireHolds{})
				}
				switch x := resp.(type) {
				case *bookdv1.HoldResponse:
					holds = append(holds, x.GetHold().GetId())
				case *bookdv1.BookResponse:
					bookings = append(bookings, x.GetBooking().GetId())
				case *bookdv1.ConfirmResponse:
					bookings = append(bookings, x.GetBooking().GetId())
				}
				if applied {
					checkOrderRules(t, a, step, events, quota, holds, bookings)
				}
				applied = false
			}
			sameDigest(t, a.f, b.f)
			if len(holds) < 30 || len(bookings) < 15 {
				t.Errorf("the mix made only %d holds and %d bookings", len(holds), len(bookings))
			}
		})
	}
}

func checkOrderRules(t *testing.T, h *harness, step int, events []string, quotaID string, holds, bookings []string) {
	t.Helper()
	type key struct{ event, category string }
	tickets := map[key]int64{}         // live tickets per event/category ("" category: all)
	tiers := map[key]map[int32]int64{} // live tickets per price tier
	redeemed := int64(0)
	count := func(items []*bookdv1.OrderItem, total, discount int64, what string) {
		var amounts, discounts int64
		for _, it := range items {
			var sum int64
			for _, l := range it.GetPrices() {
				sum += l.GetQuantity() * l.GetUnitPrice()
			}
			if sum != it.GetAmount() {
				t.Fatalf("step %d: %s item amount %d, its lines say %d", step, what, it.GetAmount(), sum)
			}
			amounts, discounts = amounts+it.GetAmount(), discounts+it.GetDiscount()
			if it.GetCancelledAt() != nil {
				continue
			}
			tickets[key{it.GetEventId(), ""}] += it.GetQuantity()
			k := key{it.GetEventId(), it.GetCategory()}
			tickets[k] += it.GetQuantity()
			if tiers[k] == nil {
				tiers[k] = map[int32]int64{}
			}
			for _, l := range it.GetPrices() {
				tiers[k][l.GetTier()] += l.GetQuantity()
			}
		}
		if discounts != discount || amounts-discount != total {
			t.Fatalf("step %d: %s total %d discount %d, items say %d and %d", step, what, total, discount, amounts-discounts, discounts)
		}
	}
	for _, id := range holds {
		hd := h.readHold(id, h.now)
		if hd.GetStatus() == bookdv1.HoldStatus_HOLD_STATUS_ACTIVE {
			count(hd.GetItems(), hd.GetTotal(), hd.GetDiscount(), id)
			if hd.GetVoucherCode() != "" {
				redeemed++
			}
		}
	}
	for _, id := range bookings {
		bk := h.readBooking(id)
		if bk.GetVoucherCode() != "" {
			redeemed++
		}
		if bk.GetStatus() == bookdv1.BookingStatus_BOOKING_STATUS_CONFIRMED {
			count(bk.GetItems(), bk.GetTotal(), bk.GetDiscount(), id)
		}
	}
	var quotaTaken int64
	for i, ev := range events {
		av := h.avail(ev)
		if got := av.GetHeldQuantity() + av.GetBookedQuantity(); got != tickets[key{ev, ""}] {
			t.Fatalf("step %d: %s counts %d tickets, holds and bookings have %d", step, ev, got, tickets[key{ev, ""}])
		}
		if i < 2 {
			quotaTaken += tickets[key{ev, ""}]
		}
		for _, c := range av.GetCategories() {
			k := key{ev, c.GetName()}
			if c.GetHeld()+c.GetBooked() != tickets[k] {
				t.Fatalf("step %d: %s %s counts %d, holds and bookings have %d", step, ev, c.GetName(), c.GetHeld()+c.GetBooked(), tickets[k])
			}
			if c.GetName() == "child" && tickets[k] > 3 {
				t.Fatalf("step %d: %s has %d child tickets, capacity 3", step, ev, tickets[k])
			}
			if c.GetName() != "adult" {
				continue
			}
			first := int32(2)
			for tier, q := range []int64{2, 2} {
				if tiers[k][int32(tier)] > q {
					t.Fatalf("step %d: %s sold %d of tier %d, which has %d", step, ev, tiers[k][int32(tier)], tier, q)
				}
				if tiers[k][int32(tier)] < q && first == 2 {
					first = int32(tier)
				}
			}
			if c.GetTier() != first {
				t.Fatalf("step %d: %s adult sells at tier %d, the first with room is %d (%v)", step, ev, c.GetTier(), first, tiers[k])
			}
		}
	}
	q, err := h.f.Quota(quotaID)
	if err != nil || q.GetTaken() != quotaTaken || q.GetTaken() > q.GetCapacity() {
		t.Fatalf("step %d: quota %v (%v), holds and bookings have %d", step, q, err, quotaTaken)
	}
	v, err := h.f.Voucher("SAVE")
	if err != nil || v.GetRedeemed() != redeemed || redeemed > v.GetMaxRedemptions() {
		t.Fatalf("step %d: voucher redeemed %d (%v), holds and bookings name it %d times", step, v.GetRedeemed(), err, redeemed)
	}
}
