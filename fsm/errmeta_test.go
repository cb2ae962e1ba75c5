package fsm_test

import (
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/bookd/bookd/fsm"
	fsmv1 "github.com/bookd/bookd/proto/bookd/fsm/v1"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
)

// A refusal names what it is about in its metadata: the seat, the event,
// the limit, the hold.
func TestRefusalMetadata(t *testing.T) {
	h := newHarness(t)
	seated := h.createEvent(seatEvent("A1", "A2")).GetId()
	limited := h.createEvent(&bookdv1.CreateEventRequest{Name: "Limited", Capacity: 10,
		MaxTicketsPerCustomer: 4, MaxTicketsPerHold: 3}).GetId()
	ga := h.createEvent(gaEvent(2)).GetId()
	h.book(seatBook(seated, "A1"))
	h.book(gaBook(ga, 2))
	h.hold(gaHold(limited, 3, time.Minute)) // alice has 3
	released := h.hold(seatHold(seated, time.Minute, "A2")).GetId()
	h.do(&bookdv1.ReleaseHoldRequest{HoldId: released})

	tests := []struct {
		name   string
		req    proto.Message
		reason string
		want   map[string]string
	}{
		{"seat taken", seatHold(seated, time.Minute, "A1"), fsm.ReasonSeatTaken,
			map[string]string{fsm.MetaEvent: seated, fsm.MetaSeat: "A1"}},
		{"unknown seat", seatHold(seated, time.Minute, "Z9"), fsm.ReasonUnknownSeat,
			map[string]string{fsm.MetaEvent: seated, fsm.MetaSeat: "Z9"}},
		{"sold out", gaHold(ga, 1, time.Minute), fsm.ReasonSoldOut,
			map[string]string{fsm.MetaEvent: ga, fsm.MetaAvailable: "0", fsm.MetaAsked: "1"}},
		{"hold limit", &bookdv1.HoldRequest{EventId: limited, CustomerId: "carol", Quantity: 4, Ttl: durationpb.New(time.Minute)},
			fsm.ReasonHoldLimit, map[string]string{fsm.MetaEvent: limited, fsm.MetaLimit: "3", fsm.MetaAsked: "4"}},
		{"customer limit", gaHold(limited, 2, time.Minute), fsm.ReasonCustomerLimit,
			map[string]string{fsm.MetaEvent: limited, fsm.MetaCustomer: "alice", fsm.MetaLimit: "4", fsm.MetaHas: "3", fsm.MetaAsked: "2"}},
		{"hold released", &bookdv1.ConfirmRequest{HoldId: released, PaymentRef: "pay"}, fsm.ReasonHoldReleased,
			map[string]string{fsm.MetaHold: released}},
		{"hold not found", &bookdv1.ConfirmRequest{HoldId: "hd_999999", PaymentRef: "pay"}, "",
			map[string]string{fsm.MetaHold: "hd_999999"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := h.do(tt.req)
			if res.Err == nil {
				t.Fatalf("succeeded: %v", res.Response)
			}
			if res.Err.Reason != tt.reason || !maps.Equal(res.Err.Metadata, tt.want) {
				t.Errorf("refusal %q %v, want %q %v", res.Err.Reason, res.Err.Metadata, tt.reason, tt.want)
			}
		})
	}
}

// The leader's early refusal of a claim is the state machine's, metadata
// included.
func TestEarlyRefusalMetadataIsTheStateMachines(t *testing.T) {
	h := newHarness(t)
	seated := h.createEvent(seatEvent("A1", "A2")).GetId()
	ga := h.createEvent(gaEvent(2)).GetId()
	h.book(seatBook(seated, "A1"))
	h.book(gaBook(ga, 2))
	for i, req := range []*bookdv1.BookRequest{seatBook(seated, "A1"), gaBook(ga, 1)} {
		req.IdempotencyKey = fmt.Sprint("key-", i)
		early := h.f.CertainRefusals([]*fsmv1.Command{command(req)})[0]
		res := h.do(req)
		if early == nil || res.Err == nil {
			t.Fatalf("%v: early refusal %v, state machine's %v: want both", req, early, res.Err)
		}
		if early.Reason != res.Err.Reason || early.Message != res.Err.Message || !maps.Equal(early.Metadata, res.Err.Metadata) {
			t.Errorf("early refusal %+v, state machine's %+v", early, res.Err)
		}
	}
}
