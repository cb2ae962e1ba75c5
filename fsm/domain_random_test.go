package fsm_test

import (
	"fmt"
	"math/rand"
	"testing"
	"time"

	"github.com/bookd/bookd/fsm"
	fsmv1 "github.com/bookd/bookd/proto/bookd/fsm/v1"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
)

// A seeded random mix of booking-domain commands on a GA event and a
// seat-map event, both with limits and waitlists, checked after every
// command against rules that must always hold:
//   - inventory adds up: free + held + booked (+ blocked) is the capacity;
//   - no customer has more tickets in live holds and bookings than the limit;
//   - no hold is active past its expiry;
//   - no one waits whose request would fit now (first-fit, within limits);
//
// and applied to a second fresh state machine, which ends with the same digest.
func TestDomainRandom(t *testing.T) {
	for seed := int64(1); seed <= 6; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			r := rand.New(rand.NewSource(seed))
			a, b := newHarness(t), newHarness(t)
			do := func(req proto.Message) proto.Message {
				t.Helper()
				ra, rb := a.do(req), b.do(req)
				if !sameResult(ra, rb) {
					t.Fatalf("two state machines answered %v/%v and %v/%v", ra.Response, ra.Err, rb.Response, rb.Err)
				}
				return ra.Response
			}
			at := func(now int64) { a.now, b.now = now, now }
			const limit = 4
			ga := do(&bookdv1.CreateEventRequest{Name: "GA", Capacity: 8, MaxTicketsPerCustomer: limit, MaxTicketsPerHold: 3,
				WaitlistOfferTtl: durationpb.New(20 * time.Second)}).(*bookdv1.CreateEventResponse).GetEvent().GetId()
			seated := do(&bookdv1.CreateEventRequest{Name: "Seats", Sections: []*bookdv1.Section{
				section("S", row("A", 5, 3), row("B", 4)), section("T", row("A", 3))},
				MaxTicketsPerCustomer: limit, WaitlistOfferTtl: durationpb.New(20 * time.Second)}).(*bookdv1.CreateEventResponse).GetEvent().GetId()
			customers := []string{"c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8"}
			var holds, bookings, entries []string
			pick := func(ids []string) string {
				if len(ids) == 0 {
					return "hd_999999"
				}
				return ids[r.Intn(len(ids))]
			}
			ttl := func() *durationpb.Duration { return durationpb.New(time.Duration(1+r.Intn(60)) * time.Second) }
			for step := 0; step < 400; step++ {
				at(a.now + r.Int63n(8*sec))
				ev := ga
				section := ""
				if r.Intn(2) == 0 {
					ev = seated
					section = []string{"", "S", "T"}[r.Intn(3)]
				}
				c := customers[r.Intn(len(customers))]
				q := int64(1 + r.Intn(3))
				var resp proto.Message
				switch p := r.Intn(100); {
				case p < 25:
					resp = do(&bookdv1.HoldRequest{EventId: ev, CustomerId: c, Quantity: q, Ttl: ttl(),
						BestAvailable: ev == seated, Section: section})
				case p < 35:
					resp = do(&bookdv1.BookRequest{EventId: ev, CustomerId: c, Quantity: q, BestAvailable: ev == seated, Section: section})
				case p < 50:
					s := section
					if ev == ga {
						s = ""
					}
					resp = do(&bookdv1.JoinWaitlistRequest{EventId: ev, CustomerId: c, Quantity: q, Section: s})
				case p < 60:
					resp = do(&bookdv1.ConfirmRequest{HoldId: pick(holds)})
				case p < 70:
					resp = do(&bookdv1.ReleaseHoldRequest{HoldId: pick(holds)})
				case p < 75:
					resp = do(&bookdv1.ExtendHoldRequest{HoldId: pick(holds), Ttl: ttl()})
				case p < 85:
					if len(bookings) > 0 {
						resp = do(&bookdv1.CancelBookingRequest{BookingId: pick(bookings)})
					}
				case p < 90:
					if len(entries) > 0 {
						resp = do(&bookdv1.LeaveWaitlistRequest{EntryId: pick(entries)})
					}
				default:
					at(a.now + r.Int63n(40*sec))
					resp = do(&fsmv1.ExpireHolds{})
				}
				switch x := resp.(type) {
				case *bookdv1.HoldResponse:
					holds = append(holds, x.GetHold().GetId())
				case *bookdv1.BookResponse:
					bookings = append(bookings, x.GetBooking().GetId())
				case *bookdv1.ConfirmResponse:
					bookings = append(bookings, x.GetBooking().GetId())
				case *bookdv1.JoinWaitlistResponse:
					entries = append(entries, x.GetEntry().GetId())
				}
				for _, e := range entries { // offers are holds too
					if got, _ := a.entry(e); got.GetHoldId() != "" && !contains(holds, got.GetHoldId()) {
						holds = append(holds, got.GetHoldId())
					}
				}
				checkDomainRules(t, a, step, limit, []string{ga, seated}, customers, holds, bookings, entries)
			}
			sameDigest(t, a.f, b.f)
			offers := len(kindsOf(t, a.f, "waitlist_offer"))
			if len(holds) < 50 || len(bookings) < 10 || len(entries) < 10 || offers < 3 {
				t.Errorf("the mix made only %d holds, %d bookings, %d entries, %d offers", len(holds), len(bookings), len(entries), offers)
			}
		})
	}
}

func contains(ids []string, id string) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

func checkDomainRules(t *testing.T, h *harness, step int, limit int64, events, customers, holds, bookings, entries []string) {
	t.Helper()
	if _, err := fsm.CheckSeatIndex(h.f); err != nil {
		t.Fatalf("step %d: seats in memory differ from the store: %v", step, err)
	}
	tickets := map[string]int64{} // event/customer
	for _, id := range holds {
		hd := h.readHold(id, h.now)
		if hd.GetStatus() == bookdv1.HoldStatus_HOLD_STATUS_ACTIVE {
			tickets[hd.GetEventId()+"/"+hd.GetCustomerId()] += hd.GetQuantity()
			if hd.GetExpiresAt().AsTime().UnixNano() <= h.now {
				t.Fatalf("step %d: hold %s active at or past its expiry", step, id)
			}
		}
	}
	for _, id := range bookings {
		bk := h.readBooking(id)
		if bk.GetStatus() == bookdv1.BookingStatus_BOOKING_STATUS_CONFIRMED {
			tickets[bk.GetEventId()+"/"+bk.GetCustomerId()] += bk.GetQuantity()
		}
	}
	free := map[string]map[string]int64{} // event -> section -> free seats, "" for GA
	for _, ev := range events {
		a := h.avail(ev)
		free[ev] = map[string]int64{"": a.GetAvailableQuantity()}
		if a.GetCapacity() > 0 && a.GetAvailableQuantity()+a.GetHeldQuantity()+a.GetBookedQuantity() != a.GetCapacity() {
			t.Fatalf("step %d: %s available %d + held %d + booked %d != capacity %d", step, ev,
				a.GetAvailableQuantity(), a.GetHeldQuantity(), a.GetBookedQuantity(), a.GetCapacity())
		}
		var held, booked int64
		for _, s := range a.GetSections() {
			free[ev][s.GetSection()] = s.GetFreeSeats()
			free[ev][""] += s.GetFreeSeats()
			held, booked = held+s.GetHeldSeats(), booked+s.GetBookedSeats()
		}
		if held != a.GetHeldSeats() || booked != a.GetBookedSeats() || int64(len(a.GetFreeSeats())) != free[ev][""]-a.GetAvailableQuantity() {
			t.Fatalf("step %d: %s sections do not add up to the event's seats: %v", step, ev, a)
		}
		for _, c := range customers {
			if n := tickets[ev+"/"+c]; n > limit {
				t.Fatalf("step %d: %s has %d tickets of %s, limit %d", step, c, n, ev, limit)
			}
		}
	}
	for _, id := range entries {
		e, _ := h.entry(id)
		if e.GetStatus() != bookdv1.WaitlistStatus_WAITLIST_STATUS_WAITING {
			continue
		}
		fits := free[e.GetEventId()][e.GetSection()] >= e.GetQuantity() &&
			tickets[e.GetEventId()+"/"+e.GetCustomerId()]+e.GetQuantity() <= limit
		if fits {
			t.Fatalf("step %d: entry %s (%s wants %d in %q) waits while %d are free", step, id, e.GetCustomerId(),
				e.GetQuantity(), e.GetSection(), free[e.GetEventId()][e.GetSection()])
		}
	}
}
