package fsm_test

import (
	"testing"
	"time"

	"github.com/bookd/bookd/fsm"
	fsmv1 "github.com/bookd/bookd/proto/bookd/fsm/v1"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
)

// limitedEvent has 20 GA tickets, seats A1-A5, and allows 4 tickets per
// customer and 3 per hold.
func limitedEvent() *bookdv1.CreateEventRequest {
	return &bookdv1.CreateEventRequest{Name: "Limited", Capacity: 20, Seats: []string{"A1", "A2", "A3", "A4", "A5"},
		MaxTicketsPerCustomer: 4, MaxTicketsPerHold: 3}
}

// A customer's tickets are counted across live holds and bookings, GA and
// seats together; other customers have their own count.
func TestCustomerLimit(t *testing.T) {
	type step struct {
		req    func(ev string) proto.Message
		reason string // "" for success
		msg    []string
	}
	hold := func(q int64) func(string) proto.Message {
		return func(ev string) proto.Message { return holdFor(ev, "alice", q, time.Minute) }
	}
	book := func(q int64) func(string) proto.Message {
		return func(ev string) proto.Message { return bookFor(ev, "alice", q) }
	}
	seats := func(s ...string) func(string) proto.Message {
		return func(ev string) proto.Message {
			return &bookdv1.HoldRequest{EventId: ev, CustomerId: "alice", Seats: s, Ttl: durationpb.New(time.Minute)}
		}
	}
	over := fsm.ReasonCustomerLimit
	tests := []struct {
		name  string
		steps []step
	}{
		{"two holds up to the limit", []step{{req: hold(3)}, {req: hold(1)}, {req: hold(1), reason: over,
			msg: []string{"customer alice may have at most 4 tickets of event", "has 4 in holds and bookings, 1 asked"}}}},
		{"second hold over the limit", []step{{req: hold(3)}, {req: hold(2), reason: over, msg: []string{"has 3", "2 asked"}}, {req: hold(1)}}},
		{"held and booked together", []step{{req: book(2)}, {req: hold(2)}, {req: book(1), reason: over, msg: []string{"has 4"}}}},
		{"seats count", []step{{req: seats("A1", "A2", "A3")}, {req: hold(2), reason: over, msg: []string{"has 3"}}, {req: hold(1)}}},
		{"best available counts", []step{{req: hold(2)}, {req: func(ev string) proto.Message {
			r := bestHold(ev, "", 3)
			return r
		}, reason: over, msg: []string{"has 2", "3 asked"}}}},
		{"refused hold takes nothing", []step{{req: hold(3)}, {req: hold(3), reason: over}, {req: hold(3), reason: over}, {req: hold(1)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			ev := h.createEvent(limitedEvent()).GetId()
			for i, s := range tt.steps {
				res := h.do(s.req(ev))
				if s.reason == "" {
					if res.Err != nil {
						t.Fatalf("step %d refused: %v", i, res.Err)
					}
					continue
				}
				wantErr(t, res, fsm.CodeFailedPrecondition, s.reason, s.msg...)
			}
			// Another customer is not limited by alice's tickets.
			h.hold(holdFor(ev, "bob", 3, time.Minute))
			h.book(bookFor(ev, "bob", 1))
		})
	}
}

// Tickets leave a customer's count when their hold is released or expires
// or their booking is cancelled, not when a hold is confirmed.
func TestCustomerLimitFreed(t *testing.T) {
	tests := []struct {
		name string
		// free acts on alice's first hold (of 2; the other has 2 as well) at +10s.
		free      func(h *harness, hd *bookdv1.Hold)
		wantFreed bool
	}{
		{"release", func(h *harness, hd *bookdv1.Hold) { h.release(hd.GetId()) }, true},
		{"expiry", func(h *harness, hd *bookdv1.Hold) { h.at(time.Minute) }, true},
		{"expiry by ExpireHolds", func(h *harness, hd *bookdv1.Hold) { h.at(time.Minute); h.do(&fsmv1.ExpireHolds{}) }, true},
		{"confirm", func(h *harness, hd *bookdv1.Hold) { h.confirm(hd.GetId()) }, false},
		{"confirm then cancel", func(h *harness, hd *bookdv1.Hold) { h.cancel(h.confirm(hd.GetId()).GetId()) }, true},
		{"extend", func(h *harness, hd *bookdv1.Hold) { h.extend(hd.GetId(), time.Hour) }, false},
		{"1ns before expiry", func(h *harness, hd *bookdv1.Hold) { h.at(time.Minute - 1) }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			ev := h.createEvent(limitedEvent()).GetId()
			first := h.hold(holdFor(ev, "alice", 2, time.Minute))
			h.at(5 * time.Second)
			h.hold(holdFor(ev, "alice", 2, time.Hour))
			wantErr(t, h.do(holdFor(ev, "alice", 1, time.Minute)), fsm.CodeFailedPrecondition, fsm.ReasonCustomerLimit)
			h.at(10 * time.Second)
			tt.free(h, first)
			res := h.do(holdFor(ev, "alice", 2, time.Minute))
			if !tt.wantFreed {
				wantErr(t, res, fsm.CodeFailedPrecondition, fsm.ReasonCustomerLimit, "has 4")
				return
			}
			mustOK[*bookdv1.HoldResponse](t, res)
			wantErr(t, h.do(holdFor(ev, "alice", 1, time.Minute)), fsm.CodeFailedPrecondition, fsm.ReasonCustomerLimit, "has 4")
		})
	}
}

func TestPerHoldLimit(t *testing.T) {
	h := newHarness(t)
	ev := h.createEvent(limitedEvent()).GetId()
	msg := []string{"allows at most 3 tickets per hold, 4 asked"}
	for name, req := range map[string]proto.Message{
		"GA hold":        holdFor("EV", "bob", 4, time.Minute),
		"GA book":        bookFor("EV", "bob", 4),
		"seat hold":      &bookdv1.HoldRequest{EventId: "EV", CustomerId: "bob", Seats: []string{"A1", "A2", "A3", "A4"}},
		"seat book":      &bookdv1.BookRequest{EventId: "EV", CustomerId: "bob", Seats: []string{"A1", "A2", "A3", "A4"}},
		"best available": &bookdv1.HoldRequest{EventId: "EV", CustomerId: "bob", Quantity: 4, BestAvailable: true},
	} {
		t.Run(name, func(t *testing.T) {
			setEvent(req, ev)
			wantErr(t, h.do(req), fsm.CodeFailedPrecondition, fsm.ReasonHoldLimit, msg...)
		})
	}
	checkAvail(t, h.avail(ev), 20, 0, 0, allSeats)
	h.hold(holdFor(ev, "bob", 3, time.Minute))
	h.book(&bookdv1.BookRequest{EventId: ev, CustomerId: "carol", Seats: []string{"A1", "A2", "A3"}})

	t.Run("server limit when unset", func(t *testing.T) {
		ga := h.createEvent(gaEvent(100)).GetId()
		h.hold(holdFor(ga, "bob", fsm.MaxQuantityOfHold, time.Minute))
		wantErr(t, h.do(holdFor(ga, "bob", fsm.MaxQuantityOfHold+1, time.Minute)), fsm.CodeInvalidArgument, "", "quantity: at most 50")
	})
}

func setEvent(req proto.Message, ev string) {
	switch r := req.(type) {
	case *bookdv1.HoldRequest:
		r.EventId = ev
	case *bookdv1.BookRequest:
		r.EventId = ev
	}
}

func TestLimitValidation(t *testing.T) {
	h := newHarness(t)
	tests := []struct {
		perCustomer, perHold int64
		msg                  string
	}{
		{-1, 0, "max_tickets_per_customer: must be between 0 (no limit) and 10000, got -1"},
		{fsm.MaxTicketsPerCustomer + 1, 0, "max_tickets_per_customer"},
		{0, -1, "max_tickets_per_hold: must be between 0"},
		{0, fsm.MaxQuantityOfHold + 1, "max_tickets_per_hold"},
	}
	for _, tt := range tests {
		req := gaEvent(10)
		req.MaxTicketsPerCustomer, req.MaxTicketsPerHold = tt.perCustomer, tt.perHold
		wantErr(t, h.do(req), fsm.CodeInvalidArgument, "", tt.msg)
	}
	req := gaEvent(10)
	req.MaxTicketsPerCustomer, req.MaxTicketsPerHold = fsm.MaxTicketsPerCustomer, fsm.MaxQuantityOfHold
	ev := h.createEvent(req)
	if ev.GetMaxTicketsPerCustomer() != fsm.MaxTicketsPerCustomer || ev.GetMaxTicketsPerHold() != fsm.MaxQuantityOfHold {
		t.Errorf("event limits %d/%d, want the maxima", ev.GetMaxTicketsPerCustomer(), ev.GetMaxTicketsPerHold())
	}
}
