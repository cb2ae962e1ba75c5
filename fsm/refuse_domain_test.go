package fsm_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/bookd/bookd/fsm"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"google.golang.org/protobuf/proto"
)

// An early refusal (CertainRefusals, used for first attempts in BatchWrite)
// must be the refusal the state machine itself would answer: BatchWrite
// promises the error the single call would have returned. The state
// machine checks that the event is on sale and the limits before the
// inventory, so a claim on a closed or cancelled event, or over a limit,
// is refused for that, not as sold out.
func TestCertainRefusalsMatchTheStateMachine(t *testing.T) {
	h := newHarness(t)
	mk := func(req *bookdv1.CreateEventRequest) string { return h.createEvent(req).GetId() }
	open := mk(&bookdv1.CreateEventRequest{Name: "open", Capacity: 2, Seats: []string{"A1", "A2"}})
	limited := mk(&bookdv1.CreateEventRequest{Name: "limited", Capacity: 10, Seats: []string{"A1", "A2"}, MaxTicketsPerHold: 2, MaxTicketsPerCustomer: 3})
	closed := mk(&bookdv1.CreateEventRequest{Name: "closed", Capacity: 2, Seats: []string{"A1", "A2"}})
	cancelled := mk(&bookdv1.CreateEventRequest{Name: "cancelled", Capacity: 2, Seats: []string{"A1", "A2"}})
	for _, ev := range []string{open, closed, cancelled} {
		h.book(bookFor(ev, "zoe", 2))
		h.book(seatBook(ev, "A1"))
	}
	h.book(bookFor(limited, "zoe", 2))
	h.book(bookFor(limited, "zoe", 1))
	h.book(bookFor(limited, "zoe2", 2))
	h.book(bookFor(limited, "zoe3", 2))
	h.book(bookFor(limited, "alice", 2)) // 1 GA ticket left; alice has 2 of 3
	h.book(seatBook(limited, "A1"))
	seated := mk(&bookdv1.CreateEventRequest{Name: "seated", Sections: []*bookdv1.Section{
		{Name: "S", Rows: []*bookdv1.SeatRow{{Name: "A", Seats: 3, Blocked: []int32{1}}}}}})
	h.book(seatBook(seated, "S-A-3"))
	h.hold(seatHold(seated, time.Hour, "S-A-2"))
	mustOK[*bookdv1.CloseEventResponse](t, h.do(&bookdv1.CloseEventRequest{EventId: closed}))
	mustOK[*bookdv1.CancelEventResponse](t, h.do(&bookdv1.CancelEventRequest{EventId: cancelled}))

	type claim struct {
		name string
		req  proto.Message
	}
	var claims []claim
	for _, ev := range []string{open, closed, cancelled, limited} {
		claims = append(claims,
			claim{ev + " GA sold by bookings", &bookdv1.BookRequest{EventId: ev, CustomerId: "bob", Quantity: 2}},
			claim{ev + " booked seat", &bookdv1.HoldRequest{EventId: ev, CustomerId: "bob", Seats: []string{"A1"}}},
		)
	}
	claims = append(claims,
		claim{"over the per-hold limit and sold out", &bookdv1.BookRequest{EventId: limited, CustomerId: "bob", Quantity: 3}},
		claim{"over the customer limit and sold out", &bookdv1.HoldRequest{EventId: limited, CustomerId: "alice", Quantity: 2}},
		claim{"over the customer limit, booked seat", &bookdv1.HoldRequest{EventId: limited, CustomerId: "alice", Seats: []string{"A1", "A2"}}},
		// The state machine refuses at the first seat that is not free.
		claim{"blocked seat, then a booked one", &bookdv1.HoldRequest{EventId: seated, CustomerId: "bob", Seats: []string{"S-A-1", "S-A-3"}}},
		claim{"held seat, then a booked one", &bookdv1.HoldRequest{EventId: seated, CustomerId: "bob", Seats: []string{"S-A-2", "S-A-3"}}},
		claim{"booked seat, then a held one", &bookdv1.HoldRequest{EventId: seated, CustomerId: "bob", Seats: []string{"S-A-3", "S-A-2"}}},
	)
	cmds := make([]*fsm.Command, len(claims))
	for i, c := range claims {
		setKey(c.req, fmt.Sprint("k", i))
		cmds[i] = command(c.req)
	}
	early := h.f.CertainRefusals(cmds)
	refused := 0
	for i, c := range claims {
		res := h.do(c.req)
		if early[i] == nil {
			continue
		}
		refused++
		// A seat refusal names the same seat; a GA one may count tickets
		// differently (the early one counts only bookings).
		_, seatClaim := c.req.(*bookdv1.HoldRequest)
		seatClaim = seatClaim && len(c.req.(*bookdv1.HoldRequest).GetSeats()) > 0
		if res.Err == nil || res.Err.Code != early[i].Code || res.Err.Reason != early[i].Reason || seatClaim && res.Err.Message != early[i].Message {
			t.Errorf("%s: refused early with %s (%s), but the state machine answers %v", c.name, early[i].Reason, early[i].Message, res.Err)
		}
	}
	if refused < 4 {
		t.Errorf("only %d claims refused early; the test checks too little", refused)
	}
}

// setKey sets a request's idempotency_key.
func setKey(m proto.Message, key string) {
	switch r := m.(type) {
	case *bookdv1.BookRequest:
		r.IdempotencyKey = key
	case *bookdv1.HoldRequest:
		r.IdempotencyKey = key
	default:
		panic(fmt.Sprintf("setKey: %T", m))
	}
}
