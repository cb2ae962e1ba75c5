package fsm_test

import (
	"testing"
	"time"

	"github.com/bookd/bookd/fsm"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
)

// idemFixture is what the idempotency tests act on: an event with 4 GA
// tickets (at most 4 per customer) where alice holds 1 twice and has
// booked 1, and is waiting twice on a sold-out second event.
type idemFixture struct {
	ev, soldOut, hold1, hold2, booking, entry1, entry2, product string
	soldOutBooking                                              string // carol's, of the one ticket of soldOut
	next                                                        uint64 // the index after the fixture
}

func newIdemFixture(h *harness) idemFixture {
	h.t.Helper()
	var fx idemFixture
	req := waitEvent()
	req.MaxTicketsPerCustomer = 4
	fx.ev = h.createEvent(req).GetId()
	fx.hold1 = h.hold(holdFor(fx.ev, "alice", 1, time.Minute)).GetId()
	fx.hold2 = h.hold(holdFor(fx.ev, "alice", 1, time.Minute)).GetId()
	fx.booking = h.book(bookFor(fx.ev, "alice", 1)).GetId()
	fx.soldOut = h.createEvent(gaEvent(1)).GetId()
	fx.soldOutBooking = h.book(bookFor(fx.soldOut, "carol", 1)).GetId()
	fx.entry1 = h.join(fx.soldOut, "alice", 1).GetId()
	fx.entry2 = h.join(fx.soldOut, "alice", 1).GetId()
	fx.product = h.createProduct("Tour").GetId()
	fx.next = h.next
	return fx
}

// A key used again by the same customer for the same mutation with another
// request is refused; the first request's retry replays its answer.
func TestIdempotencyNewMutations(t *testing.T) {
	ttl := durationpb.New(time.Minute)
	tests := []struct {
		name       string
		req, other func(fx idemFixture, key string) proto.Message
	}{
		{"CreateProduct",
			func(_ idemFixture, k string) proto.Message {
				return &bookdv1.CreateProductRequest{Name: "a", IdempotencyKey: k}
			},
			func(_ idemFixture, k string) proto.Message {
				return &bookdv1.CreateProductRequest{Name: "b", IdempotencyKey: k}
			}},
		{"CreateEvent of a product",
			func(fx idemFixture, k string) proto.Message {
				return &bookdv1.CreateEventRequest{Name: "a", Capacity: 1, ProductId: fx.product, IdempotencyKey: k}
			},
			func(_ idemFixture, k string) proto.Message {
				return &bookdv1.CreateEventRequest{Name: "a", Capacity: 1, IdempotencyKey: k}
			}},
		{"CloseEvent",
			func(fx idemFixture, k string) proto.Message {
				return &bookdv1.CloseEventRequest{EventId: fx.ev, IdempotencyKey: k}
			},
			nil}, // scoped to the event closed: no other request can share a key
		{"CancelEvent",
			func(fx idemFixture, k string) proto.Message {
				return &bookdv1.CancelEventRequest{EventId: fx.ev, IdempotencyKey: k}
			},
			nil}, // scoped to the event cancelled
		{"ExtendHold",
			func(fx idemFixture, k string) proto.Message {
				return &bookdv1.ExtendHoldRequest{HoldId: fx.hold1, Ttl: ttl, IdempotencyKey: k}
			},
			func(fx idemFixture, k string) proto.Message {
				// Keys of follow-ups are scoped to the object acted on.
				return &bookdv1.ExtendHoldRequest{HoldId: fx.hold1, Ttl: durationpb.New(2 * time.Minute), IdempotencyKey: k}
			}},
		{"JoinWaitlist",
			func(fx idemFixture, k string) proto.Message {
				return &bookdv1.JoinWaitlistRequest{EventId: fx.soldOut, CustomerId: "alice", Quantity: 1, IdempotencyKey: k}
			},
			func(fx idemFixture, k string) proto.Message {
				return &bookdv1.JoinWaitlistRequest{EventId: fx.soldOut, CustomerId: "alice", Quantity: 2, IdempotencyKey: k}
			}},
		{"LeaveWaitlist",
			func(fx idemFixture, k string) proto.Message {
				return &bookdv1.LeaveWaitlistRequest{EntryId: fx.entry1, IdempotencyKey: k}
			},
			nil}, // scoped to the entry left: no other request can share a key
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			fx := newIdemFixture(h)
			first := h.do(tt.req(fx, "k"))
			mustOK[proto.Message](t, first)
			before, feed, products := h.state(fx.ev, fx.soldOut), len(allChanges(t, h.f)), listProducts(t, h.f)
			h.at(time.Second)
			again := h.do(tt.req(fx, "k"))
			if !sameResult(first, again) {
				t.Errorf("retry answered %v / %v, want %v", again.Response, again.Err, first.Response)
			}
			if tt.other != nil {
				wantErr(t, h.do(tt.other(fx, "k")), fsm.CodeAlreadyExists, fsm.ReasonKeyReused, "idempotency_key")
			}
			sameState(t, before, h.state(fx.ev, fx.soldOut))
			if n := len(allChanges(t, h.f)); n != feed {
				t.Errorf("the retry and the reuse added %d changes", n-feed)
			}
			wantStrings(t, "products", listProducts(t, h.f), products)
			// Another key is another request.
			if tt.other == nil {
				return
			}
			if res := h.do(tt.other(fx, "k2")); res.Err != nil && res.Err.Reason == fsm.ReasonKeyReused {
				t.Errorf("another key is refused as a reuse: %v", res.Err)
			}
		})
	}
}

func listProducts(t testing.TB, f *fsm.FSM) []string {
	t.Helper()
	products, _, err := f.ListProducts("", 1000)
	if err != nil {
		t.Fatalf("ListProducts: %v", err)
	}
	var ids []string
	for _, p := range products {
		ids = append(ids, p.GetId()+" "+p.GetName())
	}
	return ids
}

// A refused keyed request is refused again on retry, with the same error,
// even when the state has changed so that it would now go through.
func TestIdempotentReplayOfErrorNewMutations(t *testing.T) {
	tests := []struct {
		name   string
		req    func(fx idemFixture, key string) proto.Message
		code   fsm.Code
		reason string
		change func(h *harness, fx idemFixture) // makes req acceptable
	}{
		{"Hold over the customer limit",
			func(fx idemFixture, k string) proto.Message {
				r := holdFor(fx.ev, "alice", 2, time.Minute)
				r.IdempotencyKey = k
				return r
			},
			fsm.CodeFailedPrecondition, fsm.ReasonCustomerLimit,
			func(h *harness, fx idemFixture) { h.release(fx.hold1) }},
		{"Book sold out",
			func(fx idemFixture, k string) proto.Message {
				r := bookFor(fx.ev, "bob", 2)
				r.IdempotencyKey = k
				return r
			},
			fsm.CodeFailedPrecondition, fsm.ReasonSoldOut,
			func(h *harness, fx idemFixture) { h.release(fx.hold1) }},
		{"JoinWaitlist while available",
			func(fx idemFixture, k string) proto.Message {
				return &bookdv1.JoinWaitlistRequest{EventId: fx.ev, CustomerId: "bob", Quantity: 1, IdempotencyKey: k}
			},
			fsm.CodeFailedPrecondition, fsm.ReasonAvailable,
			func(h *harness, fx idemFixture) { h.book(bookFor(fx.ev, "carol", 1)) }},
		{"CreateEvent of a product not yet made",
			func(fx idemFixture, k string) proto.Message {
				return &bookdv1.CreateEventRequest{Name: "x", Capacity: 1, ProductId: id("pr", fx.next+1), IdempotencyKey: k}
			},
			fsm.CodeNotFound, "",
			func(h *harness, fx idemFixture) { h.createProduct("later") }},
		{"ExtendHold of an offer not yet made",
			func(fx idemFixture, k string) proto.Message {
				return &bookdv1.ExtendHoldRequest{HoldId: offerID(&bookdv1.WaitlistEntry{Id: fx.entry1}), Ttl: durationpb.New(time.Minute), IdempotencyKey: k}
			},
			fsm.CodeNotFound, "",
			func(h *harness, fx idemFixture) { h.cancel(fx.soldOutBooking) }}, // offers entry1 its hold
		{"Confirm of an offer not yet made",
			func(fx idemFixture, k string) proto.Message {
				return &bookdv1.ConfirmRequest{HoldId: offerID(&bookdv1.WaitlistEntry{Id: fx.entry1}), IdempotencyKey: k}
			},
			fsm.CodeNotFound, "",
			func(h *harness, fx idemFixture) { h.cancel(fx.soldOutBooking) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			fx := newIdemFixture(h)
			first := h.do(tt.req(fx, "k"))
			wantErr(t, first, tt.code, tt.reason)
			h.at(time.Second)
			tt.change(h, fx)
			h.at(2 * time.Second)
			feed := len(allChanges(t, h.f))
			again := h.do(tt.req(fx, "k"))
			if !sameResult(first, again) {
				t.Errorf("retry answered %v / %+v, want the first refusal %+v", again.Response, again.Err, first.Err)
			}
			if n := len(allChanges(t, h.f)); n != feed {
				t.Errorf("the retry added %d changes", n-feed)
			}
			// The same request under a new key now goes through.
			if res := h.do(tt.req(fx, "k2")); res.Err != nil {
				t.Errorf("the request under a new key is refused: %v", res.Err)
			}
		})
	}
}

// Keys are scoped per mutation and customer: two customers' requests under
// the same key are two requests, and so are one customer's requests of
// different mutations. For a mutation acting on a hold, booking or entry,
// the customer is that object's.
func TestIdempotencyKeysPerCustomer(t *testing.T) {
	h := newHarness(t)
	ev := h.createEvent(gaEvent(20)).GetId()
	full := h.createEvent(gaEvent(1)).GetId()
	h.book(bookFor(full, "carol", 1))
	const key = "same-key"
	ids := map[string][]string{}
	ttl := durationpb.New(time.Minute)
	for _, c := range []string{"alice", "bob"} {
		hold := holdFor(ev, c, 1, time.Minute)
		hold.IdempotencyKey = key
		hd := mustOK[*bookdv1.HoldResponse](t, h.do(hold)).GetHold()
		hold2 := holdFor(ev, c, 2, time.Minute)
		hd2 := h.hold(hold2)
		hd3 := h.hold(holdFor(ev, c, 3, time.Minute))
		book := bookFor(ev, c, 1)
		book.IdempotencyKey = key
		b := mustOK[*bookdv1.BookResponse](t, h.do(book)).GetBooking()
		join := &bookdv1.JoinWaitlistRequest{EventId: full, CustomerId: c, Quantity: 1, IdempotencyKey: key}
		e := mustOK[*bookdv1.JoinWaitlistResponse](t, h.do(join)).GetEntry()
		ext := mustOK[*bookdv1.ExtendHoldResponse](t, h.do(&bookdv1.ExtendHoldRequest{HoldId: hd.GetId(), Ttl: ttl, IdempotencyKey: key})).GetHold()
		conf := mustOK[*bookdv1.ConfirmResponse](t, h.do(&bookdv1.ConfirmRequest{HoldId: hd2.GetId(), IdempotencyKey: key})).GetBooking()
		rel := mustOK[*bookdv1.ReleaseHoldResponse](t, h.do(&bookdv1.ReleaseHoldRequest{HoldId: hd3.GetId(), IdempotencyKey: key})).GetHold()
		canc := mustOK[*bookdv1.CancelBookingResponse](t, h.do(&bookdv1.CancelBookingRequest{BookingId: b.GetId(), IdempotencyKey: key})).GetBooking()
		left := mustOK[*bookdv1.LeaveWaitlistResponse](t, h.do(&bookdv1.LeaveWaitlistRequest{EntryId: e.GetId(), IdempotencyKey: key})).GetEntry()
		ids[c] = []string{hd.GetId(), b.GetId(), e.GetId(), ext.GetId(), conf.GetId(), rel.GetId(), canc.GetId(), left.GetId()}
		for _, got := range []string{hd.GetCustomerId(), b.GetCustomerId(), e.GetCustomerId(), conf.GetCustomerId()} {
			if got != c {
				t.Errorf("%s's request under the shared key answered for %s", c, got)
			}
		}
	}
	for i := range ids["alice"] {
		if ids["alice"][i] == ids["bob"][i] {
			t.Errorf("mutation %d answered alice and bob with the same object %s", i, ids["alice"][i])
		}
	}
	// A follow-up's key is scoped to the object it acts on: another body
	// for the same hold under it is another request; any other hold's use
	// of it is a scope of its own.
	alice := ids["alice"][0]
	wantErr(t, h.do(&bookdv1.ExtendHoldRequest{HoldId: alice, Ttl: durationpb.New(2 * time.Minute), IdempotencyKey: key}), fsm.CodeAlreadyExists, fsm.ReasonKeyReused)
	alice2 := h.hold(holdFor(ev, "alice", 1, time.Minute)).GetId()
	mustOK[*bookdv1.ExtendHoldResponse](t, h.do(&bookdv1.ExtendHoldRequest{HoldId: alice2, Ttl: ttl, IdempotencyKey: key}))
}
