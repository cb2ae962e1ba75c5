package fsm_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bookd/bookd/fsm"
	fsmv1 "github.com/bookd/bookd/proto/bookd/fsm/v1"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"google.golang.org/protobuf/types/known/durationpb"
)

const offerTTL = 30 * time.Second

// waitEvent has 4 GA tickets and offers lasting offerTTL.
func waitEvent() *bookdv1.CreateEventRequest {
	return &bookdv1.CreateEventRequest{Name: "Waitlisted", Capacity: 4, WaitlistOfferTtl: durationpb.New(offerTTL)}
}

// checkOffer checks that a waitlist entry received an offer: a hold of its
// own (hd_N for wl_N) of the quantity asked, lasting ttl from now.
func checkOffer(h *harness, e *bookdv1.WaitlistEntry, ttl time.Duration) *bookdv1.Hold {
	h.t.Helper()
	got, pos := h.entry(e.GetId())
	wantHold := offerID(e)
	if got.GetStatus() != bookdv1.WaitlistStatus_WAITLIST_STATUS_OFFERED || got.GetHoldId() != wantHold || pos != 0 {
		h.t.Fatalf("entry %s is %v with hold %q at position %d, want offered %s at 0", e.GetId(), got.GetStatus(), got.GetHoldId(), pos, wantHold)
	}
	hd := h.readHold(wantHold, 0)
	if hd.GetStatus() != bookdv1.HoldStatus_HOLD_STATUS_ACTIVE || hd.GetCustomerId() != e.GetCustomerId() ||
		hd.GetQuantity() != e.GetQuantity() || hd.GetWaitlistEntryId() != e.GetId() || hd.GetEventId() != e.GetEventId() {
		h.t.Errorf("offer %v does not match entry %v", hd, e)
	}
	if want := h.now + ttl.Nanoseconds(); expiresNanos(hd) != want {
		h.t.Errorf("offer expires at +%s, want +%s", time.Duration(expiresNanos(hd)-t0), time.Duration(want-t0))
	}
	return hd
}

func expiresNanos(hd *bookdv1.Hold) int64 { return hd.GetExpiresAt().AsTime().UnixNano() }

func checkWaiting(h *harness, e *bookdv1.WaitlistEntry, position int64) {
	h.t.Helper()
	got, pos := h.entry(e.GetId())
	if got.GetStatus() != bookdv1.WaitlistStatus_WAITLIST_STATUS_WAITING || pos != position || got.GetHoldId() != "" {
		h.t.Errorf("entry %s is %v at position %d with hold %q, want waiting at %d", e.GetId(), got.GetStatus(), pos, got.GetHoldId(), position)
	}
}

// When inventory frees, waiting customers receive offers, whatever freed it.
func TestWaitlistOfferWhenInventoryFrees(t *testing.T) {
	tests := []struct {
		name     string
		free     func(h *harness, holdID string) // at +10s; the hold has all 4 tickets
		wantKind string                          // the change that freed the tickets
	}{
		{"expiry", func(h *harness, _ string) { h.at(time.Minute); h.do(&fsmv1.ExpireHolds{}) }, "hold_expired"},
		{"expiry seen by another command", func(h *harness, _ string) { h.at(time.Minute); h.createEvent(gaEvent(1)) }, "hold_expired"},
		{"release", func(h *harness, id string) { h.release(id) }, "hold_released"},
		{"booking cancelled", func(h *harness, id string) { h.cancel(h.confirm(id).GetId()) }, "booking_cancelled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			ev := h.createEvent(waitEvent()).GetId()
			hd := h.hold(holdFor(ev, "alice", 4, time.Minute))
			h.at(5 * time.Second)
			bob := h.join(ev, "bob", 3)
			carol := h.join(ev, "carol", 1)
			checkWaiting(h, bob, 1)
			checkWaiting(h, carol, 2)
			if n := h.avail(ev).GetWaitlistLength(); n != 2 {
				t.Errorf("waitlist length %d, want 2", n)
			}
			h.at(10 * time.Second)
			from := h.next
			tt.free(h, hd.GetId())
			bobHold := checkOffer(h, bob, offerTTL)
			carolHold := checkOffer(h, carol, offerTTL)
			a := h.avail(ev)
			checkAvail(t, a, 0, 4, a.GetBookedQuantity(), nil)
			if a.GetWaitlistLength() != 0 {
				t.Errorf("waitlist length %d after the offers, want 0", a.GetWaitlistLength())
			}
			got := kindsSince(t, h.f, from)
			// The offers follow the change that freed the tickets (before
			// the change of the command that found the hold due, if any).
			at := slices.IndexFunc(got, func(k string) bool { return strings.HasPrefix(k, tt.wantKind+":") })
			if at < 0 || len(got) < at+3 {
				t.Fatalf("changes %q, want %s then the offers", got, tt.wantKind)
			}
			wantStrings(t, "offers in the feed", got[at+1:at+3],
				[]string{"waitlist_offer:" + bobHold.GetId(), "waitlist_offer:" + carolHold.GetId()})
			// An offer is a hold like any other.
			h.confirm(bobHold.GetId())
			h.extend(carolHold.GetId(), time.Minute)
		})
	}
}

// Offers go to the first waiting customer whose request fits, in the order
// they joined; a request too large waits without blocking smaller ones.
func TestWaitlistFIFOFirstFit(t *testing.T) {
	h := newHarness(t)
	ev := h.createEvent(waitEvent()).GetId()
	a1 := h.hold(holdFor(ev, "alice", 2, time.Hour))
	a2 := h.hold(holdFor(ev, "alice", 2, time.Hour))
	bob := h.join(ev, "bob", 3)
	carol := h.join(ev, "carol", 1)
	dave := h.join(ev, "dave", 1)
	erin := h.join(ev, "erin", 2)

	h.at(time.Second)
	h.release(a1.GetId()) // 2 free: bob does not fit; carol then dave do
	checkWaiting(h, bob, 1)
	checkOffer(h, carol, offerTTL)
	checkOffer(h, dave, offerTTL)
	checkWaiting(h, erin, 2)

	h.at(2 * time.Second)
	h.release(a2.GetId()) // 2 free: bob still does not fit, erin does
	checkWaiting(h, bob, 1)
	checkOffer(h, erin, offerTTL)

	h.at(3 * time.Second)
	h.release(offerID(carol)) // 1 free, bob wants 3
	checkWaiting(h, bob, 1)
	h.release(offerID(erin)) // 3 free
	checkOffer(h, bob, offerTTL)
	wantStrings(t, "offers in order", kindsOf(t, h.f, "waitlist_offer"),
		[]string{offerID(carol), offerID(dave), offerID(erin), offerID(bob)})
}

// offerID is the id of the hold offered to a waitlist entry.
func offerID(e *bookdv1.WaitlistEntry) string { return "hd_" + strings.TrimPrefix(e.GetId(), "wl_") }

// kindsOf lists the holds (or else the entries, bookings, events) of the
// changes of one kind, in feed order.
func kindsOf(t testing.TB, f *fsm.FSM, kind string) []string {
	t.Helper()
	var out []string
	for _, k := range kinds(allChanges(t, f)) {
		if rest, ok := strings.CutPrefix(k, kind+":"); ok {
			out = append(out, rest)
		}
	}
	return out
}

// An offer that would put a customer over the event's limit is not made;
// the entry waits and later entries are served.
func TestWaitlistOffersRespectLimits(t *testing.T) {
	h := newHarness(t)
	req := waitEvent()
	req.MaxTicketsPerCustomer = 2
	ev := h.createEvent(req).GetId()
	a := h.hold(holdFor(ev, "alice", 2, time.Hour))
	h.hold(holdFor(ev, "dave", 2, time.Hour))
	bob1 := h.join(ev, "bob", 1)
	bob2 := h.join(ev, "bob", 2) // fits the limit alone, not with bob1's offer
	carol := h.join(ev, "carol", 1)
	wantErr(t, h.do(&bookdv1.JoinWaitlistRequest{EventId: ev, CustomerId: "erin", Quantity: 3}),
		fsm.CodeFailedPrecondition, fsm.ReasonCustomerLimit, "at most 2 tickets")

	h.at(time.Second)
	h.release(a.GetId())
	checkOffer(h, bob1, offerTTL)
	checkWaiting(h, bob2, 1)
	checkOffer(h, carol, offerTTL)

	// Once bob's first offer is gone, his second entry fits.
	h.at(2 * time.Second)
	h.release(offerID(bob1))
	checkWaiting(h, bob2, 1) // 1 free, bob2 wants 2
	h.release(offerID(carol))
	checkOffer(h, bob2, offerTTL)
}

// An offer lasts the event's waitlist_offer_ttl (10 minutes by default);
// when it expires, the tickets go to the next waiting customer.
func TestWaitlistOfferExpiry(t *testing.T) {
	for _, ttl := range []time.Duration{0, offerTTL} {
		t.Run(ttl.String(), func(t *testing.T) {
			h := newHarness(t)
			req := waitEvent()
			wantTTL := fsm.DefaultOfferTTL
			if ttl != 0 {
				wantTTL = ttl
			} else {
				req.WaitlistOfferTtl = nil
			}
			ev := h.createEvent(req).GetId()
			hd := h.hold(holdFor(ev, "alice", 4, time.Minute))
			bob := h.join(ev, "bob", 4)
			carol := h.join(ev, "carol", 4)
			h.at(time.Minute)
			h.do(&fsmv1.ExpireHolds{})
			checkOffer(h, bob, wantTTL)
			checkWaiting(h, carol, 1)

			h.at(time.Minute + wantTTL - 1)
			h.do(&fsmv1.ExpireHolds{})
			checkWaiting(h, carol, 1)

			h.at(time.Minute + wantTTL)
			h.do(&fsmv1.ExpireHolds{})
			checkOffer(h, carol, wantTTL)
			if st := h.readHold(offerID(bob), 0).GetStatus(); st != bookdv1.HoldStatus_HOLD_STATUS_EXPIRED {
				t.Errorf("bob's offer is %v, want expired", st)
			}
			if e, _ := h.entry(bob.GetId()); e.GetStatus() != bookdv1.WaitlistStatus_WAITLIST_STATUS_OFFERED {
				t.Errorf("bob's entry is %v after his offer expired, want offered (it does not queue again)", e.GetStatus())
			}
			wantStrings(t, "changes", kindsSince(t, h.f, 2), []string{
				"hold_created:" + hd.GetId(), "waitlist_joined:" + bob.GetId(), "waitlist_joined:" + carol.GetId(),
				"hold_expired:" + hd.GetId(), "waitlist_offer:" + offerID(bob),
				"hold_expired:" + offerID(bob), "waitlist_offer:" + offerID(carol),
			})
		})
	}
}

// Closing or cancelling an event drops its waiting customers; no offer is
// made afterwards and no one can join.
func TestWaitlistDroppedWhenSalesStop(t *testing.T) {
	for _, cancel := range []bool{false, true} {
		name, reason := "close", fsm.ReasonEventClosed
		if cancel {
			name, reason = "cancel", fsm.ReasonEventCancelled
		}
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			ev := h.createEvent(waitEvent()).GetId()
			hd := h.hold(holdFor(ev, "alice", 4, time.Minute))
			bob := h.join(ev, "bob", 1)
			if cancel {
				mustOK[*bookdv1.CancelEventResponse](t, h.do(&bookdv1.CancelEventRequest{EventId: ev}))
			} else {
				mustOK[*bookdv1.CloseEventResponse](t, h.do(&bookdv1.CloseEventRequest{EventId: ev}))
				h.release(hd.GetId())
			}
			h.at(time.Minute)
			h.do(&fsmv1.ExpireHolds{})
			if e, pos := h.entry(bob.GetId()); e.GetStatus() != bookdv1.WaitlistStatus_WAITLIST_STATUS_DROPPED || pos != 0 || e.GetHoldId() != "" {
				t.Errorf("entry is %v at %d with hold %q, want dropped", e.GetStatus(), pos, e.GetHoldId())
			}
			// The hold's tickets are freed, but sales stopped: none is available.
			if a := h.avail(ev); a.GetWaitlistLength() != 0 || a.GetHeldQuantity() != 0 || a.GetAvailableQuantity() != 0 {
				t.Errorf("waitlist length %d, held %d, available %d; want 0, 0 and 0",
					a.GetWaitlistLength(), a.GetHeldQuantity(), a.GetAvailableQuantity())
			}
			if got := kindsOf(t, h.f, "waitlist_offer"); len(got) != 0 {
				t.Errorf("offers %q after sales stopped", got)
			}
			if got := kindsOf(t, h.f, "waitlist_dropped"); len(got) != 1 || !strings.HasSuffix(got[0], bob.GetId()) {
				t.Errorf("dropped entries in the feed: %q, want bob's %s", got, bob.GetId())
			}
			wantErr(t, h.do(&bookdv1.JoinWaitlistRequest{EventId: ev, CustomerId: "carol", Quantity: 1}),
				fsm.CodeFailedPrecondition, reason, ev)
			wantErr(t, h.do(&bookdv1.LeaveWaitlistRequest{EntryId: bob.GetId()}),
				fsm.CodeFailedPrecondition, fsm.ReasonNotWaiting, "WAITLIST_STATUS_DROPPED")
		})
	}
}

func TestWaitlistJoinRefused(t *testing.T) {
	h := newHarness(t)
	ev := h.createEvent(waitEvent()).GetId()
	seated := h.createEvent(mapEvent(section("S", row("A", 2)))).GetId()
	h.hold(holdFor(ev, "alice", 3, time.Hour))
	tests := []struct {
		name   string
		req    *bookdv1.JoinWaitlistRequest
		code   fsm.Code
		reason string
		msg    string
	}{
		{"available now", &bookdv1.JoinWaitlistRequest{EventId: ev, CustomerId: "bob", Quantity: 1},
			fsm.CodeFailedPrecondition, fsm.ReasonAvailable, "hold them instead of waiting"},
		{"seats available now", &bookdv1.JoinWaitlistRequest{EventId: seated, CustomerId: "bob", Quantity: 2, Section: "S"},
			fsm.CodeFailedPrecondition, fsm.ReasonAvailable, seated},
		{"unknown section", &bookdv1.JoinWaitlistRequest{EventId: seated, CustomerId: "bob", Quantity: 1, Section: "T"},
			fsm.CodeInvalidArgument, fsm.ReasonUnknownSeat, `"T"`},
		{"section of a GA event", &bookdv1.JoinWaitlistRequest{EventId: ev, CustomerId: "bob", Quantity: 2, Section: "S"},
			fsm.CodeInvalidArgument, "", "section: event"},
		{"no quantity", &bookdv1.JoinWaitlistRequest{EventId: ev, CustomerId: "bob"}, fsm.CodeInvalidArgument, "", "quantity: must be above 0"},
		{"too many", &bookdv1.JoinWaitlistRequest{EventId: ev, CustomerId: "bob", Quantity: 51}, fsm.CodeInvalidArgument, "", "quantity: at most 50"},
		{"no customer", &bookdv1.JoinWaitlistRequest{EventId: ev, Quantity: 2}, fsm.CodeInvalidArgument, "", "customer_id: required"},
		{"unknown event", &bookdv1.JoinWaitlistRequest{EventId: "ev_999", CustomerId: "bob", Quantity: 2}, fsm.CodeNotFound, "", "event ev_999 not found"},
		{"bad event id", &bookdv1.JoinWaitlistRequest{EventId: "hd_1", CustomerId: "bob", Quantity: 2}, fsm.CodeInvalidArgument, "", "event_id:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantErr(t, h.do(tt.req), tt.code, tt.reason, tt.msg)
		})
	}
	if n := h.avail(ev).GetWaitlistLength(); n != 0 {
		t.Errorf("refused joins left %d entries", n)
	}
	// Asking for more than is left is waiting, not available.
	checkWaiting(h, h.join(ev, "bob", 2), 1)
}

func TestWaitlistLeave(t *testing.T) {
	h := newHarness(t)
	ev := h.createEvent(waitEvent()).GetId()
	hd := h.hold(holdFor(ev, "alice", 4, time.Hour))
	bob := h.join(ev, "bob", 2)
	carol := h.join(ev, "carol", 2)
	left := mustOK[*bookdv1.LeaveWaitlistResponse](t, h.do(&bookdv1.LeaveWaitlistRequest{EntryId: bob.GetId()})).GetEntry()
	if left.GetStatus() != bookdv1.WaitlistStatus_WAITLIST_STATUS_LEFT {
		t.Errorf("LeaveWaitlist returned %v, want left", left.GetStatus())
	}
	checkWaiting(h, carol, 1)
	wantErr(t, h.do(&bookdv1.LeaveWaitlistRequest{EntryId: bob.GetId()}), fsm.CodeFailedPrecondition, fsm.ReasonNotWaiting, bob.GetId())
	wantErr(t, h.do(&bookdv1.LeaveWaitlistRequest{EntryId: "wl_999"}), fsm.CodeNotFound, "", "waitlist entry wl_999 not found")
	wantErr(t, h.do(&bookdv1.LeaveWaitlistRequest{EntryId: "hd_1"}), fsm.CodeInvalidArgument, "", "entry_id:")
	h.release(hd.GetId())
	checkOffer(h, carol, offerTTL)
	if e, _ := h.entry(bob.GetId()); e.GetStatus() != bookdv1.WaitlistStatus_WAITLIST_STATUS_LEFT {
		t.Errorf("bob's entry is %v, want left", e.GetStatus())
	}
	wantStrings(t, "entries in the feed", kindsOf(t, h.f, "waitlist_left"), []string{bob.GetId()})
	wantErr(t, h.do(&bookdv1.LeaveWaitlistRequest{EntryId: carol.GetId()}), fsm.CodeFailedPrecondition, fsm.ReasonNotWaiting, "OFFERED")
}

// On an event with a seat map and no GA, an offer is of best-available
// seats in the section asked for.
func TestWaitlistSeatedOffer(t *testing.T) {
	h := newHarness(t)
	req := mapEvent(section("FRONT", row("A", 4)), section("BACK", row("A", 2)))
	req.WaitlistOfferTtl = durationpb.New(offerTTL)
	ev := h.createEvent(req).GetId()
	front := h.hold(&bookdv1.HoldRequest{EventId: ev, CustomerId: "alice", Quantity: 4, Section: "FRONT", BestAvailable: true})
	back := h.hold(&bookdv1.HoldRequest{EventId: ev, CustomerId: "alice", Quantity: 2, Section: "BACK", BestAvailable: true})
	bob := mustOK[*bookdv1.JoinWaitlistResponse](t, h.do(&bookdv1.JoinWaitlistRequest{EventId: ev, CustomerId: "bob", Quantity: 2, Section: "FRONT"})).GetEntry()
	h.release(back.GetId()) // frees BACK only: bob waits for FRONT
	checkWaiting(h, bob, 1)
	h.release(front.GetId())
	hd := checkOffer(h, bob, offerTTL)
	wantStrings(t, "offered seats", hd.GetSeats(), []string{"FRONT-A-2", "FRONT-A-3"})
}

// Inside one log entry of several commands, entries and their offers are
// numbered by position (wl_N-2 is offered hd_N-2), and an offer made by one
// command is seen by the next.
func TestWaitlistInOneBatchEntry(t *testing.T) {
	h := newHarness(t)
	ev := h.createEvent(waitEvent()).GetId()
	index := h.next
	res := batchEntry(h,
		holdFor(ev, "alice", 4, time.Minute),
		&bookdv1.JoinWaitlistRequest{EventId: ev, CustomerId: "bob", Quantity: 3},
		&bookdv1.ReleaseHoldRequest{HoldId: id("hd", index)},
		holdFor(ev, "carol", 2, time.Minute), // only 1 left after bob's offer
		holdFor(ev, "carol", 1, time.Minute),
	)
	e := mustOK[*bookdv1.JoinWaitlistResponse](t, res[1]).GetEntry()
	if want := fmt.Sprintf("wl_%d-1", index); e.GetId() != want {
		t.Fatalf("entry %s, want %s", e.GetId(), want)
	}
	mustOK[*bookdv1.ReleaseHoldResponse](t, res[2])
	wantErr(t, res[3], fsm.CodeFailedPrecondition, fsm.ReasonSoldOut, "only 1 tickets left")
	mustOK[*bookdv1.HoldResponse](t, res[4])
	hd := checkOffer(h, e, offerTTL)
	if hd.GetId() != fmt.Sprintf("hd_%d-1", index) {
		t.Errorf("offer %s, want hd_%d-1", hd.GetId(), index)
	}
	wantStrings(t, "changes", kindsSince(t, h.f, index), []string{
		"hold_created:" + id("hd", index), "waitlist_joined:" + e.GetId(), "hold_released:" + id("hd", index),
		"waitlist_offer:" + hd.GetId(), "hold_created:" + fmt.Sprintf("hd_%d-4", index)})
}

func TestWaitlistOfferTTLValidation(t *testing.T) {
	h := newHarness(t)
	for _, ttl := range []time.Duration{0, time.Second - 1, time.Hour + 1, -time.Second} {
		req := waitEvent()
		req.WaitlistOfferTtl = durationpb.New(ttl)
		wantErr(t, h.do(req), fsm.CodeInvalidArgument, "", "waitlist_offer_ttl: must be between 1s and 1h0m0s")
	}
	for _, ttl := range []time.Duration{time.Second, time.Hour} {
		req := waitEvent()
		req.WaitlistOfferTtl = durationpb.New(ttl)
		if got := h.createEvent(req).GetWaitlistOfferTtl().AsDuration(); got != ttl {
			t.Errorf("waitlist_offer_ttl %s stored as %s", ttl, got)
		}
	}
}
