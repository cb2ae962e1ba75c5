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
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// mixedEvent is the event most hold tests use: 10 GA tickets and five seats.
func mixedEvent() *bookdv1.CreateEventRequest {
	return &bookdv1.CreateEventRequest{Name: "Mixed", Capacity: 10, Seats: []string{"A1", "A2", "A3", "A4", "A5"}}
}

var allSeats = []string{"A1", "A2", "A3", "A4", "A5"}

func TestHold(t *testing.T) {
	type setupFunc func(h *harness, ev string)
	holdGA := func(q int64) setupFunc {
		return func(h *harness, ev string) { h.hold(gaHold(ev, q, time.Minute)) }
	}
	holdSeats := func(seats ...string) setupFunc {
		return func(h *harness, ev string) { h.hold(seatHold(ev, time.Minute, seats...)) }
	}
	bookSeats := func(seats ...string) setupFunc {
		return func(h *harness, ev string) { h.book(seatBook(ev, seats...)) }
	}
	tests := []struct {
		name       string
		event      *bookdv1.CreateEventRequest // nil: mixedEvent()
		setup      []setupFunc
		req        func(ev string) *bookdv1.HoldRequest
		wantCode   fsm.Code // 0: the hold succeeds
		wantReason string
		wantMsg    []string // substrings of the refusal; "EV" stands for the event id
		// Availability after the hold (or refusal).
		wantAvailable int64
		wantFree      []string
	}{
		{
			name:          "GA",
			req:           func(ev string) *bookdv1.HoldRequest { return gaHold(ev, 3, time.Minute) },
			wantAvailable: 7, wantFree: allSeats,
		},
		{
			name:          "GA all",
			req:           func(ev string) *bookdv1.HoldRequest { return gaHold(ev, 10, time.Minute) },
			wantAvailable: 0, wantFree: allSeats,
		},
		{
			name:          "GA exactly what is left",
			setup:         []setupFunc{holdGA(6)},
			req:           func(ev string) *bookdv1.HoldRequest { return gaHold(ev, 4, time.Minute) },
			wantAvailable: 0, wantFree: allSeats,
		},
		{
			name:     "GA more than capacity",
			req:      func(ev string) *bookdv1.HoldRequest { return gaHold(ev, 11, time.Minute) },
			wantCode: fsm.CodeFailedPrecondition, wantReason: fsm.ReasonSoldOut,
			wantMsg:       []string{"EV", "only 10 tickets left", "11 asked"},
			wantAvailable: 10, wantFree: allSeats,
		},
		{
			name:     "GA partly left",
			setup:    []setupFunc{holdGA(8)},
			req:      func(ev string) *bookdv1.HoldRequest { return gaHold(ev, 3, time.Minute) },
			wantCode: fsm.CodeFailedPrecondition, wantReason: fsm.ReasonSoldOut,
			wantMsg:       []string{"EV", "only 2 tickets left", "3 asked"},
			wantAvailable: 2, wantFree: allSeats,
		},
		{
			name:     "GA sold out by holds",
			setup:    []setupFunc{holdGA(5), holdGA(5)},
			req:      func(ev string) *bookdv1.HoldRequest { return gaHold(ev, 1, time.Minute) },
			wantCode: fsm.CodeFailedPrecondition, wantReason: fsm.ReasonSoldOut,
			wantMsg:       []string{"EV", "sold out"},
			wantAvailable: 0, wantFree: allSeats,
		},
		{
			name: "GA sold out by bookings",
			setup: []setupFunc{func(h *harness, ev string) {
				h.book(gaBook(ev, 10))
			}},
			req:      func(ev string) *bookdv1.HoldRequest { return gaHold(ev, 1, time.Minute) },
			wantCode: fsm.CodeFailedPrecondition, wantReason: fsm.ReasonSoldOut,
			wantMsg:       []string{"sold out"},
			wantAvailable: 0, wantFree: allSeats,
		},
		{
			name:          "seats",
			req:           func(ev string) *bookdv1.HoldRequest { return seatHold(ev, time.Minute, "A3", "A1", "A5") },
			wantAvailable: 10, wantFree: []string{"A2", "A4"},
		},
		{
			// "Give quantity or seats, not both": even when they agree.
			name: "seats with matching quantity",
			req: func(ev string) *bookdv1.HoldRequest {
				r := seatHold(ev, time.Minute, "A1", "A2")
				r.Quantity = 2
				return r
			},
			wantCode: fsm.CodeInvalidArgument, wantMsg: []string{"quantity:", "not both"},
			wantAvailable: 10, wantFree: allSeats,
		},
		{
			name:     "one of three seats held: none held",
			setup:    []setupFunc{holdSeats("A2")},
			req:      func(ev string) *bookdv1.HoldRequest { return seatHold(ev, time.Minute, "A1", "A2", "A3") },
			wantCode: fsm.CodeFailedPrecondition, wantReason: fsm.ReasonSeatTaken,
			wantMsg:       []string{"seat A2 ", "EV", "taken"},
			wantAvailable: 10, wantFree: []string{"A1", "A3", "A4", "A5"},
		},
		{
			name:     "last of three seats booked: none held",
			setup:    []setupFunc{bookSeats("A3")},
			req:      func(ev string) *bookdv1.HoldRequest { return seatHold(ev, time.Minute, "A1", "A2", "A3") },
			wantCode: fsm.CodeFailedPrecondition, wantReason: fsm.ReasonSeatTaken,
			wantMsg:       []string{"seat A3 ", "taken"},
			wantAvailable: 10, wantFree: []string{"A1", "A2", "A4", "A5"},
		},
		{
			name:     "unknown seat: none held",
			req:      func(ev string) *bookdv1.HoldRequest { return seatHold(ev, time.Minute, "A1", "Z9") },
			wantCode: fsm.CodeInvalidArgument, wantReason: fsm.ReasonUnknownSeat,
			wantMsg:       []string{"seats[1]:", "EV", `"Z9"`},
			wantAvailable: 10, wantFree: allSeats,
		},
		{
			name:          "GA on a seats-only event",
			event:         seatEvent("B1"),
			req:           func(ev string) *bookdv1.HoldRequest { return gaHold(ev, 1, time.Minute) },
			wantCode:      fsm.CodeInvalidArgument,
			wantMsg:       []string{"EV", "no general admission"},
			wantAvailable: 0, wantFree: []string{"B1"},
		},
		{
			name:     "unknown event",
			req:      func(string) *bookdv1.HoldRequest { return gaHold("ev_999", 1, time.Minute) },
			wantCode: fsm.CodeNotFound, wantMsg: []string{"event ev_999 not found"},
			wantAvailable: 10, wantFree: allSeats,
		},
		{
			name:     "not an event id",
			req:      func(string) *bookdv1.HoldRequest { return gaHold("hd_1", 1, time.Minute) },
			wantCode: fsm.CodeInvalidArgument, wantMsg: []string{"event_id:", `"hd_1"`},
			wantAvailable: 10, wantFree: allSeats,
		},
		{
			name:     "no quantity and no seats",
			req:      func(ev string) *bookdv1.HoldRequest { return gaHold(ev, 0, time.Minute) },
			wantCode: fsm.CodeInvalidArgument, wantMsg: []string{"quantity:"},
			wantAvailable: 10, wantFree: allSeats,
		},
		{
			name:     "negative quantity",
			req:      func(ev string) *bookdv1.HoldRequest { return gaHold(ev, -2, time.Minute) },
			wantCode: fsm.CodeInvalidArgument, wantMsg: []string{"quantity:"},
			wantAvailable: 10, wantFree: allSeats,
		},
		{
			name:     "quantity over the hold limit",
			req:      func(ev string) *bookdv1.HoldRequest { return gaHold(ev, fsm.MaxQuantityOfHold+1, time.Minute) },
			wantCode: fsm.CodeInvalidArgument, wantMsg: []string{"quantity:", "at most 50", "got 51"},
			wantAvailable: 10, wantFree: allSeats,
		},
		{
			name: "quantity and seats disagree",
			req: func(ev string) *bookdv1.HoldRequest {
				r := seatHold(ev, time.Minute, "A1", "A2", "A3")
				r.Quantity = 2
				return r
			},
			wantCode: fsm.CodeInvalidArgument, wantMsg: []string{"quantity:", "not both"},
			wantAvailable: 10, wantFree: allSeats,
		},
		{
			name:     "duplicate seats",
			req:      func(ev string) *bookdv1.HoldRequest { return seatHold(ev, time.Minute, "A1", "A2", "A1") },
			wantCode: fsm.CodeInvalidArgument, wantMsg: []string{"seats[2]:", "repeats seats[0]"},
			wantAvailable: 10, wantFree: allSeats,
		},
		{
			name: "too many seats",
			req: func(ev string) *bookdv1.HoldRequest {
				seats := make([]string, fsm.MaxSeatsPerHold+1)
				for i := range seats {
					seats[i] = fmt.Sprintf("S%d", i)
				}
				return seatHold(ev, time.Minute, seats...)
			},
			wantCode: fsm.CodeInvalidArgument, wantMsg: []string{"seats:", "at most 50"},
			wantAvailable: 10, wantFree: allSeats,
		},
		{
			name: "no customer",
			req: func(ev string) *bookdv1.HoldRequest {
				r := gaHold(ev, 1, time.Minute)
				r.CustomerId = ""
				return r
			},
			wantCode: fsm.CodeInvalidArgument, wantMsg: []string{"customer_id:", "required"},
			wantAvailable: 10, wantFree: allSeats,
		},
		{
			name:     "ttl too short",
			req:      func(ev string) *bookdv1.HoldRequest { return gaHold(ev, 1, 999*time.Millisecond) },
			wantCode: fsm.CodeInvalidArgument, wantMsg: []string{"ttl:"},
			wantAvailable: 10, wantFree: allSeats,
		},
		{
			name:     "ttl too long",
			req:      func(ev string) *bookdv1.HoldRequest { return gaHold(ev, 1, 24*time.Hour+time.Second) },
			wantCode: fsm.CodeInvalidArgument, wantMsg: []string{"ttl:"},
			wantAvailable: 10, wantFree: allSeats,
		},
		{
			name: "ttl invalid",
			req: func(ev string) *bookdv1.HoldRequest {
				r := gaHold(ev, 1, time.Minute)
				r.Ttl = &durationpb.Duration{Seconds: 5, Nanos: -1}
				return r
			},
			wantCode: fsm.CodeInvalidArgument, wantMsg: []string{"ttl:"},
			wantAvailable: 10, wantFree: allSeats,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			evReq := tt.event
			if evReq == nil {
				evReq = mixedEvent()
			}
			ev := h.createEvent(evReq).GetId()
			req := tt.req(ev)
			for _, s := range tt.setup {
				s(h, ev)
			}
			before := h.avail(ev)
			index := h.next
			res := h.do(req)
			if tt.wantCode != 0 {
				msg := slices.Clone(tt.wantMsg)
				for i := range msg {
					msg[i] = strings.ReplaceAll(msg[i], "EV", ev)
				}
				wantErr(t, res, tt.wantCode, tt.wantReason, msg...)
				if _, err := h.f.Hold(id("hd", index), h.now); err == nil {
					t.Errorf("a refused hold was stored as %s", id("hd", index))
				}
				after := h.avail(ev)
				if after.GetHeldQuantity() != before.GetHeldQuantity() || after.GetHeldSeats() != before.GetHeldSeats() {
					t.Errorf("a refused hold changed what is held: %v then %v", before, after)
				}
			} else {
				got := mustOK[*bookdv1.HoldResponse](t, res).GetHold()
				want := &bookdv1.Hold{
					Id:         id("hd", index),
					EventId:    ev,
					CustomerId: "alice",
					Quantity:   req.GetQuantity(),
					Seats:      req.GetSeats(),
					ExpiresAt:  &timestamppb.Timestamp{Seconds: t0/sec + 60},
					CreatedAt:  &timestamppb.Timestamp{Seconds: t0 / sec},
					Status:     bookdv1.HoldStatus_HOLD_STATUS_ACTIVE,
					// ExtendHold can keep it until then.
					MaxExpiresAt: &timestamppb.Timestamp{Seconds: t0/sec + int64(fsm.MaxHoldLifetime/time.Second)},
				}
				if len(req.GetSeats()) > 0 {
					// Not pinned here: see TestSeatHoldQuantityIsZero.
					want.Quantity = got.GetQuantity()
				}
				if !proto.Equal(got, want) {
					t.Errorf("Hold returned %v, want %v", got, want)
				}
				if stored := h.readHold(got.GetId(), h.now); !proto.Equal(stored, want) {
					t.Errorf("Hold(%s) = %v, want %v", got.GetId(), stored, want)
				}
				after := h.avail(ev)
				wantHeldSeats := before.GetHeldSeats() + int64(len(req.GetSeats()))
				if after.GetHeldSeats() != wantHeldSeats {
					t.Errorf("held seats %d, want %d", after.GetHeldSeats(), wantHeldSeats)
				}
			}
			a := h.avail(ev)
			if a.GetAvailableQuantity() != tt.wantAvailable {
				t.Errorf("available %d, want %d", a.GetAvailableQuantity(), tt.wantAvailable)
			}
			if !slices.Equal(a.GetFreeSeats(), tt.wantFree) {
				t.Errorf("free seats %q, want %q", a.GetFreeSeats(), tt.wantFree)
			}
		})
	}
}

func TestHoldDefaultTTL(t *testing.T) {
	h := newHarness(t)
	ev := h.createEvent(gaEvent(3)).GetId()
	hd := h.hold(&bookdv1.HoldRequest{EventId: ev, CustomerId: "c", Quantity: 1})
	if got, want := hd.GetExpiresAt().AsTime().UnixNano(), t0+int64(fsm.DefaultHoldTTL); got != want {
		t.Errorf("hold without ttl expires at %d, want %d (now + %s)", got, want, fsm.DefaultHoldTTL)
	}
}

// The proto documents Hold.quantity as the tickets held: for a seat hold,
// the number of seats.
func TestSeatHoldQuantityCountsSeats(t *testing.T) {
	h := newHarness(t)
	ev := h.createEvent(mixedEvent()).GetId()
	if hd := h.hold(seatHold(ev, time.Minute, "A1", "A2")); hd.GetQuantity() != 2 {
		t.Errorf("seat hold quantity %d, want 2", hd.GetQuantity())
	}
}

// TestHoldExpiry checks that a hold counts while the stamped time is before
// its expiry and no longer from the expiry on, whatever the command.
func TestHoldExpiry(t *testing.T) {
	const ttl = 10 * time.Second
	tests := []struct {
		name        string
		at          int64 // stamp of the command after the holds, relative to t0
		wantExpired bool
	}{
		{"1s", 1 * sec, false},
		{"9s", 9 * sec, false},
		{"10s less 1ns", 10*sec - 1, false},
		{"10s", 10 * sec, true},
		{"10s and 1ns", 10*sec + 1, true},
		{"1h", 3600 * sec, true},
	}
	commands := []struct {
		name string
		req  func(ev string) proto.Message
	}{
		{"ExpireHolds", func(string) proto.Message { return &fsmv1.ExpireHolds{} }},
		{"RegisterMember", func(string) proto.Message { return &fsmv1.RegisterMember{Id: "n1", RpcAddress: "a:1"} }},
		{"unrelated CreateEvent", func(string) proto.Message { return gaEvent(1) }},
		{"refused Book", func(ev string) proto.Message { return gaBook(ev, 0) }},
	}
	for _, tt := range tests {
		for _, cmd := range commands {
			t.Run(tt.name+"/"+cmd.name, func(t *testing.T) {
				h := newHarness(t)
				ev := h.createEvent(mixedEvent()).GetId()
				ga := h.hold(gaHold(ev, 10, ttl))
				seats := h.hold(seatHold(ev, ttl, "A1", "A2"))

				h.now = t0 + tt.at
				h.do(cmd.req(ev))

				// Reads with a time before the expiry see what the store holds.
				for _, hd := range []*bookdv1.Hold{ga, seats} {
					got := h.readHold(hd.GetId(), t0).GetStatus()
					want := bookdv1.HoldStatus_HOLD_STATUS_ACTIVE
					if tt.wantExpired {
						want = bookdv1.HoldStatus_HOLD_STATUS_EXPIRED
					}
					if got != want {
						t.Errorf("hold %s is %v after a command at +%s, want %v", hd.GetId(), got, time.Duration(tt.at), want)
					}
				}
				a := availAt(t, h.f, ev, t0)
				if tt.wantExpired {
					checkAvail(t, a, 10, 0, 0, allSeats)
				} else {
					checkAvail(t, a, 0, 10, 0, []string{"A3", "A4", "A5"})
				}
				// A new claim on the inventory succeeds exactly when the holds expired.
				res := h.do(seatHold(ev, ttl, "A1"))
				if tt.wantExpired {
					mustOK[*bookdv1.HoldResponse](t, res)
				} else {
					wantErr(t, res, fsm.CodeFailedPrecondition, fsm.ReasonSeatTaken)
				}
			})
		}
	}
}

func TestConfirmAroundExpiry(t *testing.T) {
	const ttl = 10 * time.Second
	tests := []struct {
		name        string
		at          int64 // stamp of the Confirm, relative to t0
		wantExpired bool
	}{
		{"9s", 9 * sec, false},
		{"10s less 1ns", 10*sec - 1, false},
		{"10s", 10 * sec, true},
		{"11s", 11 * sec, true},
	}
	for _, tt := range tests {
		for _, kind := range []string{"GA", "seats"} {
			t.Run(tt.name+"/"+kind, func(t *testing.T) {
				h := newHarness(t)
				ev := h.createEvent(mixedEvent()).GetId()
				req := gaHold(ev, 4, ttl)
				if kind == "seats" {
					req = seatHold(ev, ttl, "A1", "A2")
				}
				hd := h.hold(req)

				h.now = t0 + tt.at
				res := h.do(&bookdv1.ConfirmRequest{HoldId: hd.GetId(), PaymentRef: "p"})
				if !tt.wantExpired {
					b := mustOK[*bookdv1.ConfirmResponse](t, res).GetBooking()
					if b.GetHoldId() != hd.GetId() || b.GetStatus() != bookdv1.BookingStatus_BOOKING_STATUS_CONFIRMED {
						t.Errorf("booking %v does not confirm hold %s", b, hd.GetId())
					}
					return
				}
				wantErr(t, res, fsm.CodeFailedPrecondition, fsm.ReasonHoldExpired, hd.GetId(), "expired at 2023-11-14T22:13:30.000Z")
				a := h.avail(ev)
				checkAvail(t, a, 10, 0, 0, allSeats)
				if a.GetHeldSeats() != 0 || a.GetBookedSeats() != 0 {
					t.Errorf("held/booked seats %d/%d after expiry, want 0/0", a.GetHeldSeats(), a.GetBookedSeats())
				}
				if got := h.readHold(hd.GetId(), 0).GetStatus(); got != bookdv1.HoldStatus_HOLD_STATUS_EXPIRED {
					t.Errorf("stored hold is %v, want expired", got)
				}
				wantErr(t, h.do(&bookdv1.ReleaseHoldRequest{HoldId: hd.GetId()}), fsm.CodeFailedPrecondition, fsm.ReasonHoldExpired)
			})
		}
	}
}

// The state machine's time is the greatest stamp seen: a command stamped
// earlier than one before it does not bring a hold back.
func TestClockNeverRunsBackwards(t *testing.T) {
	const ttl = 10 * time.Second
	tests := []struct {
		name  string
		later proto.Message // applied at +10s, after the hold
		same  bool          // in the same batch as the command stamped earlier
	}{
		{"ExpireHolds", &fsmv1.ExpireHolds{}, false},
		{"ExpireHolds same batch", &fsmv1.ExpireHolds{}, true},
		{"CreateEvent", gaEvent(1), false},
		{"UnregisterMember same batch", &fsmv1.UnregisterMember{Id: "x"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			ev := h.createEvent(mixedEvent()).GetId()
			hd := h.hold(seatHold(ev, ttl, "A1"))
			ga := h.hold(gaHold(ev, 10, ttl))

			laterCmd := stampedCommand(t0+10*sec, tt.later)
			confirm := stampedCommand(t0+5*sec, &bookdv1.ConfirmRequest{HoldId: hd.GetId()})
			newHold := stampedCommand(t0+1*sec, gaHold(ev, 10, ttl))
			var res []*fsm.Result
			if tt.same {
				res = h.applyCommands(laterCmd, confirm, newHold)[1:]
			} else {
				h.applyCommands(laterCmd)
				res = append(h.applyCommands(confirm), h.applyCommands(newHold)...)
			}
			wantErr(t, res[0], fsm.CodeFailedPrecondition, fsm.ReasonHoldExpired)
			// The new hold is made at the state machine's time, +10s, not at its own stamp.
			got := mustOK[*bookdv1.HoldResponse](t, res[1]).GetHold()
			if c, e := got.GetCreatedAt().AsTime().UnixNano(), got.GetExpiresAt().AsTime().UnixNano(); c != t0+10*sec || e != t0+20*sec {
				t.Errorf("hold stamped +1s after +10s was created at +%s expiring +%s, want +10s and +20s",
					time.Duration(c-t0), time.Duration(e-t0))
			}
			if st := h.readHold(ga.GetId(), 0).GetStatus(); st != bookdv1.HoldStatus_HOLD_STATUS_EXPIRED {
				t.Errorf("GA hold is %v, want expired", st)
			}
			a := availAt(t, h.f, ev, t0) // a read with an earlier time is answered as of the clock
			if a.GetAsOf().AsTime().UnixNano() != t0+10*sec {
				t.Errorf("Availability as of %v, want the clock t0+10s", a.GetAsOf().AsTime())
			}
			checkAvail(t, a, 0, 10, 0, allSeats)
		})
	}
}

// Reads report due holds as expired and their inventory as free before any
// command has expired them in the store.
func TestReadsSeeDueHoldsExpired(t *testing.T) {
	const ttl = 10 * time.Second
	h := newHarness(t)
	ev := h.createEvent(mixedEvent()).GetId()
	other := h.createEvent(mixedEvent()).GetId()
	ga := h.hold(gaHold(ev, 4, ttl))
	seats := h.hold(seatHold(ev, ttl, "A2", "A4"))
	h.now = t0 + 5*sec
	late := h.hold(seatHold(ev, ttl, "A1")) // expires at +15s
	h.hold(seatHold(other, ttl, "A3"))      // another event's hold, due at +15s
	h.book(seatBook(ev, "A5"))
	h.book(gaBook(ev, 1))
	_, before := digest(t, h.f)

	tests := []struct {
		at           int64
		wantActive   []string
		wantExpired  []string
		available    int64
		held         int64
		heldSeats    int64
		free         []string
		wantOtherLen int // free seats of the other event
	}{
		{5 * sec, []string{ga.GetId(), seats.GetId(), late.GetId()}, nil, 5, 4, 3, []string{"A3"}, 4},
		{10*sec - 1, []string{ga.GetId(), seats.GetId(), late.GetId()}, nil, 5, 4, 3, []string{"A3"}, 4},
		{10 * sec, []string{late.GetId()}, []string{ga.GetId(), seats.GetId()}, 9, 0, 1, []string{"A2", "A3", "A4"}, 4},
		{15 * sec, nil, []string{ga.GetId(), seats.GetId(), late.GetId()}, 9, 0, 0, []string{"A1", "A2", "A3", "A4"}, 5},
		{48 * 3600 * sec, nil, []string{ga.GetId(), seats.GetId(), late.GetId()}, 9, 0, 0, []string{"A1", "A2", "A3", "A4"}, 5},
	}
	for _, tt := range tests {
		t.Run(time.Duration(tt.at).String(), func(t *testing.T) {
			now := t0 + tt.at
			for _, hid := range tt.wantActive {
				if st := h.readHold(hid, now).GetStatus(); st != bookdv1.HoldStatus_HOLD_STATUS_ACTIVE {
					t.Errorf("Hold(%s, +%s) is %v, want active", hid, time.Duration(tt.at), st)
				}
			}
			for _, hid := range tt.wantExpired {
				if st := h.readHold(hid, now).GetStatus(); st != bookdv1.HoldStatus_HOLD_STATUS_EXPIRED {
					t.Errorf("Hold(%s, +%s) is %v, want expired", hid, time.Duration(tt.at), st)
				}
			}
			a := availAt(t, h.f, ev, now)
			checkAvail(t, a, tt.available, tt.held, 1, tt.free)
			if a.GetHeldSeats() != tt.heldSeats || a.GetBookedSeats() != 1 {
				t.Errorf("held/booked seats %d/%d, want %d/1", a.GetHeldSeats(), a.GetBookedSeats(), tt.heldSeats)
			}
			if a.GetAsOf().AsTime().UnixNano() != now {
				t.Errorf("as_of %v, want %v", a.GetAsOf().AsTime(), time.Unix(0, now))
			}
			if n := len(availAt(t, h.f, other, now).GetFreeSeats()); n != tt.wantOtherLen {
				t.Errorf("other event has %d free seats, want %d", n, tt.wantOtherLen)
			}
		})
	}
	if _, after := digest(t, h.f); string(after) != string(before) {
		t.Errorf("reads changed the stored state")
	}
}

// A hold due by a command's time is expired before that command runs, even
// inside the same batch as the hold.
func TestExpiryWithinOneBatch(t *testing.T) {
	h := newHarness(t)
	ev := h.createEvent(gaEvent(5)).GetId()
	res := h.applyCommands(
		stampedCommand(t0, gaHold(ev, 5, 2*time.Second)),
		stampedCommand(t0+1*sec, gaHold(ev, 1, 2*time.Second)),
		stampedCommand(t0+2*sec, gaHold(ev, 5, 2*time.Second)),
	)
	first := mustOK[*bookdv1.HoldResponse](t, res[0]).GetHold()
	wantErr(t, res[1], fsm.CodeFailedPrecondition, fsm.ReasonSoldOut, "sold out")
	mustOK[*bookdv1.HoldResponse](t, res[2])
	if st := h.readHold(first.GetId(), 0).GetStatus(); st != bookdv1.HoldStatus_HOLD_STATUS_EXPIRED {
		t.Errorf("first hold is %v, want expired", st)
	}
}

// Expiry is driven by the stored expiry index, which must survive a restart.
func TestExpiryAfterRestart(t *testing.T) {
	h := newHarness(t)
	ev := h.createEvent(mixedEvent()).GetId()
	hd := h.hold(seatHold(ev, 10*time.Second, "A1", "A2"))
	h.hold(gaHold(ev, 10, 20*time.Second))
	h.reopen()

	h.now = t0 + 10*sec
	h.do(&fsmv1.ExpireHolds{})
	if st := h.readHold(hd.GetId(), 0).GetStatus(); st != bookdv1.HoldStatus_HOLD_STATUS_EXPIRED {
		t.Errorf("hold after restart and +10s is %v, want expired", st)
	}
	checkAvail(t, availAt(t, h.f, ev, 0), 0, 10, 0, allSeats)
	h.reopen()
	h.now = t0 + 20*sec
	h.do(&fsmv1.ExpireHolds{})
	checkAvail(t, availAt(t, h.f, ev, 0), 10, 0, 0, allSeats)
}

func TestConfirmAndRelease(t *testing.T) {
	type step struct {
		op         string // "confirm" or "release"
		wantReason string // "" for success
	}
	tests := []struct {
		name  string
		steps []step
		// Availability of the 10 GA tickets / seats A1 A2 at the end.
		wantAvailable, wantHeld, wantBooked int64
		wantFree                            []string
		wantStatus                          bookdv1.HoldStatus
	}{
		{"confirm", []step{{"confirm", ""}}, 7, 0, 3, []string{"A3", "A4", "A5"}, bookdv1.HoldStatus_HOLD_STATUS_CONFIRMED},
		{"confirm twice", []step{{"confirm", ""}, {"confirm", fsm.ReasonHoldConfirmed}}, 7, 0, 3, []string{"A3", "A4", "A5"}, bookdv1.HoldStatus_HOLD_STATUS_CONFIRMED},
		{"confirm then release", []step{{"confirm", ""}, {"release", fsm.ReasonHoldConfirmed}}, 7, 0, 3, []string{"A3", "A4", "A5"}, bookdv1.HoldStatus_HOLD_STATUS_CONFIRMED},
		{"release", []step{{"release", ""}}, 10, 0, 0, allSeats, bookdv1.HoldStatus_HOLD_STATUS_RELEASED},
		{"release then confirm", []step{{"release", ""}, {"confirm", fsm.ReasonHoldReleased}}, 10, 0, 0, allSeats, bookdv1.HoldStatus_HOLD_STATUS_RELEASED},
		{"release twice", []step{{"release", ""}, {"release", fsm.ReasonHoldReleased}}, 10, 0, 0, allSeats, bookdv1.HoldStatus_HOLD_STATUS_RELEASED},
		{"no step", nil, 7, 3, 0, []string{"A3", "A4", "A5"}, bookdv1.HoldStatus_HOLD_STATUS_ACTIVE},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			ev := h.createEvent(mixedEvent()).GetId()
			ga := h.hold(gaHold(ev, 3, time.Minute))
			seats := h.hold(seatHold(ev, time.Minute, "A2", "A1"))
			var bookingIDs []string
			for i, s := range tt.steps {
				h.now = t0 + int64(i+1)*sec
				for _, hd := range []*bookdv1.Hold{ga, seats} {
					index := h.next
					var res *fsm.Result
					if s.op == "confirm" {
						res = h.do(&bookdv1.ConfirmRequest{HoldId: hd.GetId(), PaymentRef: "card-1"})
					} else {
						res = h.do(&bookdv1.ReleaseHoldRequest{HoldId: hd.GetId()})
					}
					if s.wantReason != "" {
						wantErr(t, res, fsm.CodeFailedPrecondition, s.wantReason, hd.GetId())
						continue
					}
					if s.op == "release" {
						got := mustOK[*bookdv1.ReleaseHoldResponse](t, res).GetHold()
						if got.GetId() != hd.GetId() || got.GetStatus() != bookdv1.HoldStatus_HOLD_STATUS_RELEASED {
							t.Errorf("ReleaseHold returned %v, want %s released", got, hd.GetId())
						}
						continue
					}
					b := mustOK[*bookdv1.ConfirmResponse](t, res).GetBooking()
					want := &bookdv1.Booking{
						Id: id("bk", index), EventId: ev, CustomerId: "alice",
						Quantity: hd.GetQuantity(), Seats: hd.GetSeats(), PaymentRef: "card-1", HoldId: hd.GetId(),
						CreatedAt: &timestamppb.Timestamp{Seconds: h.now / sec},
						Status:    bookdv1.BookingStatus_BOOKING_STATUS_CONFIRMED,
					}
					if !proto.Equal(b, want) {
						t.Errorf("Confirm returned %v, want %v", b, want)
					}
					if stored := h.readBooking(b.GetId()); !proto.Equal(stored, want) {
						t.Errorf("Booking(%s) = %v, want %v", b.GetId(), stored, want)
					}
					bookingIDs = append(bookingIDs, b.GetId())
				}
			}
			for _, hd := range []*bookdv1.Hold{ga, seats} {
				got := h.readHold(hd.GetId(), h.now)
				if got.GetStatus() != tt.wantStatus {
					t.Errorf("hold %s is %v, want %v", hd.GetId(), got.GetStatus(), tt.wantStatus)
				}
				if tt.wantStatus == bookdv1.HoldStatus_HOLD_STATUS_CONFIRMED && got.GetBookingId() == "" {
					t.Errorf("confirmed hold %s names no booking", hd.GetId())
				}
			}
			a := h.avail(ev)
			checkAvail(t, a, tt.wantAvailable, tt.wantHeld, tt.wantBooked, tt.wantFree)
			wantHeldSeats, wantBookedSeats := int64(0), int64(0)
			switch tt.wantStatus {
			case bookdv1.HoldStatus_HOLD_STATUS_ACTIVE:
				wantHeldSeats = 2
			case bookdv1.HoldStatus_HOLD_STATUS_CONFIRMED:
				wantBookedSeats = 2
			}
			if a.GetHeldSeats() != wantHeldSeats || a.GetBookedSeats() != wantBookedSeats {
				t.Errorf("held/booked seats %d/%d, want %d/%d", a.GetHeldSeats(), a.GetBookedSeats(), wantHeldSeats, wantBookedSeats)
			}
			bookings, _, err := h.f.ListBookings(ev, "", "", 100)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, b := range bookings {
				got = append(got, b.GetId())
			}
			if !slices.Equal(got, bookingIDs) {
				t.Errorf("ListBookings = %v, want %v", got, bookingIDs)
			}
			// A released or expired hold's expiry does not come back to haunt it.
			h.now = t0 + time.Hour.Nanoseconds()
			h.do(&fsmv1.ExpireHolds{})
			if tt.wantStatus != bookdv1.HoldStatus_HOLD_STATUS_ACTIVE {
				if st := h.readHold(ga.GetId(), h.now).GetStatus(); st != tt.wantStatus {
					t.Errorf("after the expiry time hold is %v, want %v", st, tt.wantStatus)
				}
				checkAvail(t, h.avail(ev), tt.wantAvailable, tt.wantHeld, tt.wantBooked, tt.wantFree)
			}
		})
	}
}

func TestConfirmReleaseBadHold(t *testing.T) {
	h := newHarness(t)
	h.createEvent(mixedEvent())
	tests := []struct {
		holdID string
		code   fsm.Code
		msg    string
	}{
		{"hd_999", fsm.CodeNotFound, "hold hd_999 not found"},
		{"hd_1", fsm.CodeNotFound, "hold hd_1 not found"}, // index 1 is an event, not a hold
		{"bk_1", fsm.CodeInvalidArgument, "hold_id:"},
		{"", fsm.CodeInvalidArgument, "hold_id:"},
		{"hd_0", fsm.CodeInvalidArgument, "hold_id:"},
	}
	for _, tt := range tests {
		t.Run(tt.holdID, func(t *testing.T) {
			wantErr(t, h.do(&bookdv1.ConfirmRequest{HoldId: tt.holdID}), tt.code, "", tt.msg)
			wantErr(t, h.do(&bookdv1.ReleaseHoldRequest{HoldId: tt.holdID}), tt.code, "", tt.msg)
		})
	}
	t.Run("payment_ref too long", func(t *testing.T) {
		wantErr(t, h.do(&bookdv1.ConfirmRequest{HoldId: "hd_5", PaymentRef: strings.Repeat("p", fsm.MaxIDLen+1)}),
			fsm.CodeInvalidArgument, "", "payment_ref:")
	})
	t.Run("reads", func(t *testing.T) {
		for _, hid := range []string{"hd_999", "hd_1", "bk_1", ""} {
			_, err := h.f.Hold(hid, t0)
			checkError(t, err, fsm.CodeNotFound, "", "not found")
		}
	})
}

// HoldsDue tells the leader's sweeper when an ExpireHolds would do work. It
// may answer true when nothing is due, never false when something is.
func TestHoldsDue(t *testing.T) {
	// A century on; not math.MaxInt64, which is the "no hold" sentinel.
	far := t0 + int64(100*365*24*time.Hour)
	h := newHarness(t)
	if h.f.HoldsDue(far) {
		t.Error("HoldsDue is true with no hold")
	}
	ev := h.createEvent(mixedEvent()).GetId()
	h.hold(gaHold(ev, 1, 10*time.Second))
	h.hold(seatHold(ev, 20*time.Second, "A1"))
	check := func(stage string, now int64, want bool) {
		t.Helper()
		if got := h.f.HoldsDue(now); got != want {
			t.Errorf("%s: HoldsDue(+%s) = %v, want %v", stage, time.Duration(now-t0), got, want)
		}
	}
	check("two holds", t0+10*sec-1, false)
	check("two holds", t0+10*sec, true)
	check("two holds", t0+3600*sec, true)
	h.reopen()
	check("after restart", t0+10*sec-1, false)
	check("after restart", t0+10*sec, true)

	h.now = t0 + 10*sec
	h.do(&fsmv1.ExpireHolds{})
	check("first expired", t0+20*sec-1, false)
	check("first expired", t0+20*sec, true)

	restored := newHarness(t)
	if err := restore(t, restored.f, snapshotOf(t, h.f)); err != nil {
		t.Fatal(err)
	}
	if restored.f.HoldsDue(t0+20*sec-1) || !restored.f.HoldsDue(t0+20*sec) {
		t.Errorf("after Restore HoldsDue does not follow the restored holds")
	}

	h.now = t0 + 20*sec
	h.do(&fsmv1.ExpireHolds{})
	check("all expired", far, false)
}
