package fsm

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	fsmv1 "github.com/bookd/bookd/proto/bookd/fsm/v1"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/cockroachdb/pebble/v2"
	"google.golang.org/protobuf/proto"
)

// ErrClosed is returned by reads after Close.
var ErrClosed = errors.New("fsm: closed")

// Reads see one consistent view of the applied state. They never change it:
// a hold that is due by the reader's time is reported as expired (and its
// inventory as free) even before a command has expired it in the store.

// view runs fn on a consistent snapshot of the store.
func (f *FSM) view(fn func(r pebble.Reader) error) error {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if f.db == nil {
		return ErrClosed
	}
	snap := f.db.NewSnapshot()
	defer snap.Close()
	return fn(snap)
}

// Event returns an event by id.
func (f *FSM) Event(id string) (*bookdv1.Event, error) {
	ev := new(bookdv1.Event)
	err := f.view(func(r pebble.Reader) error {
		if err := getOne(r, prefixEvent, kindEvent, "event", id, ev); err != nil {
			return err
		}
		return readLabels(r, ev)
	})
	return ev, err
}

// readLabels fills in the seat labels, stored apart from the event.
func readLabels(r pebble.Reader, ev *bookdv1.Event) error {
	idx, ok := parseID(kindEvent, ev.GetId())
	if !ok {
		return fmt.Errorf("fsm: stored event has id %q", ev.GetId())
	}
	labels := new(bookdv1.Event)
	if _, err := getProto(r, key(prefixLabels, idx), labels); err != nil {
		return err
	}
	ev.Seats = labels.GetSeats()
	return nil
}

// Reads that depend on time (a hold's status, availability) are as of the
// store's clock, the latest leader-stamped command time, so they are a pure
// function of the replicated state: any replica at the same applied index
// answers the same, and time seen by reads never runs backwards when the
// leader changes. atLeast (Unix ns) lets a caller look further ahead; the RPC
// layer passes 0. Holds due by the clock count as expired even before the
// command that expires them is applied.

// Hold returns a hold by id, as of max(the store's clock, atLeast).
func (f *FSM) Hold(id string, atLeast int64) (*bookdv1.Hold, error) {
	h := new(bookdv1.Hold)
	err := f.view(func(r pebble.Reader) error {
		if err := getOne(r, prefixHold, kindHold, "hold", id, h); err != nil {
			return err
		}
		_, clock, _, err := readMeta(r)
		if err == nil && h.GetStatus() == bookdv1.HoldStatus_HOLD_STATUS_ACTIVE && timestampNanos(h.GetExpiresAt()) <= max(clock, atLeast) {
			h.Status = bookdv1.HoldStatus_HOLD_STATUS_EXPIRED
		}
		return err
	})
	return h, err
}

// Booking returns a booking by id.
func (f *FSM) Booking(id string) (*bookdv1.Booking, error) {
	b := new(bookdv1.Booking)
	err := f.view(func(r pebble.Reader) error { return getOne(r, prefixBook, kindBooking, "booking", id, b) })
	return b, err
}

func getOne(r pebble.Reader, prefix []byte, kind, noun, id string, m proto.Message) error {
	idx, ok := parseID(kind, id)
	if !ok {
		return notFound("%s %s not found", noun, clip(id))
	}
	ok, err := getProto(r, key(prefix, idx), m)
	if err == nil && !ok {
		return notFound("%s %s not found", noun, id)
	}
	return err
}

// ListBookings returns up to limit bookings of an event, of a customer, or
// of a customer at an event, after the booking named by after ("" for the
// first page), and the token of the next page.
func (f *FSM) ListBookings(eventID, customerID, after string, limit int) ([]*bookdv1.Booking, string, error) {
	var event uint64
	var prefix []byte
	if eventID != "" {
		var ok bool
		if event, ok = parseID(kindEvent, eventID); !ok {
			return nil, "", notFound("event %s not found", clip(eventID))
		}
		prefix = key(prefixEvBook, event)
	}
	if customerID != "" {
		prefix = customerBookingPrefix(customerID)
	}
	start := prefix
	if after != "" {
		idx, ok := parseID(kindBooking, after)
		if !ok {
			return nil, "", invalid("page_token: %q is not a page token", clip(after))
		}
		start = u64(append([]byte{}, prefix...), idx+1)
	}
	var bookings []*bookdv1.Booking
	more := false
	err := f.view(func(r pebble.Reader) error {
		if eventID != "" {
			if ok, err := getProto(r, key(prefixEvent, event), new(bookdv1.Event)); err != nil || !ok {
				return errors.Join(err, notFoundIf(!ok, "event %s not found", eventID))
			}
		}
		it, err := r.NewIter(&pebble.IterOptions{LowerBound: start, UpperBound: prefixEnd(prefix)})
		if err != nil {
			return err
		}
		defer it.Close()
		for ok := it.First(); ok; ok = it.Next() {
			b := new(bookdv1.Booking)
			idx := binary.BigEndian.Uint64(it.Key()[len(prefix):])
			if _, err := getProto(r, key(prefixBook, idx), b); err != nil {
				return err
			}
			if eventID != "" && !bookingTouches(b, eventID) {
				continue
			}
			if len(bookings) == limit {
				more = true
				break
			}
			bookings = append(bookings, b)
		}
		return nil
	})
	next := ""
	if more {
		next = bookings[len(bookings)-1].GetId()
	}
	return bookings, next, err
}

// WaitlistEntry returns a waitlist entry and, while it waits, its position
// (1 for the first waiting customer).
func (f *FSM) WaitlistEntry(id string) (*bookdv1.WaitlistEntry, int64, error) {
	e := new(bookdv1.WaitlistEntry)
	var position int64
	err := f.view(func(r pebble.Reader) error {
		if err := getOne(r, prefixWait, kindEntry, "waitlist entry", id, e); err != nil {
			return err
		}
		if e.GetStatus() != bookdv1.WaitlistStatus_WAITLIST_STATUS_WAITING {
			return nil
		}
		event, _ := parseID(kindEvent, e.GetEventId())
		n, _ := parseID(kindEntry, id)
		it, err := r.NewIter(&pebble.IterOptions{LowerBound: key(prefixWaitEv, event), UpperBound: key(prefixWaitEv, event, n+1)})
		if err != nil {
			return err
		}
		defer it.Close()
		for ok := it.First(); ok; ok = it.Next() {
			position++
		}
		return nil
	})
	return e, position, err
}

func notFoundIf(cond bool, format string, args ...any) error {
	if !cond {
		return nil
	}
	return notFound(format, args...)
}

// scan is scanRange over a consistent view of the store.
func (f *FSM) scan(start, end []byte, limit int, fn func(k, v []byte) error) (more bool, err error) {
	err = f.view(func(r pebble.Reader) error {
		more, err = scanRange(r, start, end, limit, fn)
		return err
	})
	return more, err
}

// scanRange calls fn on up to limit keys of r in [start, end), in key order
// (all of them when limit is negative), and reports whether more keys
// follow. The slices fn gets are valid during the call only.
func scanRange(r pebble.Reader, start, end []byte, limit int, fn func(k, v []byte) error) (more bool, err error) {
	it, err := r.NewIter(&pebble.IterOptions{LowerBound: start, UpperBound: end})
	if err != nil {
		return false, err
	}
	defer it.Close()
	n := 0
	for ok := it.First(); ok; ok = it.Next() {
		if n == limit {
			return true, nil
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return false, err
		}
		if err := fn(it.Key(), v); err != nil {
			return false, err
		}
		n++
	}
	return false, nil
}

// Availability reports what of an event can be held, as of max(the store's
// clock, atLeast). A closed or cancelled event has nothing available (see
// onSale, the rule claims are refused by, which ListEvents' min_available
// filter applies too).
func (f *FSM) Availability(eventID string, atLeast int64) (*bookdv1.GetAvailabilityResponse, error) {
	event, ok := parseID(kindEvent, eventID)
	if !ok {
		return nil, notFound("event %s not found", clip(eventID))
	}
	resp := &bookdv1.GetAvailabilityResponse{EventId: eventID}
	err := f.view(func(r pebble.Reader) error {
		ev, counters := new(bookdv1.Event), new(EventCounters)
		if ok, err := getProto(r, key(prefixEvent, event), ev); err != nil || !ok {
			return errors.Join(err, notFoundIf(!ok, "event %s not found", eventID))
		}
		if _, err := getProto(r, key(prefixCount, event), counters); err != nil {
			return err
		}
		applied, clock, _, err := readMeta(r)
		if err != nil {
			return err
		}
		now := max(atLeast, clock)
		due, err := dueHolds(r, eventID, now)
		if err != nil {
			return err
		}
		dueSeats := due.seats
		resp.Capacity = ev.GetCapacity()
		resp.HeldQuantity = counters.GetHeldQuantity() - due.quantity
		resp.BookedQuantity = counters.GetBookedQuantity()
		resp.AvailableQuantity = ev.GetCapacity() - resp.HeldQuantity - resp.BookedQuantity
		quotaLeft, err := readQuotaLeft(r, ev)
		if err != nil {
			return err
		}
		if quotaLeft >= 0 {
			resp.AvailableQuantity = max(0, min(resp.AvailableQuantity, quotaLeft))
		}
		resp.Categories = categoryAvailability(ev, counters, due, resp.AvailableQuantity)
		resp.HeldSeats = counters.GetHeldSeats() - int64(len(dueSeats))
		resp.BookedSeats = counters.GetBookedSeats()
		resp.AsOf = nanosToTimestamp(now)
		resp.AppliedIndex = applied
		resp.BlockedSeats = counters.GetBlockedSeats()
		resp.Status = ev.GetStatus()
		resp.WaitlistLength = counters.GetWaiting()
		// Per-section counts need every seat's state only when there is a
		// seat map; seats given by label are all in the section "".
		withMap := len(ev.GetSections()) > 0
		states, err := seatStates(r, event, dueSeats, &resp.FreeSeats, withMap)
		if err != nil {
			return err
		}
		if withMap {
			resp.Sections, err = sectionCounts(r, event, states)
		} else if counters.GetSeats() > 0 {
			resp.Sections = []*bookdv1.SectionAvailability{{FreeSeats: int64(len(resp.FreeSeats)),
				HeldSeats: resp.HeldSeats, BookedSeats: resp.BookedSeats, BlockedSeats: resp.BlockedSeats}}
		}
		if onSale(ev) != nil {
			notForSale(resp)
		}
		return err
	})
	return resp, err
}

// readQuotaLeft is the tickets an event's quotas leave (-1: no quota).
func readQuotaLeft(r pebble.Reader, ev *bookdv1.Event) (int64, error) {
	left := int64(-1)
	for _, id := range ev.GetQuotaIds() {
		n, _ := parseID(kindQuota, id)
		q := new(bookdv1.Quota)
		if _, err := getProto(r, key(prefixQuota, n), q); err != nil {
			return 0, err
		}
		if l := q.GetCapacity() - q.GetTaken(); left < 0 || l < left {
			left = l
		}
	}
	return left, nil
}

// categoryAvailability reports each category's price now and, for a GA
// category, the tickets that can be held: what the event (and its quotas)
// leave, within the category's own capacity.
func categoryAvailability(ev *bookdv1.Event, counters *EventCounters, due *dueTickets, eventLeft int64) []*bookdv1.CategoryAvailability {
	var out []*bookdv1.CategoryAvailability
	for i, c := range ev.GetCategories() {
		var held, booked int64
		if i < len(counters.GetCategories()) {
			held, booked = counters.GetCategories()[i].GetHeld(), counters.GetCategories()[i].GetBooked()
		}
		held -= due.byCategory[c.GetName()]
		tier, price, tierLeft := currentTier(ev, counters, i, due.byTier[c.GetName()])
		a := &bookdv1.CategoryAvailability{Name: c.GetName(), Currency: eventCurrency(ev), Price: price, Tier: tier,
			TierLeft: tierLeft, Held: held, Booked: booked}
		if int(tier) < len(c.GetTiers()) {
			a.TierName = c.GetTiers()[tier].GetName()
		}
		if len(c.GetSections()) == 0 {
			a.Available = eventLeft
			if c.GetCapacity() > 0 {
				a.Available = max(0, min(a.Available, c.GetCapacity()-held-booked))
			}
		}
		out = append(out, a)
	}
	return out
}

// notForSale reports nothing available on an event that takes no claims
// (closed or cancelled): no GA tickets, no free seats, in no section. What
// is held, booked and blocked stays as it is.
func notForSale(resp *bookdv1.GetAvailabilityResponse) {
	resp.AvailableQuantity = 0
	resp.FreeSeats = nil
	for _, c := range resp.Categories {
		c.Available = 0
	}
	for _, s := range resp.Sections {
		s.FreeSeats = 0
	}
}

// sectionCounts counts the seats of each section of an event's layout by state.
func sectionCounts(r pebble.Reader, event uint64, states map[string]byte) ([]*bookdv1.SectionAvailability, error) {
	layout := new(fsmv1.SeatLayout)
	if _, err := getProto(r, key(prefixLayout, event), layout); err != nil {
		return nil, err
	}
	var out []*bookdv1.SectionAvailability
	var cur *bookdv1.SectionAvailability
	seen := map[string]*bookdv1.SectionAvailability{}
	for _, row := range layout.GetRows() {
		if cur = seen[row.GetSection()]; cur == nil {
			cur = &bookdv1.SectionAvailability{Section: row.GetSection()}
			seen[row.GetSection()] = cur
			out = append(out, cur)
		}
		for _, l := range row.GetLabels() {
			switch states[l] {
			case seatFree:
				cur.FreeSeats++
			case seatHeld:
				cur.HeldSeats++
			case seatBooked:
				cur.BookedSeats++
			case seatBlocked:
				cur.BlockedSeats++
			}
		}
	}
	return out, nil
}

// dueTickets are the tickets of an event in active holds that are due by
// now but not yet expired in the store.
type dueTickets struct {
	quantity   int64            // GA
	seats      map[string]bool  // seats
	byCategory map[string]int64 // GA and seats, by category name
	byTier     map[string]map[int32]int64
}

// dueHolds finds the tickets of an event in holds due by now.
func dueHolds(r pebble.Reader, eventID string, now int64) (*dueTickets, error) {
	it, err := r.NewIter(&pebble.IterOptions{LowerBound: prefixExpiry, UpperBound: expiryKey(now+1, 0)})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	due := &dueTickets{seats: map[string]bool{}, byCategory: map[string]int64{}, byTier: map[string]map[int32]int64{}}
	for ok := it.First(); ok; ok = it.Next() {
		h := new(bookdv1.Hold)
		if _, err := getProto(r, key(prefixHold, decodeExpiryHold(it.Key())), h); err != nil {
			return nil, err
		}
		items := h.GetItems()
		if len(items) == 0 {
			items = []*bookdv1.OrderItem{{EventId: h.GetEventId(), Quantity: h.GetQuantity(), Seats: h.GetSeats()}}
		}
		for _, item := range items {
			if item.GetEventId() != eventID {
				continue
			}
			if len(item.GetSeats()) == 0 {
				due.quantity += item.GetQuantity()
			}
			for _, s := range item.GetSeats() {
				due.seats[s] = true
			}
			if c := item.GetCategory(); c != "" {
				due.byCategory[c] += item.GetQuantity()
				if due.byTier[c] == nil {
					due.byTier[c] = map[int32]int64{}
				}
				for _, l := range item.GetPrices() {
					due.byTier[c][l.GetTier()] += l.GetQuantity()
				}
			}
		}
	}
	return due, nil
}

// seatStates reads the state of every seat of an event (held seats of due
// holds count as free) and appends the free ones to free, sorted by label;
// with keep it returns every seat's state.
func seatStates(r pebble.Reader, event uint64, due map[string]bool, free *[]string, keep bool) (map[string]byte, error) {
	nos, stored, err := storedSeats(r, event)
	if err != nil {
		return nil, err
	}
	states := map[string]byte{}
	first := len(*free)
	for label, no := range nos {
		state := stored[no]
		if state == seatHeld && due[label] {
			state = seatFree
		}
		if state == seatFree {
			*free = append(*free, label)
		}
		if keep {
			states[label] = state
		}
	}
	slices.Sort((*free)[first:])
	return states, nil
}

// Changes returns up to limit change-feed records after the change at
// (afterIndex, afterSeq), in commit order; afterIndex 0 starts at the
// oldest record retained. more reports whether records were left. A
// position before the retained feed is refused with CodeOutOfRange: the
// records after it are purged.
func (f *FSM) Changes(afterIndex uint64, afterSeq uint32, limit int) (changes []*Change, more bool, err error) {
	err = f.view(func(r pebble.Reader) error {
		fs := new(fsmv1.FeedStart)
		if _, err := getProto(r, keyFeedStart, fs); err != nil {
			return err
		}
		start := prefixFeed
		if afterIndex > 0 || afterSeq > 0 {
			if afterIndex < fs.GetIndex() || afterIndex == fs.GetIndex() && afterSeq < fs.GetSeq() {
				return errorf(CodeOutOfRange, "", "cursor %d-%d is older than the retained change feed, which starts after %d-%d",
					afterIndex, afterSeq, fs.GetIndex(), fs.GetSeq())
			}
			start = append(feedKey(afterIndex, afterSeq), 0)
		}
		it, err := r.NewIter(&pebble.IterOptions{LowerBound: start, UpperBound: prefixEnd(prefixFeed)})
		if err != nil {
			return err
		}
		defer it.Close()
		for ok := it.First(); ok; ok = it.Next() {
			if len(changes) == limit {
				more = true
				return nil
			}
			v, err := it.ValueAndErr()
			if err != nil {
				return err
			}
			c := new(Change)
			if err := proto.Unmarshal(v, c); err != nil {
				return fmt.Errorf("fsm: decode change: %w", err)
			}
			changes = append(changes, c)
		}
		return nil
	})
	return changes, more, err
}

// Member is a Raft member's registered RPC address.
type Member struct {
	ID         string
	RPCAddress string
}

// Members returns the registered members, ordered by id.
func (f *FSM) Members() ([]Member, error) {
	var members []Member
	_, err := f.scan(prefixMember, prefixEnd(prefixMember), -1, func(k, v []byte) error {
		members = append(members, Member{ID: string(k[len(prefixMember):]), RPCAddress: string(v)})
		return nil
	})
	return members, err
}

// Digest is a hash of the whole stored state and the index it is at. Two
// replicas at the same applied index must have the same digest.
func (f *FSM) Digest() (applied uint64, sum []byte, err error) {
	h := sha256.New()
	err = f.view(func(r pebble.Reader) error {
		if applied, _, _, err = readMeta(r); err != nil {
			return err
		}
		return writeSnapshot(h, r, applied)
	})
	if err != nil {
		return 0, nil, fmt.Errorf("fsm: digest: %w", err)
	}
	return applied, h.Sum(nil), nil
}
