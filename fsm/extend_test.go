package fsm_test

import (
	"testing"
	"time"

	"github.com/bookd/bookd/fsm"
	fsmv1 "github.com/bookd/bookd/proto/bookd/fsm/v1"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"google.golang.org/protobuf/types/known/durationpb"
)

// ExtendHold moves a hold's expiry to now+ttl, never past MaxHoldLifetime
// after the hold was created.
func TestExtendHold(t *testing.T) {
	type ext struct {
		at, ttl time.Duration
		reason  string // "" for success
		msg     []string
	}
	tests := []struct {
		name       string
		ttl        time.Duration // of the hold, placed at t0
		extends    []ext
		wantExpiry time.Duration // of the hold after the extends
	}{
		{"later", time.Minute, []ext{{at: 30 * time.Second, ttl: 10 * time.Minute}}, 10*time.Minute + 30*time.Second},
		{"shorter", time.Hour, []ext{{at: time.Minute, ttl: time.Second}}, time.Minute + time.Second},
		{"up to the cap exactly", time.Hour, []ext{{at: time.Hour - time.Second, ttl: time.Hour}, {at: time.Hour, ttl: time.Hour}}, 2 * time.Hour},
		{"in steps up to the cap", 30 * time.Minute, []ext{{at: 20 * time.Minute, ttl: time.Hour}, {at: 70 * time.Minute, ttl: 50 * time.Minute}}, 2 * time.Hour},
		{"past the cap by 1ns", time.Hour, []ext{{at: 30 * time.Minute, ttl: time.Hour}, {at: time.Hour + 1, ttl: time.Hour, reason: fsm.ReasonHoldCap,
			msg: []string{"cannot be extended past 2023-11-15T00:13:20.000Z", "2h0m0s after it was placed", "ttl of at most 59m59s"}}}, 90 * time.Minute},
		{"past the cap", 30 * time.Minute, []ext{{at: 20 * time.Minute, ttl: time.Hour}, {at: 75 * time.Minute, ttl: time.Hour, reason: fsm.ReasonHoldCap,
			msg: []string{"ttl of at most 45m0s"}}}, 80 * time.Minute},
		{"at expiry", time.Minute, []ext{{at: time.Minute, ttl: time.Hour, reason: fsm.ReasonHoldExpired,
			msg: []string{"expired at 2023-11-14T22:14:20.000Z"}}}, time.Minute},
		{"1ns before expiry", time.Minute, []ext{{at: time.Minute - 1, ttl: time.Hour}}, time.Hour + time.Minute - 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			ev := h.createEvent(mixedEvent()).GetId()
			hd := h.hold(gaHold(ev, 4, tt.ttl))
			if got := hd.GetMaxExpiresAt().AsTime(); !got.Equal(ts(fsm.MaxHoldLifetime).AsTime()) {
				t.Errorf("max_expires_at %v, want created+2h", got)
			}
			for i, x := range tt.extends {
				h.at(x.at)
				res := h.do(&bookdv1.ExtendHoldRequest{HoldId: hd.GetId(), Ttl: durationpb.New(x.ttl)})
				if x.reason != "" {
					wantErr(t, res, fsm.CodeFailedPrecondition, x.reason, append(x.msg, hd.GetId())...)
					continue
				}
				got := mustOK[*bookdv1.ExtendHoldResponse](t, res).GetHold()
				if e := got.GetExpiresAt().AsTime(); !e.Equal(ts(x.at + x.ttl).AsTime()) {
					t.Errorf("extend %d: expires at +%s, want +%s", i, e.Sub(ts(0).AsTime()), x.at+x.ttl)
				}
			}
			stored := h.readHold(hd.GetId(), 0)
			if e := stored.GetExpiresAt().AsTime(); !e.Equal(ts(tt.wantExpiry).AsTime()) {
				t.Errorf("stored hold expires at +%s, want +%s", e.Sub(ts(0).AsTime()), tt.wantExpiry)
			}
			if stored.GetStatus() == bookdv1.HoldStatus_HOLD_STATUS_EXPIRED {
				return
			}
			// The hold lives until its new expiry, not its old one, and
			// not a nanosecond longer.
			h.at(tt.wantExpiry - 1)
			h.do(&fsmv1.ExpireHolds{})
			if st := h.readHold(hd.GetId(), 0).GetStatus(); st != bookdv1.HoldStatus_HOLD_STATUS_ACTIVE {
				t.Errorf("1ns before its expiry the hold is %v", st)
			}
			h.at(tt.wantExpiry)
			h.do(&fsmv1.ExpireHolds{})
			if st := h.readHold(hd.GetId(), 0).GetStatus(); st != bookdv1.HoldStatus_HOLD_STATUS_EXPIRED {
				t.Errorf("at its expiry the hold is %v", st)
			}
			checkAvail(t, h.avail(ev), 10, 0, 0, allSeats)
		})
	}
}

func TestExtendHoldRefused(t *testing.T) {
	h := newHarness(t)
	ev := h.createEvent(mixedEvent()).GetId()
	released := h.hold(gaHold(ev, 1, time.Minute))
	h.release(released.GetId())
	confirmed := h.hold(gaHold(ev, 1, time.Minute))
	h.confirm(confirmed.GetId())
	active := h.hold(gaHold(ev, 1, time.Minute)).GetId()
	tests := []struct {
		name   string
		req    *bookdv1.ExtendHoldRequest
		code   fsm.Code
		reason string
		msg    string
	}{
		{"released", &bookdv1.ExtendHoldRequest{HoldId: released.GetId(), Ttl: durationpb.New(time.Minute)}, fsm.CodeFailedPrecondition, fsm.ReasonHoldReleased, "was released"},
		{"confirmed", &bookdv1.ExtendHoldRequest{HoldId: confirmed.GetId(), Ttl: durationpb.New(time.Minute)}, fsm.CodeFailedPrecondition, fsm.ReasonHoldConfirmed, "already confirmed"},
		{"unknown", &bookdv1.ExtendHoldRequest{HoldId: "hd_999", Ttl: durationpb.New(time.Minute)}, fsm.CodeNotFound, "", "hold hd_999 not found"},
		{"bad id", &bookdv1.ExtendHoldRequest{HoldId: "ev_1", Ttl: durationpb.New(time.Minute)}, fsm.CodeInvalidArgument, "", "hold_id:"},
		{"no ttl", &bookdv1.ExtendHoldRequest{HoldId: active}, fsm.CodeInvalidArgument, "", "ttl: required"},
		{"ttl too short", &bookdv1.ExtendHoldRequest{HoldId: active, Ttl: durationpb.New(time.Second - 1)}, fsm.CodeInvalidArgument, "", "ttl: must be between 1s and 1h0m0s"},
		{"ttl too long", &bookdv1.ExtendHoldRequest{HoldId: active, Ttl: durationpb.New(time.Hour + 1)}, fsm.CodeInvalidArgument, "", "ttl: must be between"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantErr(t, h.do(tt.req), tt.code, tt.reason, tt.msg)
		})
	}
	if e := h.readHold(active, 0).GetExpiresAt().AsTime(); !e.Equal(ts(time.Minute).AsTime()) {
		t.Errorf("refused extends moved the hold's expiry to %v", e)
	}
}

// A hold whose expires_at equals the command time is expired: it cannot be
// confirmed, released or extended, its inventory can be claimed, and reads
// report it expired. A nanosecond earlier it is active.
func TestExpiryBoundary(t *testing.T) {
	for _, before := range []bool{true, false} {
		name := "at expires_at"
		if before {
			name = "1ns before"
		}
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			ev := h.createEvent(mixedEvent()).GetId()
			hd := h.hold(seatHold(ev, 2*time.Second, "A1"))
			h.at(2 * time.Second)
			if before {
				h.now--
			}
			wantStatus := bookdv1.HoldStatus_HOLD_STATUS_EXPIRED
			if before {
				wantStatus = bookdv1.HoldStatus_HOLD_STATUS_ACTIVE
			}
			if st := h.readHold(hd.GetId(), h.now).GetStatus(); st != wantStatus {
				t.Errorf("Hold read is %v, want %v", st, wantStatus)
			}
			claim := h.do(&bookdv1.HoldRequest{EventId: ev, CustomerId: "bob", Seats: []string{"A1"}})
			if before {
				wantErr(t, claim, fsm.CodeFailedPrecondition, fsm.ReasonSeatTaken)
				h.extend(hd.GetId(), time.Minute)
				return
			}
			mustOK[*bookdv1.HoldResponse](t, claim)
			wantErr(t, h.do(&bookdv1.ExtendHoldRequest{HoldId: hd.GetId(), Ttl: durationpb.New(time.Minute)}),
				fsm.CodeFailedPrecondition, fsm.ReasonHoldExpired, "expired at")
			wantErr(t, h.do(&bookdv1.ReleaseHoldRequest{HoldId: hd.GetId()}), fsm.CodeFailedPrecondition, fsm.ReasonHoldExpired)
			wantStrings(t, "changes", kindsSince(t, h.f, 2), []string{"hold_created:" + hd.GetId(), "hold_expired:" + hd.GetId(), "hold_created:" + id("hd", 3)})
			if c := allChanges(t, h.f)[2]; c.GetTimeUnixNanos() != t0+2*sec {
				t.Errorf("hold_expired stamped +%s, want +2s", time.Duration(c.GetTimeUnixNanos()-t0))
			}
		})
	}
}
