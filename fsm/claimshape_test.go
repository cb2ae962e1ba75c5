package fsm_test

import (
	"testing"
	"time"

	"github.com/bookd/bookd/fsm"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
)

// A claim gives a quantity or seats, not both (a quantity that agrees with
// the seats included); best_available takes a quantity and no seats. The
// rpc layer's early check (ValidateHold, ValidateBook) and the state
// machine give the same answer.
func TestClaimQuantityOrSeats(t *testing.T) {
	ttl := durationpb.New(time.Minute)
	tests := []struct {
		name string
		// req builds the request for the GA-and-seats event ev and the
		// seat-map event sm.
		req     func(ev, sm string) proto.Message
		wantMsg string // "" when accepted
	}{
		{"hold: quantity", func(ev, _ string) proto.Message {
			return &bookdv1.HoldRequest{EventId: ev, CustomerId: "c", Quantity: 2, Ttl: ttl}
		}, ""},
		{"hold: seats", func(ev, _ string) proto.Message {
			return &bookdv1.HoldRequest{EventId: ev, CustomerId: "c", Seats: []string{"A1", "A2"}, Ttl: ttl}
		}, ""},
		{"hold: seats and an agreeing quantity", func(ev, _ string) proto.Message {
			return &bookdv1.HoldRequest{EventId: ev, CustomerId: "c", Quantity: 2, Seats: []string{"A1", "A2"}, Ttl: ttl}
		}, "quantity: give quantity or seats, not both (quantity 2, 2 seats)"},
		{"hold: seats and another quantity", func(ev, _ string) proto.Message {
			return &bookdv1.HoldRequest{EventId: ev, CustomerId: "c", Quantity: 1, Seats: []string{"A1", "A2"}, Ttl: ttl}
		}, "quantity: give quantity or seats, not both (quantity 1, 2 seats)"},
		{"hold: best_available with a quantity", func(_, sm string) proto.Message {
			return &bookdv1.HoldRequest{EventId: sm, CustomerId: "c", Quantity: 2, BestAvailable: true, Ttl: ttl}
		}, ""},
		{"hold: best_available with seats", func(_, sm string) proto.Message {
			return &bookdv1.HoldRequest{EventId: sm, CustomerId: "c", Seats: []string{"S-A-1"}, BestAvailable: true, Ttl: ttl}
		}, "best_available: give seats or best_available, not both"},
		{"book: quantity", func(ev, _ string) proto.Message {
			return &bookdv1.BookRequest{EventId: ev, CustomerId: "c", Quantity: 2}
		}, ""},
		{"book: seats", func(ev, _ string) proto.Message {
			return &bookdv1.BookRequest{EventId: ev, CustomerId: "c", Seats: []string{"A1"}}
		}, ""},
		{"book: seats and an agreeing quantity", func(ev, _ string) proto.Message {
			return &bookdv1.BookRequest{EventId: ev, CustomerId: "c", Quantity: 1, Seats: []string{"A1"}}
		}, "quantity: give quantity or seats, not both (quantity 1, 1 seats)"},
		{"book: best_available with a quantity", func(_, sm string) proto.Message {
			return &bookdv1.BookRequest{EventId: sm, CustomerId: "c", Quantity: 3, BestAvailable: true}
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			ev := h.createEvent(mixedEvent()).GetId()
			sm := h.createEvent(mapEvent(section("S", row("A", 4)))).GetId()
			req := tt.req(ev, sm)

			var early *fsm.Error
			switch r := req.(type) {
			case *bookdv1.HoldRequest:
				early = fsm.ValidateHold(r)
			case *bookdv1.BookRequest:
				early = fsm.ValidateBook(r)
			}
			res := h.do(req)
			if tt.wantMsg == "" {
				if early != nil || res.Err != nil {
					t.Fatalf("early check %v, state machine %v; want both to accept", early, res.Err)
				}
				return
			}
			if early == nil {
				t.Fatalf("early check accepts; want %q", tt.wantMsg)
			}
			checkError(t, early, fsm.CodeInvalidArgument, "", tt.wantMsg)
			wantErr(t, res, fsm.CodeInvalidArgument, "", tt.wantMsg)
			checkAvail(t, h.avail(ev), 10, 0, 0, allSeats)
		})
	}
}
