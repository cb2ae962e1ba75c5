package fsm_test

import (
	"strconv"
	"testing"
	"time"

	fsmv1 "github.com/bookd/bookd/proto/bookd/fsm/v1"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
)

// domainScript applies commands of every booking-domain rule: products,
// seat maps and best-available holds, limits, extends, waitlist offers made
// by expiry, refusals, keyed retries, close and cancel, and purges.
func domainScript(h *harness) {
	h.t.Helper()
	feedScenario(h)
	h.at(2 * time.Hour)
	p := h.createProduct("Walk")
	req := mapEvent(section("S", row("A", 8, 4), row("B", 8)), section("T", row("A", 3)))
	req.ProductId, req.MaxTicketsPerCustomer, req.MaxTicketsPerHold = p.GetId(), 6, 4
	req.StartsAt = ts(30 * day)
	ev := h.createEvent(req).GetId()
	var holds []string
	for i, c := range []string{"alice", "bob", "carol", "dave", "erin"} {
		r := bestHold(ev, "", int64(i%4+1))
		r.CustomerId = c
		r.IdempotencyKey = "k"
		h.do(r)
		h.do(r) // a retry
		if res := h.do(r); res.Err == nil {
			holds = append(holds, res.Response.(*bookdv1.HoldResponse).GetHold().GetId())
		}
	}
	h.do(bestHold(ev, "T", 4)) // refused: over the per-hold limit
	for i := 0; ; i++ {        // sell the rest of S
		r := &bookdv1.BookRequest{EventId: ev, CustomerId: "z" + strconv.Itoa(i), Quantity: 1, Section: "S", BestAvailable: true}
		if h.do(r).Err != nil {
			break
		}
	}
	h.at(2*time.Hour + 30*time.Second)
	for _, c := range []string{"frank", "gina", "hugo"} {
		h.do(&bookdv1.JoinWaitlistRequest{EventId: ev, CustomerId: c, Quantity: 3, Section: "S"})
	}
	h.extend(holds[0], time.Hour)
	h.at(2*time.Hour + 30*time.Minute) // the other holds expire: offers
	h.do(&fsmv1.ExpireHolds{})
	h.confirm(holds[0])
	h.do(&bookdv1.CloseEventRequest{EventId: ev})
	h.at(3*day + time.Hour)
	h.do(&fsmv1.Purge{IdempotencyBeforeUnixNanos: h.now - day.Nanoseconds(), FeedBeforeUnixNanos: t0 + (2*time.Hour + 20*time.Second).Nanoseconds()})
	h.do(&bookdv1.CancelEventRequest{EventId: ev})
}

// The same commands applied to two fresh state machines leave equal
// states; a snapshot restored elsewhere and a restart leave it equal too.
func TestDomainDeterminism(t *testing.T) {
	a, b := newHarness(t), newHarness(t)
	domainScript(a)
	domainScript(b)
	for _, k := range []string{"waitlist_joined", "waitlist_offer", "hold_expired", "event_closed", "event_cancelled"} {
		if len(kindsOf(t, a.f, k)) == 0 {
			t.Errorf("the script left no %s change", k)
		}
	}
	sameDigest(t, a.f, b.f)
	if a.f.AppliedIndex() < 50 {
		t.Fatalf("script applied only %d entries", a.f.AppliedIndex())
	}
	c := newHarness(t)
	if err := restore(t, c.f, snapshotOf(t, a.f)); err != nil {
		t.Fatal(err)
	}
	sameDigest(t, a.f, c.f)
	b.reopen()
	sameDigest(t, a.f, b.f)
	// And they go on alike.
	next := a.f.AppliedIndex() + 1
	for _, h := range []*harness{a, b, c} {
		h.next, h.now = next, t0+(4*day).Nanoseconds()
		h.createEvent(gaEvent(3))
		h.do(&fsmv1.ExpireHolds{})
	}
	sameDigest(t, a.f, b.f)
	sameDigest(t, a.f, c.f)
	// A different script leaves a different state: the digest can fail.
	d := newHarness(t)
	domainScript(d)
	d.next, d.now = next, t0+(4*day).Nanoseconds()
	d.createEvent(gaEvent(4))
	d.do(&fsmv1.ExpireHolds{})
	ia, da := digest(t, a.f)
	if id, dd := digest(t, d.f); id != ia || string(dd) == string(da) {
		t.Errorf("different commands at the same index %d/%d left the same digest", ia, id)
	}
}
