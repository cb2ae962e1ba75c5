package fsm_test

import (
	"testing"
	"time"

	"github.com/bookd/bookd/fsm"
	fsmv1 "github.com/bookd/bookd/proto/bookd/fsm/v1"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"google.golang.org/protobuf/proto"
)

// state is what a retried mutation must not change: availability of the
// events and their bookings.
type state struct {
	avail    []*bookdv1.GetAvailabilityResponse
	bookings [][]*bookdv1.Booking
	events   []*bookdv1.Event
}

func (h *harness) state(events ...string) state {
	h.t.Helper()
	var s state
	for _, ev := range events {
		a := h.avail(ev)
		a.AppliedIndex, a.AsOf = 0, nil
		s.avail = append(s.avail, a)
		bs, _, err := h.f.ListBookings(ev, "", "", 1000)
		if err != nil {
			h.t.Fatal(err)
		}
		s.bookings = append(s.bookings, bs)
	}
	all, _, err := h.f.ListEvents(fsm.EventFilter{}, "", 1000)
	if err != nil {
		h.t.Fatal(err)
	}
	s.events = all
	return s
}

func sameState(t *testing.T, before, after state) {
	t.Helper()
	if len(before.events) != len(after.events) {
		t.Errorf("%d events, then %d", len(before.events), len(after.events))
	}
	for i := range before.avail {
		if !proto.Equal(before.avail[i], after.avail[i]) {
			t.Errorf("availability changed from %v to %v", before.avail[i], after.avail[i])
		}
		if len(before.bookings[i]) != len(after.bookings[i]) {
			t.Errorf("%d bookings, then %d", len(before.bookings[i]), len(after.bookings[i]))
			continue
		}
		for j := range before.bookings[i] {
			if !proto.Equal(before.bookings[i][j], after.bookings[i][j]) {
				t.Errorf("booking changed from %v to %v", before.bookings[i][j], after.bookings[i][j])
			}
		}
	}
}

func TestIdempotentReplay(t *testing.T) {
	// Each case makes, on an event with 10 GA tickets and seats A1-A5 and an
	// active GA hold of 2 and a booking of seat A5, a keyed request and a
	// different request under the same key.
	type fixture struct{ ev, hold, booking string }
	tests := []struct {
		name  string
		req   func(fx fixture, key string) proto.Message
		other func(fx fixture, key string) proto.Message
	}{
		{
			name: "CreateEvent",
			req: func(_ fixture, key string) proto.Message {
				return &bookdv1.CreateEventRequest{Name: "again", Capacity: 5, IdempotencyKey: key}
			},
			other: func(_ fixture, key string) proto.Message {
				return &bookdv1.CreateEventRequest{Name: "again", Capacity: 6, IdempotencyKey: key}
			},
		},
		{
			name: "Hold GA",
			req: func(fx fixture, key string) proto.Message {
				r := gaHold(fx.ev, 3, time.Minute)
				r.IdempotencyKey = key
				return r
			},
			other: func(fx fixture, key string) proto.Message {
				r := gaHold(fx.ev, 4, time.Minute)
				r.IdempotencyKey = key
				return r
			},
		},
		{
			name: "Hold seats",
			req: func(fx fixture, key string) proto.Message {
				r := seatHold(fx.ev, time.Minute, "A1", "A2")
				r.IdempotencyKey = key
				return r
			},
			other: func(fx fixture, key string) proto.Message {
				r := seatHold(fx.ev, time.Minute, "A3")
				r.IdempotencyKey = key
				return r
			},
		},
		{
			name: "Confirm",
			req: func(fx fixture, key string) proto.Message {
				return &bookdv1.ConfirmRequest{HoldId: fx.hold, PaymentRef: "p1", IdempotencyKey: key}
			},
			other: func(fx fixture, key string) proto.Message {
				return &bookdv1.ConfirmRequest{HoldId: fx.hold, PaymentRef: "p2", IdempotencyKey: key}
			},
		},
		{
			name: "ReleaseHold",
			req: func(fx fixture, key string) proto.Message {
				return &bookdv1.ReleaseHoldRequest{HoldId: fx.hold, IdempotencyKey: key}
			},
			// Keys are scoped to the hold released: no other request can
			// share one.
		},
		{
			name: "Book",
			req: func(fx fixture, key string) proto.Message {
				r := seatBook(fx.ev, "A4")
				r.IdempotencyKey = key
				return r
			},
			other: func(fx fixture, key string) proto.Message {
				r := seatBook(fx.ev, "A3")
				r.IdempotencyKey = key
				return r
			},
		},
		{
			name: "CancelBooking",
			req: func(fx fixture, key string) proto.Message {
				return &bookdv1.CancelBookingRequest{BookingId: fx.booking, IdempotencyKey: key}
			},
			// Keys are scoped to the booking cancelled: no other request
			// can share one.
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			var fx fixture
			fx.ev = h.createEvent(mixedEvent()).GetId()
			fx.hold = h.hold(gaHold(fx.ev, 2, time.Minute)).GetId()
			fx.booking = h.book(seatBook(fx.ev, "A5")).GetId()

			h.now = t0 + 1*sec
			first := h.do(tt.req(fx, "key-1"))
			firstResp := mustOK[proto.Message](t, first)
			before := h.state(fx.ev)

			t.Run("same request", func(t *testing.T) {
				for i, at := range []int64{2 * sec, 30 * sec} {
					h.now = t0 + at
					again := h.do(tt.req(fx, "key-1"))
					if again.Err != nil || !proto.Equal(again.Response, firstResp) {
						t.Errorf("retry %d answered %v / %v, want the first response %v", i, again.Response, again.Err, firstResp)
					}
				}
				sameState(t, before, h.state(fx.ev))
			})
			t.Run("same request in one batch", func(t *testing.T) {
				// The first may be refused (the hold is already confirmed, the
				// seats taken...): the retry must get the same answer either way.
				res := h.doAll(tt.req(fx, "key-2"), tt.req(fx, "key-2"))
				if !sameResult(res[0], res[1]) {
					t.Errorf("retry in the same batch answered %v / %v, want %v / %v", res[1].Response, res[1].Err, res[0].Response, res[0].Err)
				}
			})
			t.Run("different request", func(t *testing.T) {
				if tt.other == nil {
					t.Skip("no other request shares this scope")
				}
				st := h.state(fx.ev)
				wantErr(t, h.do(tt.other(fx, "key-1")), fsm.CodeAlreadyExists, fsm.ReasonKeyReused, "idempotency_key")
				sameState(t, st, h.state(fx.ev))
			})
			t.Run("after restart", func(t *testing.T) {
				h.reopen()
				again := h.do(tt.req(fx, "key-1"))
				if again.Err != nil || !proto.Equal(again.Response, firstResp) {
					t.Errorf("retry after restart answered %v / %v, want %v", again.Response, again.Err, firstResp)
				}
			})
			t.Run("after snapshot restore", func(t *testing.T) {
				data := snapshotOf(t, h.f)
				r := newHarness(t)
				if err := restore(t, r.f, data); err != nil {
					t.Fatalf("Restore: %v", err)
				}
				r.next, r.now = r.f.AppliedIndex()+1, h.now
				again := r.do(tt.req(fx, "key-1"))
				if again.Err != nil || !proto.Equal(again.Response, firstResp) {
					t.Errorf("retry after restore answered %v / %v, want %v", again.Response, again.Err, firstResp)
				}
				if tt.other != nil {
					wantErr(t, r.do(tt.other(fx, "key-1")), fsm.CodeAlreadyExists, fsm.ReasonKeyReused)
				}
			})
		})
	}
}

// A key is scoped by the kind of mutation: the same key on a Hold and a
// Book names two different requests, and neither is refused.
func TestIdempotencyKeyScopes(t *testing.T) {
	h := newHarness(t)
	ev := h.createEvent(gaEvent(10)).GetId()
	hold := gaHold(ev, 1, time.Minute)
	hold.IdempotencyKey = "k"
	book := gaBook(ev, 1)
	book.IdempotencyKey = "k"
	create := gaEvent(1)
	create.IdempotencyKey = "k"
	res := h.doAll(hold, book, create)
	mustOK[*bookdv1.HoldResponse](t, res[0])
	mustOK[*bookdv1.BookResponse](t, res[1])
	mustOK[*bookdv1.CreateEventResponse](t, res[2])
	checkAvail(t, h.avail(ev), 8, 1, 1, nil)
}

// The outcome of a refused keyed request is kept too: a retry gets the same
// refusal even when the state would now let the request through.
func TestIdempotentReplayOfRefusal(t *testing.T) {
	h := newHarness(t)
	ev := h.createEvent(mixedEvent()).GetId()
	blocker := h.book(seatBook(ev, "A2"))
	gaBlocker := h.hold(gaHold(ev, 10, time.Minute))

	seats := seatHold(ev, time.Minute, "A1", "A2")
	seats.IdempotencyKey = "seats"
	ga := gaHold(ev, 1, time.Minute)
	ga.IdempotencyKey = "ga"
	invalid := gaHold(ev, 0, time.Minute)
	invalid.IdempotencyKey = "invalid"
	confirm := &bookdv1.ConfirmRequest{HoldId: "hd_999", IdempotencyKey: "confirm"}

	first := h.doAll(seats, ga, invalid, confirm)
	wantErr(t, first[0], fsm.CodeFailedPrecondition, fsm.ReasonSeatTaken, "seat A2 ")
	wantErr(t, first[1], fsm.CodeFailedPrecondition, fsm.ReasonSoldOut)
	wantErr(t, first[2], fsm.CodeInvalidArgument, "", "quantity:")
	wantErr(t, first[3], fsm.CodeNotFound, "", "hd_999")

	h.now = t0 + 5*sec
	h.cancel(blocker.GetId())
	h.release(gaBlocker.GetId())
	before := h.state(ev)

	again := h.doAll(seats, ga, invalid, confirm)
	for i := range first {
		if !sameResult(again[i], first[i]) {
			t.Errorf("retry %d answered %v / %+v, want the first refusal %+v", i, again[i].Response, again[i].Err, first[i].Err)
		}
	}
	sameState(t, before, h.state(ev))
	// Another request under the key is still refused as a reuse.
	seats.Seats = []string{"A1"}
	wantErr(t, h.do(seats), fsm.CodeAlreadyExists, fsm.ReasonKeyReused)
}

// A retried Hold answers with the first response even after the hold has
// expired, and does not hold the inventory again.
func TestIdempotentHoldAfterExpiry(t *testing.T) {
	h := newHarness(t)
	ev := h.createEvent(gaEvent(5)).GetId()
	req := gaHold(ev, 5, 10*time.Second)
	req.IdempotencyKey = "k"
	first := mustOK[*bookdv1.HoldResponse](t, h.do(req))

	h.now = t0 + 20*sec
	again := mustOK[*bookdv1.HoldResponse](t, h.do(req))
	if !proto.Equal(first, again) {
		t.Errorf("retry answered %v, want %v", again, first)
	}
	checkAvail(t, h.avail(ev), 5, 0, 0, nil)
	if st := h.readHold(first.GetHold().GetId(), h.now).GetStatus(); st != bookdv1.HoldStatus_HOLD_STATUS_EXPIRED {
		t.Errorf("hold is %v, want expired", st)
	}
}

// Commands without an idempotency key are applied each time.
func TestNoKeyNoReplay(t *testing.T) {
	h := newHarness(t)
	ev := h.createEvent(gaEvent(5)).GetId()
	res := h.doAll(gaBook(ev, 2), gaBook(ev, 2), gaBook(ev, 2))
	mustOK[*bookdv1.BookResponse](t, res[0])
	mustOK[*bookdv1.BookResponse](t, res[1])
	wantErr(t, res[2], fsm.CodeFailedPrecondition, fsm.ReasonSoldOut)
	checkAvail(t, h.avail(ev), 1, 0, 4, nil)
	// A request hash without a key changes nothing either.
	c := stampedCommand(h.now, gaBook(ev, 1))
	c.RequestHash = nil
	mustOK[*bookdv1.BookResponse](t, h.applyCommands(c)[0])
	checkAvail(t, h.avail(ev), 0, 0, 5, nil)
}

// sameResult reports whether two results carry equal responses or equal
// refusals: the same code, reason and message (what an idempotency record
// keeps; a replayed refusal has no metadata).
func sameResult(a, b *fsm.Result) bool {
	if (a.Err == nil) != (b.Err == nil) {
		return false
	}
	if a.Err != nil {
		return a.Err.Code == b.Err.Code && a.Err.Reason == b.Err.Reason && a.Err.Message == b.Err.Message
	}
	return proto.Equal(a.Response, b.Response)
}

// A first attempt (the sender made the key for it) refused by inventory
// only a cancellation frees — a booked seat, GA tickets its bookings sold —
// is not recorded under its key, as the leader's early refusal would not
// be: once a cancellation frees it, the key books. Refusals by holds, which
// may expire, and refusals of later attempts are recorded and replayed.
func TestFirstAttemptRefusedForGoodIsNotRecorded(t *testing.T) {
	h := newHarness(t)
	ev := h.createEvent(mixedEvent()).GetId() // GA 10, seats A1-A5
	seatBlocker := h.book(seatBook(ev, "A2"))
	seatHolder := h.hold(seatHold(ev, time.Minute, "A1"))
	gaBlocker := h.book(gaBook(ev, 9))
	gaHolder := h.hold(gaHold(ev, 1, time.Minute))

	keyed := func(req proto.Message, key string) proto.Message {
		switch r := req.(type) {
		case *bookdv1.BookRequest:
			r.IdempotencyKey = key
		case *bookdv1.HoldRequest:
			r.IdempotencyKey = key
		}
		return req
	}
	reqs := []proto.Message{
		keyed(seatBook(ev, "A3", "A2"), "booked seat"),      // not recorded
		keyed(seatHold(ev, time.Minute, "A1"), "held seat"), // recorded
		keyed(gaBook(ev, 2), "sold by bookings"),            // not recorded
		keyed(gaBook(ev, 1), "sold by a hold"),              // recorded
		keyed(seatBook(ev, "A2"), "retry of booked seat"),   // recorded: not a first attempt
	}
	cmds := make([]*fsmv1.Command, len(reqs))
	for i, r := range reqs {
		cmds[i] = stampedCommand(h.now, r)
		cmds[i].FirstAttempt = i < 4
	}
	first := h.applyCommands(cmds...)
	wantErr(t, first[0], fsm.CodeFailedPrecondition, fsm.ReasonSeatTaken, "seat A2 ")
	wantErr(t, first[1], fsm.CodeFailedPrecondition, fsm.ReasonSeatTaken, "seat A1 ")
	wantErr(t, first[2], fsm.CodeFailedPrecondition, fsm.ReasonSoldOut)
	wantErr(t, first[3], fsm.CodeFailedPrecondition, fsm.ReasonSoldOut)
	wantErr(t, first[4], fsm.CodeFailedPrecondition, fsm.ReasonSeatTaken, "seat A2 ")

	h.now = t0 + 5*sec
	h.cancel(seatBlocker.GetId())
	h.release(seatHolder.GetId())
	h.cancel(gaBlocker.GetId())
	h.release(gaHolder.GetId())

	again := h.doAll(reqs...) // retries: first_attempt unset
	mustOK[*bookdv1.BookResponse](t, again[0])
	mustOK[*bookdv1.BookResponse](t, again[2])
	for _, i := range []int{1, 3, 4} {
		if !sameResult(again[i], first[i]) {
			t.Errorf("retry %d answered %v / %+v, want the recorded refusal %+v", i, again[i].Response, again[i].Err, first[i].Err)
		}
	}
}
