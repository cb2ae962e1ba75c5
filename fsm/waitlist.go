package fsm

import (
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/cockroachdb/pebble/v2"
	"google.golang.org/protobuf/proto"
)

// Waitlists. A customer may join the waitlist of an event that cannot give
// them what they ask for now. Whenever inventory frees (a hold expires or is
// released, a booking is cancelled, a waiting customer leaves), the state
// machine offers it to waiting customers in the order they joined: the first
// whose request fits (and whose offer stays within the event's limits)
// receives a hold of their own, numbered like the entry (hd_N for wl_N),
// lasting the event's waitlist_offer_ttl. Serving stops at the first entry
// that does not fit once nothing is left, and looks at most maxServeScan
// entries, so a long queue of large requests cannot make one command slow.

// Waitlist limits.
const (
	DefaultOfferTTL = DefaultHoldTTL
	maxServeScan    = 64
)

func (t *txn) joinWaitlist(r *bookdv1.JoinWaitlistRequest) (proto.Message, *Error) {
	if err := ValidateJoinWaitlist(r); err != nil {
		return nil, err
	}
	c := claimRequest{eventID: r.GetEventId(), customerID: r.GetCustomerId(), quantity: r.GetQuantity(), section: r.GetSection(),
		category: r.GetCategory()}
	idx, ev, _, err := t.event("event_id", r.GetEventId())
	if err != nil {
		return nil, err
	}
	c.bestAvailable = len(t.layout(idx).GetRows()) > 0 && ev.GetCapacity() == 0
	if c.section != "" && !c.bestAvailable {
		return nil, invalid("section: event %s has no seat map to choose a section of", r.GetEventId())
	}
	if c.category != "" && c.bestAvailable {
		return nil, invalid("category: event %s sells seats, which are of their section's category", r.GetEventId())
	}
	switch err := t.fits(entryOrder(c)); {
	case err == nil:
		return nil, errorf(CodeFailedPrecondition, ReasonAvailable,
			"event %s has the %d tickets asked for free now: hold them instead of waiting", r.GetEventId(), r.GetQuantity()).
			with(MetaEvent, r.GetEventId(), MetaAsked, itoa(r.GetQuantity()))
	case err.Reason != ReasonSoldOut:
		return nil, err // closed, over a limit, unknown section...
	}
	e := &bookdv1.WaitlistEntry{
		Id:           formatID(kindEntry, t.index),
		EventId:      r.GetEventId(),
		CustomerId:   r.GetCustomerId(),
		Quantity:     r.GetQuantity(),
		Section:      r.GetSection(),
		Category:     r.GetCategory(),
		Status:       bookdv1.WaitlistStatus_WAITLIST_STATUS_WAITING,
		CreatedAt:    t.timestamp(),
		ClientSecret: clientSecret(t.secret),
	}
	t.setProto(key(prefixWait, t.index), e)
	t.set(key(prefixWaitEv, idx, t.index), nil)
	t.eventCounters(idx).Waiting++
	t.feed(entryChange("waitlist_joined", e))
	return &bookdv1.JoinWaitlistResponse{Entry: e}, nil
}

func (t *txn) leaveWaitlist(r *bookdv1.LeaveWaitlistRequest) (proto.Message, *Error) {
	if err := ValidateLeaveWaitlist(r); err != nil {
		return nil, err
	}
	n, _ := parseID(kindEntry, r.GetEntryId())
	e := new(bookdv1.WaitlistEntry)
	if !t.getProto(key(prefixWait, n), e) {
		return nil, notFound("waitlist entry %s not found", r.GetEntryId()).with(MetaEntry, r.GetEntryId())
	}
	if err := CheckSecret("waitlist entry "+r.GetEntryId(), e.GetClientSecret(), r.GetClientSecret()); err != nil {
		return nil, err
	}
	if e.GetStatus() != bookdv1.WaitlistStatus_WAITLIST_STATUS_WAITING {
		return nil, errorf(CodeFailedPrecondition, ReasonNotWaiting, "waitlist entry %s is not waiting (%s)", e.GetId(), e.GetStatus()).
			with(MetaEntry, e.GetId(), MetaStatus, e.GetStatus().String())
	}
	event, _ := parseID(kindEvent, e.GetEventId())
	t.endEntry(event, n, e, bookdv1.WaitlistStatus_WAITLIST_STATUS_LEFT)
	t.feed(entryChange("waitlist_left", e))
	t.serveWaitlist(event) // the entry may have blocked smaller ones behind it
	return &bookdv1.LeaveWaitlistResponse{Entry: e}, nil
}

// serveWaitlist offers an event's free inventory to its waiting customers.
func (t *txn) serveWaitlist(event uint64) {
	ev := t.cachedEvent(event)
	if onSale(ev) != nil {
		return
	}
	ttl := DefaultOfferTTL
	if ev.GetWaitlistOfferTtl() != nil {
		ttl = ev.GetWaitlistOfferTtl().AsDuration()
	}
	for _, n := range t.waiting(event, maxServeScan) {
		if !t.anythingFree(event, ev) {
			return
		}
		e := new(bookdv1.WaitlistEntry)
		if !t.getProto(key(prefixWait, n), e) {
			panic("fsm: waitlist index names a missing entry")
		}
		c := claimRequest{eventID: e.GetEventId(), customerID: e.GetCustomerId(), quantity: e.GetQuantity(), section: e.GetSection(),
			category: e.GetCategory()}
		c.bestAvailable = ev.GetCapacity() == 0
		o := entryOrder(c)
		claims, _, err := t.takeOrder(o, seatHeld)
		if err != nil {
			continue // does not fit (yet), or over the customer's limit
		}
		h := t.placeHold(n, o, claims, nil, ttl, e.GetId(), e.GetClientSecret(), "", "")
		e.HoldId = h.GetId()
		t.endEntry(event, n, e, bookdv1.WaitlistStatus_WAITLIST_STATUS_OFFERED)
	}
}

// anythingFree reports whether an event has a ticket or seat left.
func (t *txn) anythingFree(event uint64, ev *bookdv1.Event) bool {
	c := t.eventCounters(event)
	if ev.GetCapacity() > 0 {
		return ev.GetCapacity()-c.GetHeldQuantity()-c.GetBookedQuantity() > 0
	}
	return c.GetSeats()-c.GetBlockedSeats()-c.GetHeldSeats()-c.GetBookedSeats() > 0
}

// waiting lists up to limit waiting entries of an event, first come first.
func (t *txn) waiting(event uint64, limit int) []uint64 {
	prefix := key(prefixWaitEv, event)
	it, err := t.b.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	must(err)
	var entries []uint64
	for ok := it.First(); ok && (limit < 0 || len(entries) < limit); ok = it.Next() {
		entries = append(entries, decodeU64Must(it.Key()[len(prefix):]))
	}
	must(it.Close())
	return entries
}

// dropWaitlist ends every waiting entry of an event whose sales stopped.
func (t *txn) dropWaitlist(event uint64) {
	for _, n := range t.waiting(event, -1) {
		e := new(bookdv1.WaitlistEntry)
		t.getProto(key(prefixWait, n), e)
		t.endEntry(event, n, e, bookdv1.WaitlistStatus_WAITLIST_STATUS_DROPPED)
		t.feed(entryChange("waitlist_dropped", e))
	}
}

// endEntry stores an entry that is no longer waiting.
func (t *txn) endEntry(event, n uint64, e *bookdv1.WaitlistEntry, status bookdv1.WaitlistStatus) {
	e.Status = status
	t.setProto(key(prefixWait, n), e)
	t.delete(key(prefixWaitEv, event, n))
	t.eventCounters(event).Waiting--
}

func entryChange(kind string, e *bookdv1.WaitlistEntry) *Change {
	return &Change{Kind: kind, EventId: e.GetEventId(), CustomerId: e.GetCustomerId(),
		Quantity: e.GetQuantity(), WaitlistEntryId: e.GetId()}
}

func decodeU64Must(b []byte) uint64 {
	n, err := decodeU64(b)
	must(err)
	return n
}

// entryOrder is the order a waitlist entry asks for: one item.
func entryOrder(c claimRequest) orderRequest {
	return orderRequest{customerID: c.customerID, single: c, isSingle: true}
}

// fits reports why an order could not be held now (nil: it could), by
// taking it and giving it back.
func (t *txn) fits(o orderRequest) *Error {
	claims, _, err := t.takeOrder(o, seatHeld)
	for _, cl := range claims {
		t.moveClaim(cl, o.customerID, seatHeld, seatFree)
	}
	return err
}
