package fsm_test

import (
	"bytes"
	"fmt"
	"math/rand"
	"slices"
	"testing"
	"time"

	"github.com/bookd/bookd/fsm"
	fsmv1 "github.com/bookd/bookd/proto/bookd/fsm/v1"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/hashicorp/raft"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
)

// workload generates a seeded random log: every kind of command, valid and
// refused, stamps that mostly advance and sometimes step back, no-op entries,
// keys reused for other requests, and retries of keyed requests. It applies
// each entry to an oracle store as it goes so that later commands mostly name
// holds and bookings that exist; the log is fixed once generated.
type workload struct {
	t        testing.TB
	r        *rand.Rand
	oracle   *harness
	index    uint64
	stamp    int64
	events   []string
	seats    map[string][]string
	holds    []string // holds created
	bookings []string // bookings created
	keyed    []proto.Message
	created  func() // records the id made by the entry being generated, if it succeeds
}

func newWorkload(t testing.TB, seed int64) *workload {
	return &workload{t: t, r: rand.New(rand.NewSource(seed)), oracle: newHarness(t), stamp: t0, seats: map[string][]string{}}
}

// logs returns the next n entries.
func (w *workload) logs(n int) []*raft.Log {
	logs := make([]*raft.Log, n)
	for i := range logs {
		logs[i] = w.entry()
	}
	return logs
}

func (w *workload) entry() *raft.Log {
	w.index++
	switch p := w.r.Intn(100); {
	case p < 80:
		w.stamp += w.r.Int63n(2 * sec)
	case p < 92:
		w.stamp -= w.r.Int63n(5 * sec) // a new leader whose clock is behind
	default:
		w.stamp += w.r.Int63n(30 * sec)
	}
	if w.r.Intn(100) < 4 {
		return &raft.Log{Index: w.index, Type: raft.LogNoop}
	}
	w.created = nil
	c := command(w.request())
	c.StampUnixNanos = w.stamp
	if c.GetBook() != nil || c.GetHold() != nil {
		c.FirstAttempt = w.r.Intn(3) == 0 // the sender's promise, kept or not
	}
	l := &raft.Log{Index: w.index, Type: raft.LogCommand, Data: encode(w.t, c)}
	res := w.oracle.f.ApplyBatch([]*raft.Log{l})[0].(*fsm.Result)
	if res.Err == nil && w.created != nil {
		w.created()
	}
	return l
}

func (w *workload) request() proto.Message {
	if len(w.events) == 0 {
		return w.createEvent()
	}
	var req proto.Message
	switch p := w.r.Intn(100); {
	case p < 7:
		req = w.createEvent()
	case p < 37:
		req = w.hold()
	case p < 50:
		req = &bookdv1.ConfirmRequest{HoldId: w.pick(w.holds, "hd_"), PaymentRef: fmt.Sprint("pay", w.r.Intn(3)), IdempotencyKey: w.key()}
		w.creates(&w.bookings, "bk")
	case p < 60:
		req = &bookdv1.ReleaseHoldRequest{HoldId: w.pick(w.holds, "hd_"), IdempotencyKey: w.key()}
	case p < 75:
		req = w.book()
	case p < 85:
		req = &bookdv1.CancelBookingRequest{BookingId: w.pick(w.bookings, "bk_"), IdempotencyKey: w.key()}
	case p < 90:
		return &fsmv1.ExpireHolds{}
	case p < 93:
		return &fsmv1.RegisterMember{Id: fmt.Sprint("n", w.r.Intn(4)), RpcAddress: fmt.Sprint("h:", w.r.Intn(9))}
	case p < 95:
		return &fsmv1.UnregisterMember{Id: fmt.Sprint("n", w.r.Intn(4))}
	default:
		if len(w.keyed) > 0 { // a client's retry: the very same request
			return w.keyed[w.r.Intn(len(w.keyed))]
		}
		return &fsmv1.ExpireHolds{}
	}
	if k := keyOf(req); k != "" {
		w.keyed = append(w.keyed, req)
	}
	return req
}

// creates notes that the entry being generated, if it succeeds, creates
// an object of kind at its index.
func (w *workload) creates(ids *[]string, kind string) {
	index := w.index
	w.created = func() { *ids = append(*ids, id(kind, index)) }
}

func keyOf(req proto.Message) string {
	type keyed interface{ GetIdempotencyKey() string }
	if k, ok := req.(keyed); ok {
		return k.GetIdempotencyKey()
	}
	return ""
}

// key returns an idempotency key for a quarter of the requests, from a small
// pool so that keys are often reused for other requests.
func (w *workload) key() string {
	if w.r.Intn(4) != 0 {
		return ""
	}
	return fmt.Sprint("k", w.r.Intn(60))
}

// pick returns one of ids, most often a recent one (a client confirms the
// hold it just made), or now and then an id that names nothing.
func (w *workload) pick(ids []string, kind string) string {
	switch {
	case len(ids) == 0 || w.r.Intn(20) == 0:
		return fmt.Sprint(kind, 100000+w.r.Intn(5))
	case w.r.Intn(10) < 7:
		return ids[len(ids)-1-w.r.Intn(min(len(ids), 4))]
	}
	return ids[w.r.Intn(len(ids))]
}

func (w *workload) createEvent() *bookdv1.CreateEventRequest {
	req := &bookdv1.CreateEventRequest{Name: fmt.Sprint("event ", w.index), Capacity: int64(w.r.Intn(15)), IdempotencyKey: w.key()}
	n := w.r.Intn(7)
	if w.r.Intn(8) == 0 {
		n = 60 + w.r.Intn(80) // seats in two or three chunks of stored states
	}
	for i := range n {
		req.Seats = append(req.Seats, fmt.Sprintf("S%d", i+1))
	}
	w.r.Shuffle(len(req.Seats), func(i, j int) { req.Seats[i], req.Seats[j] = req.Seats[j], req.Seats[i] })
	if w.r.Intn(10) == 0 {
		req.Name = "" // refused
	}
	w.creates(&w.events, "ev")
	w.seats[id("ev", w.index)] = req.Seats
	return req
}

// claim picks an event and GA tickets or seats of it.
func (w *workload) claim() (ev string, quantity int64, seats []string) {
	ev = w.pick(w.events, "ev_")
	labels := w.seats[ev]
	if len(labels) == 0 || w.r.Intn(2) == 0 {
		return ev, int64(w.r.Intn(5)), nil // 0 is refused
	}
	for _, i := range w.r.Perm(len(labels))[:1+w.r.Intn(min(3, len(labels)))] {
		seats = append(seats, labels[i])
	}
	switch w.r.Intn(25) {
	case 0:
		seats = append(seats, "ZZ") // unknown seat
	case 1:
		seats = append(seats, seats[0]) // repeated seat
	}
	return ev, 0, seats
}

func (w *workload) hold() *bookdv1.HoldRequest {
	ev, q, seats := w.claim()
	ttl := time.Duration(1+w.r.Intn(20)) * time.Second
	if w.r.Intn(30) == 0 {
		ttl = 500 * time.Millisecond // refused
	}
	req := &bookdv1.HoldRequest{EventId: ev, CustomerId: fmt.Sprint("c", w.r.Intn(5)), Quantity: q, Seats: seats,
		Ttl: durationpb.New(ttl), IdempotencyKey: w.key()}
	if w.r.Intn(10) == 0 {
		req.Ttl = nil // the default TTL
	}
	w.creates(&w.holds, "hd")
	return req
}

func (w *workload) book() *bookdv1.BookRequest {
	ev, q, seats := w.claim()
	w.creates(&w.bookings, "bk")
	return &bookdv1.BookRequest{EventId: ev, CustomerId: fmt.Sprint("c", w.r.Intn(5)), Quantity: q, Seats: seats,
		PaymentRef: "pay", IdempotencyKey: w.key()}
}

// run applies logs to h in batches whose sizes split returns, and returns
// the results by entry.
func run(h *harness, logs []*raft.Log, split func() int) []any {
	h.t.Helper()
	var out []any
	for i := 0; i < len(logs); {
		j := min(len(logs), i+max(1, split()))
		out = append(out, h.f.ApplyBatch(logs[i:j])...)
		i = j
	}
	return out
}

func sameResults(t *testing.T, want, got []any) {
	t.Helper()
	if len(want) != len(got) {
		t.Fatalf("%d results, want %d", len(got), len(want))
	}
	for i := range want {
		if (want[i] == nil) != (got[i] == nil) {
			t.Fatalf("entry %d: result %v, want %v", i+1, got[i], want[i])
		}
		if want[i] == nil {
			continue
		}
		a, b := want[i].(*fsm.Result), got[i].(*fsm.Result)
		if !sameResult(a, b) {
			t.Fatalf("entry %d: result %v / %v, want %v / %v", i+1, b.Response, b.Err, a.Response, a.Err)
		}
	}
}

// TestDeterminism applies one random log to stores in different ways (batch
// splits, restarts, a snapshot restore, replayed entries): the answers and
// the final state must be the same.
func TestDeterminism(t *testing.T) {
	const n = 600
	for _, seed := range []int64{1, 2, 3} {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			logs := newWorkload(t, seed).logs(n)
			ref := newHarness(t)
			want := run(ref, logs, func() int { return 1 })
			refIndex, refDigest := digest(t, ref.f)
			if refIndex != n {
				t.Fatalf("applied index %d, want %d", refIndex, n)
			}
			refusals := 0
			for _, r := range want {
				if r != nil && r.(*fsm.Result).Err != nil {
					refusals++
				}
			}
			if refusals < n/10 || refusals > n*9/10 {
				t.Errorf("%d of %d commands refused: the workload is not a useful mix", refusals, n)
			}

			r := rand.New(rand.NewSource(seed))
			variants := []struct {
				name string
				run  func(h *harness) []any
			}{
				{"batches of 7", func(h *harness) []any { return run(h, logs, func() int { return 7 }) }},
				{"one batch", func(h *harness) []any { return run(h, logs, func() int { return n }) }},
				{"random batches", func(h *harness) []any { return run(h, logs, func() int { return 1 + r.Intn(40) }) }},
				{"restart every 50", func(h *harness) []any {
					var out []any
					for i := 0; i < n; i += 50 {
						out = append(out, run(h, logs[i:i+50], func() int { return 9 })...)
						h.reopen()
					}
					return out
				}},
				{"snapshot restore midway", func(h *harness) []any {
					out := run(h, logs[:n/2], func() int { return 5 })
					data := snapshotOf(t, h.f)
					h.close()
					h.dir = t.TempDir()
					h.open()
					if err := restore(t, h.f, data); err != nil {
						t.Fatalf("Restore: %v", err)
					}
					return append(out, run(h, logs[n/2:], func() int { return 5 })...)
				}},
				{"replayed entries", func(h *harness) []any {
					// Each batch starts with the last 3 entries of the one before,
					// as when Raft replays entries the store already has.
					out := make([]any, 0, n)
					for i := 0; i < n; i += 10 {
						from := max(0, i-3)
						res := h.f.ApplyBatch(logs[from:min(n, i+10)])
						for _, r := range res[:i-from] {
							if r != nil {
								t.Fatalf("replayed entry returned %v", r)
							}
						}
						out = append(out, res[i-from:]...)
					}
					return out
				}},
			}
			for _, v := range variants {
				t.Run(v.name, func(t *testing.T) {
					h := newHarness(t)
					got := v.run(h)
					sameResults(t, want, got)
					if index, sum := digest(t, h.f); index != refIndex || !bytes.Equal(sum, refDigest) {
						t.Errorf("digest at %d %x, want %d %x", index, sum, refIndex, refDigest)
					}
				})
			}
		})
	}
}

// TestInvariants checks, at points along a random log, that each event's
// inventory adds up and that no seat is in two places at once.
func TestInvariants(t *testing.T) {
	for _, seed := range []int64{7, 8} {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			w := newWorkload(t, seed)
			h := newHarness(t)
			for range 10 {
				run(h, w.logs(80), func() int { return 1 + w.r.Intn(10) })
				now := clockOf(t, h.f)
				checkInvariants(t, h.f, w.holds, now)
				checkInvariants(t, h.f, w.holds, now+int64(10*time.Second))
				checkInvariants(t, h.f, w.holds, now+int64(24*time.Hour))
				if t.Failed() {
					return
				}
			}
		})
	}
}

// clockOf returns the state machine's time, as reported by Availability.
func clockOf(t *testing.T, f *fsm.FSM) int64 {
	t.Helper()
	events, _, err := f.ListEvents(fsm.EventFilter{}, "", 1)
	if err != nil || len(events) == 0 {
		t.Fatalf("no event to read the clock from: %v", err)
	}
	return availAt(t, f, events[0].GetId(), 0).GetAsOf().AsTime().UnixNano()
}

func checkInvariants(t *testing.T, f *fsm.FSM, holdIDs []string, now int64) {
	t.Helper()
	if _, err := fsm.CheckSeatIndex(f); err != nil {
		t.Errorf("seats in memory differ from the store: %v", err)
	}
	type tally struct {
		heldGA, bookedGA int64
		heldSeats        map[string]string // seat -> the hold or booking that has it
		bookedSeats      map[string]string
	}
	tallies := map[string]*tally{}
	get := func(ev string) *tally {
		if tallies[ev] == nil {
			tallies[ev] = &tally{heldSeats: map[string]string{}, bookedSeats: map[string]string{}}
		}
		return tallies[ev]
	}
	anyDue := false
	for _, hid := range holdIDs {
		hd, err := f.Hold(hid, now)
		if err != nil {
			t.Fatalf("Hold(%s): %v", hid, err)
		}
		if stored, _ := f.Hold(hid, 0); stored.GetStatus() == bookdv1.HoldStatus_HOLD_STATUS_ACTIVE &&
			hd.GetStatus() == bookdv1.HoldStatus_HOLD_STATUS_EXPIRED {
			anyDue = true
		}
		if hd.GetStatus() != bookdv1.HoldStatus_HOLD_STATUS_ACTIVE {
			continue
		}
		if exp := hd.GetExpiresAt().AsTime().UnixNano(); exp <= now {
			t.Errorf("hold %s expiring at %d is active at %d", hid, exp, now)
		}
		tl := get(hd.GetEventId())
		if len(hd.GetSeats()) == 0 {
			tl.heldGA += hd.GetQuantity()
		}
		for _, s := range hd.GetSeats() {
			if other, dup := tl.heldSeats[s]; dup {
				t.Errorf("seat %s of %s is in active holds %s and %s", s, hd.GetEventId(), other, hid)
			}
			tl.heldSeats[s] = hid
		}
	}
	if anyDue && !f.HoldsDue(now) {
		t.Errorf("a hold is due at +%s but HoldsDue says none is", time.Duration(now-t0))
	}

	events, _, err := f.ListEvents(fsm.EventFilter{}, "", 10000)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range events {
		tl := get(ev.GetId())
		bookings, _, err := f.ListBookings(ev.GetId(), "", "", 10000)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range bookings {
			if b.GetStatus() != bookdv1.BookingStatus_BOOKING_STATUS_CONFIRMED {
				continue
			}
			if len(b.GetSeats()) == 0 {
				tl.bookedGA += b.GetQuantity()
			}
			for _, s := range b.GetSeats() {
				if other, dup := tl.bookedSeats[s]; dup {
					t.Errorf("seat %s of %s is in bookings %s and %s", s, ev.GetId(), other, b.GetId())
				}
				if hid, held := tl.heldSeats[s]; held {
					t.Errorf("seat %s of %s is booked by %s and held by %s", s, ev.GetId(), b.GetId(), hid)
				}
				tl.bookedSeats[s] = b.GetId()
			}
		}

		a := availAt(t, f, ev.GetId(), now)
		where := fmt.Sprintf("%s at +%s", ev.GetId(), time.Duration(now-t0))
		if a.GetCapacity() != ev.GetCapacity() {
			t.Errorf("%s: capacity %d, event says %d", where, a.GetCapacity(), ev.GetCapacity())
		}
		if a.GetHeldQuantity()+a.GetBookedQuantity()+a.GetAvailableQuantity() != a.GetCapacity() {
			t.Errorf("%s: held %d + booked %d + available %d != capacity %d", where,
				a.GetHeldQuantity(), a.GetBookedQuantity(), a.GetAvailableQuantity(), a.GetCapacity())
		}
		if a.GetHeldQuantity() < 0 || a.GetBookedQuantity() < 0 || a.GetAvailableQuantity() < 0 {
			t.Errorf("%s: negative figure in %v", where, a)
		}
		if a.GetHeldQuantity() != tl.heldGA || a.GetBookedQuantity() != tl.bookedGA {
			t.Errorf("%s: held/booked GA %d/%d, active holds and bookings add up to %d/%d", where,
				a.GetHeldQuantity(), a.GetBookedQuantity(), tl.heldGA, tl.bookedGA)
		}
		if a.GetHeldSeats() != int64(len(tl.heldSeats)) || a.GetBookedSeats() != int64(len(tl.bookedSeats)) {
			t.Errorf("%s: held/booked seats %d/%d, active holds and bookings have %d/%d", where,
				a.GetHeldSeats(), a.GetBookedSeats(), len(tl.heldSeats), len(tl.bookedSeats))
		}
		free := a.GetFreeSeats()
		if !slices.IsSorted(free) || len(slices.Compact(slices.Clone(free))) != len(free) {
			t.Errorf("%s: free seats %q are not sorted and unique", where, free)
		}
		if got := int64(len(free)) + a.GetHeldSeats() + a.GetBookedSeats(); got != int64(len(ev.GetSeats())) {
			t.Errorf("%s: %d free + %d held + %d booked seats, event has %d", where, len(free), a.GetHeldSeats(), a.GetBookedSeats(), len(ev.GetSeats()))
		}
		for _, s := range free {
			if !slices.Contains(ev.GetSeats(), s) {
				t.Errorf("%s: free seat %q is not one of the event's", where, s)
			}
			if hid, held := tl.heldSeats[s]; held {
				t.Errorf("%s: seat %s is free and held by %s", where, s, hid)
			}
			if bid, booked := tl.bookedSeats[s]; booked {
				t.Errorf("%s: seat %s is free and booked by %s", where, s, bid)
			}
		}
	}
}
