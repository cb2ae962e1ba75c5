package rpc_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/rpc"
	"github.com/bookd/bookd/rpc/clustertest"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Write constructors, so that the tables below read as the requests they are.
func bookW(r *bookdv1.BookRequest) *bookdv1.Write {
	return &bookdv1.Write{Op: &bookdv1.Write_Book{Book: r}}
}

func holdW(r *bookdv1.HoldRequest) *bookdv1.Write {
	return &bookdv1.Write{Op: &bookdv1.Write_Hold{Hold: r}}
}

func confirmW(r *bookdv1.ConfirmRequest) *bookdv1.Write {
	return &bookdv1.Write{Op: &bookdv1.Write_Confirm{Confirm: r}}
}

func releaseW(r *bookdv1.ReleaseHoldRequest) *bookdv1.Write {
	return &bookdv1.Write{Op: &bookdv1.Write_ReleaseHold{ReleaseHold: r}}
}

func cancelW(r *bookdv1.CancelBookingRequest) *bookdv1.Write {
	return &bookdv1.Write{Op: &bookdv1.Write_CancelBooking{CancelBooking: r}}
}

// wantResult is what one write of a batch must come back as: a response of
// the kind named by ok ("book", "hold", ...), or an error with code, reason
// and a message starting with prefix.
type wantResult struct {
	ok     string
	code   connect.Code
	reason string
	prefix string
}

func resultKind(r *bookdv1.WriteResult) string {
	switch r.GetResult().(type) {
	case *bookdv1.WriteResult_Hold:
		return "hold"
	case *bookdv1.WriteResult_Confirm:
		return "confirm"
	case *bookdv1.WriteResult_ReleaseHold:
		return "release_hold"
	case *bookdv1.WriteResult_Book:
		return "book"
	case *bookdv1.WriteResult_CancelBooking:
		return "cancel_booking"
	case *bookdv1.WriteResult_Error:
		return "error"
	}
	return fmt.Sprintf("%T", r.GetResult())
}

// checkResults asserts that results answer the writes one for one, in order,
// as want says.
func checkResults(t *testing.T, results []*bookdv1.WriteResult, want []wantResult) {
	t.Helper()
	if len(results) != len(want) {
		t.Fatalf("got %d results for %d writes", len(results), len(want))
	}
	for i, w := range want {
		r := results[i]
		if w.ok != "" {
			if got := resultKind(r); got != w.ok {
				t.Errorf("writes[%d]: got %s result %v, want a %s response", i, got, prototext.Format(r), w.ok)
			}
			continue
		}
		e := r.GetError()
		if e == nil {
			t.Errorf("writes[%d]: got %s result %v, want a %v error", i, resultKind(r), prototext.Format(r), w.code)
			continue
		}
		if e.Code != w.code.String() || e.Reason != w.reason || !strings.HasPrefix(e.Message, w.prefix) {
			t.Errorf("writes[%d]: got error {code %q reason %q message %q}, want {code %q reason %q message starting %q}",
				i, e.Code, e.Reason, e.Message, w.code.String(), w.reason, w.prefix)
		}
	}
}

// sendBatch sends writes to addr as a client should: the whole call again
// while its outcome is unknown, and then, with the same idempotency keys,
// every write whose own result is UNAVAILABLE (or otherwise unknown), until
// each write has a definite result. Results are in the order of writes.
func sendBatch(ctx context.Context, addr string, writes []*bookdv1.Write) ([]*bookdv1.WriteResult, error) {
	results := make([]*bookdv1.WriteResult, len(writes))
	pending := make([]int, len(writes)) // indexes into writes still to send
	for i := range pending {
		pending[i] = i
	}
	for len(pending) > 0 {
		req := &bookdv1.BatchWriteRequest{}
		for _, i := range pending {
			req.Writes = append(req.Writes, writes[i])
		}
		resp, err := retry(ctx, func(ctx context.Context) (*bookdv1.BatchWriteResponse, error) {
			return bookingClient(addr).BatchWrite(ctx, req)
		})
		if err != nil {
			return nil, err
		}
		if len(resp.Results) != len(pending) {
			return nil, fmt.Errorf("%d results for %d writes", len(resp.Results), len(pending))
		}
		var again []int
		for j, i := range pending {
			r := resp.Results[j]
			if e := r.GetError(); e != nil && unknownCode(e.Code) {
				again = append(again, i)
				continue
			}
			results[i] = r
		}
		if len(again) > 0 {
			select {
			case <-ctx.Done():
				return nil, fmt.Errorf("writes %v: outcome still unknown: %w", again, ctx.Err())
			case <-time.After(50 * time.Millisecond):
			}
		}
		pending = again
	}
	return results, nil
}

func unknownCode(name string) bool {
	for _, c := range []connect.Code{connect.CodeUnavailable, connect.CodeDeadlineExceeded, connect.CodeCanceled, connect.CodeUnknown} {
		if name == c.String() {
			return true
		}
	}
	return false
}

func batchWrite(t *testing.T, addr string, writes []*bookdv1.Write) []*bookdv1.WriteResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	results, err := sendBatch(ctx, addr, writes)
	if err != nil {
		t.Fatalf("BatchWrite of %d writes to %s: %v", len(writes), addr, err)
	}
	return results
}

func followerOf(c *clustertest.Cluster) *clustertest.Node {
	leader := c.WaitReady()
	for _, nd := range c.Running() {
		if nd != leader {
			return nd
		}
	}
	panic("no follower")
}

// A batch sent to a follower is forwarded whole, and each write gets the
// outcome the single call would have had, in request order: GA books in
// order until the event sells out (then SOLD_OUT), a seat book, refusals of
// unknown seats, events and holds, validation errors naming
// writes[i].<field>, a key repeated inside the batch (same request: the
// same booking, made once; another request: IDEMPOTENCY_KEY_REUSED), and
// the key and request of an earlier single Book call (its booking, not
// another). A hold made in one batch is confirmed in the next. The event's
// availability on every node is exactly what the successful results add up
// to; sending both batches again (to the follower and to the leader)
// returns the same results and changes nothing; and a node that was down
// meanwhile catches up on the batch entries to the same state, where every
// object the batches made reads back by its id.
func TestBatchWriteThroughFollower(t *testing.T) {
	c := clustertest.Start(t, 3, clustertest.Options{})
	follower := followerOf(c)
	leader := c.WaitReady()
	ev := createEvent(t, follower.RPCAddr, 5, seatLabels(3)) // 5 GA tickets, seats A1-A3
	// The third node misses the batches, and catches up on them at the end.
	var third *clustertest.Node
	for _, nd := range c.Nodes {
		if nd != leader && nd != follower {
			third = nd
		}
	}
	c.Stop(third)
	// A single Book call, whose request comes again in the batch.
	single := &bookdv1.BookRequest{EventId: ev.Id, CustomerId: "single", Seats: []string{"A3"}, IdempotencyKey: "single-18"}
	singleResp, err := retry(context.Background(), func(ctx context.Context) (*bookdv1.BookResponse, error) {
		return bookingClient(follower.RPCAddr).Book(ctx, single)
	})
	if err != nil {
		t.Fatalf("single Book: %v", err)
	}
	ga := func(key string, q int64) *bookdv1.Write {
		return bookW(&bookdv1.BookRequest{EventId: ev.Id, CustomerId: "cust-" + key, Quantity: q, IdempotencyKey: key, PaymentRef: "pay"})
	}
	first := []*bookdv1.Write{
		/* 0*/ ga("ga-0", 2),
		/* 1*/ {}, // no op
		/* 2*/ ga("ga-2", 2),
		/* 3*/ bookW(&bookdv1.BookRequest{EventId: ev.Id, CustomerId: "seat", Seats: []string{"A1"}, IdempotencyKey: "seat-3"}),
		/* 4*/ bookW(&bookdv1.BookRequest{EventId: ev.Id, CustomerId: "seat", Seats: []string{"Z9"}, IdempotencyKey: "unknown-seat-4"}),
		/* 5*/ bookW(&bookdv1.BookRequest{EventId: ev.Id, CustomerId: "c", Quantity: 0, IdempotencyKey: "zero-5"}),
		/* 6*/ holdW(&bookdv1.HoldRequest{EventId: ev.Id, CustomerId: "holder", Seats: []string{"A2"}, Ttl: durationpb.New(10 * time.Minute), IdempotencyKey: "hold-6"}),
		/* 7*/ ga("ga-7", 1), // the last ticket
		/* 8*/ ga("ga-8", 1),
		/* 9*/ ga("ga-9", 1),
		/*10*/ bookW(&bookdv1.BookRequest{EventId: ev.Id, Quantity: 1, IdempotencyKey: "no-customer-10"}),
		/*11*/ bookW(&bookdv1.BookRequest{EventId: ev.Id, CustomerId: "c", Seats: []string{"A3", "A3"}, IdempotencyKey: "dup-seat-11"}),
		/*12*/ ga("ga-0", 2), // write 0 again: its booking, not another
		/*13*/ ga("ga-0", 1), // write 0's key with another request
		/*14*/ bookW(&bookdv1.BookRequest{EventId: "ev_999999", CustomerId: "c", Quantity: 1, IdempotencyKey: "no-event-14"}),
		/*15*/ confirmW(&bookdv1.ConfirmRequest{HoldId: "hd_999999", IdempotencyKey: "no-hold-15"}),
		/*16*/ cancelW(&bookdv1.CancelBookingRequest{BookingId: "xyz", IdempotencyKey: "bad-id-16"}),
		/*17*/ holdW(&bookdv1.HoldRequest{EventId: ev.Id, CustomerId: "c", Quantity: 1, Ttl: durationpb.New(48 * time.Hour)}),
		/*18*/ bookW(single), // the single call's booking, not another
		/*19*/ bookW(&bookdv1.BookRequest{}),
	}
	wantFirst := []wantResult{
		/* 0*/ {ok: "book"},
		/* 1*/ {code: connect.CodeInvalidArgument, prefix: "writes[1].op:"},
		/* 2*/ {ok: "book"},
		/* 3*/ {ok: "book"},
		/* 4*/ {code: connect.CodeInvalidArgument, reason: "UNKNOWN_SEAT"},
		/* 5*/ {code: connect.CodeInvalidArgument, prefix: "writes[5].quantity:"},
		/* 6*/ {ok: "hold"},
		/* 7*/ {ok: "book"},
		/* 8*/ {code: connect.CodeFailedPrecondition, reason: "SOLD_OUT"},
		/* 9*/ {code: connect.CodeFailedPrecondition, reason: "SOLD_OUT"},
		/*10*/ {code: connect.CodeInvalidArgument, prefix: "writes[10].customer_id:"},
		/*11*/ {code: connect.CodeInvalidArgument, prefix: "writes[11].seats[1]:"},
		/*12*/ {ok: "book"},
		/*13*/ {code: connect.CodeAlreadyExists, reason: "IDEMPOTENCY_KEY_REUSED"},
		/*14*/ {code: connect.CodeNotFound},
		/*15*/ {code: connect.CodeNotFound},
		/*16*/ {code: connect.CodeInvalidArgument, prefix: "writes[16].booking_id:"},
		/*17*/ {code: connect.CodeInvalidArgument, prefix: "writes[17].ttl:"},
		/*18*/ {ok: "book"},
		/*19*/ {code: connect.CodeInvalidArgument, prefix: "writes[19].event_id:"},
	}
	r1 := batchWrite(t, follower.RPCAddr, first)
	checkResults(t, r1, wantFirst)
	if t.Failed() {
		t.FailNow()
	}
	if !proto.Equal(r1[12], r1[0]) {
		t.Errorf("a write repeated in its batch booked again: writes[12] = %v, writes[0] = %v", r1[12], r1[0])
	}
	for _, i := range []int{0, 2, 7} {
		if b := r1[i].GetBook().GetBooking(); b.GetQuantity() != first[i].GetBook().Quantity || len(b.GetSeats()) != 0 {
			t.Errorf("writes[%d] booked %v, want %d GA tickets", i, b, first[i].GetBook().Quantity)
		}
	}
	if b := r1[3].GetBook().GetBooking(); !slices.Equal(b.GetSeats(), []string{"A1"}) {
		t.Errorf("writes[3] booked %v, want seat A1", b)
	}
	if !proto.Equal(r1[18].GetBook(), singleResp) {
		t.Errorf("a batch write with a single call's key and request booked again: %v, the single call got %v", r1[18], singleResp)
	}

	hold := r1[6].GetHold().GetHold()
	second := []*bookdv1.Write{
		confirmW(&bookdv1.ConfirmRequest{HoldId: hold.GetId(), PaymentRef: "pay-h", IdempotencyKey: "confirm-0"}),
		cancelW(&bookdv1.CancelBookingRequest{BookingId: r1[2].GetBook().GetBooking().GetId(), IdempotencyKey: "cancel-1"}),
		confirmW(&bookdv1.ConfirmRequest{HoldId: hold.GetId(), PaymentRef: "pay-h", IdempotencyKey: "confirm-again-2"}),
		releaseW(&bookdv1.ReleaseHoldRequest{HoldId: hold.GetId(), IdempotencyKey: "release-3"}),
	}
	r2 := batchWrite(t, follower.RPCAddr, second)
	checkResults(t, r2, []wantResult{
		{ok: "confirm"},
		{ok: "cancel_booking"},
		{code: connect.CodeFailedPrecondition, reason: "HOLD_CONFIRMED"},
		{code: connect.CodeFailedPrecondition, reason: "HOLD_CONFIRMED"},
	})
	if t.Failed() {
		t.FailNow()
	}
	if b := r2[0].GetConfirm().GetBooking(); b.GetHoldId() != hold.GetId() || !slices.Equal(b.GetSeats(), []string{"A2"}) {
		t.Errorf("confirm of %s booked %v", hold.GetId(), b)
	}

	// What the results add up to: every booking acknowledged, less the
	// cancelled one.
	live := map[string]*bookdv1.Booking{}
	for _, r := range append(slices.Clone(r1), r2...) {
		if b := r.GetBook().GetBooking(); b != nil {
			live[b.Id] = b
		}
		if b := r.GetConfirm().GetBooking(); b != nil {
			live[b.Id] = b
		}
	}
	for _, r := range r2 {
		if b := r.GetCancelBooking().GetBooking(); b != nil {
			delete(live, b.Id)
		}
	}
	var wantGA int64
	var wantSeats []string
	for _, b := range live {
		if len(b.Seats) == 0 {
			wantGA += b.Quantity
		}
		wantSeats = append(wantSeats, b.Seats...)
	}
	slices.Sort(wantSeats)
	if wantGA != 3 || !slices.Equal(wantSeats, []string{"A1", "A2", "A3"}) {
		t.Fatalf("the results acknowledge %d GA tickets and seats %v; the writes should have sold 3 and [A1 A2 A3]", wantGA, wantSeats)
	}

	checkState := func(when string) *bookdv1.GetAvailabilityResponse {
		t.Helper()
		c.WaitConverged()
		var first *bookdv1.GetAvailabilityResponse
		for _, nd := range c.Running() {
			av, err := bookingClient(nd.RPCAddr).GetAvailability(context.Background(), &bookdv1.GetAvailabilityRequest{EventId: ev.Id, Read: staleRead()})
			if err != nil {
				t.Fatalf("%s: %s: availability: %v", when, nd.ID, err)
			}
			if av.BookedQuantity != wantGA || av.HeldQuantity != 0 || av.AvailableQuantity != ev.Capacity-wantGA ||
				av.BookedSeats != int64(len(wantSeats)) || av.HeldSeats != 0 || len(av.FreeSeats) != 0 {
				t.Errorf("%s: %s: availability %v; the results say %d GA booked, %d free, seats %v booked, none free, nothing held",
					when, nd.ID, prototext.Format(av), wantGA, ev.Capacity-wantGA, wantSeats)
			}
			if first == nil {
				first = av
			}
		}
		bl, err := retry(context.Background(), func(ctx context.Context) (*bookdv1.ListBookingsResponse, error) {
			return bookingClient(follower.RPCAddr).ListBookings(ctx, &bookdv1.ListBookingsRequest{EventId: ev.Id, PageSize: 1000})
		})
		if err != nil {
			t.Fatalf("%s: list bookings: %v", when, err)
		}
		confirmed := 0
		for _, b := range bl.Bookings {
			if b.Status != bookdv1.BookingStatus_BOOKING_STATUS_CONFIRMED {
				continue
			}
			confirmed++
			if _, ok := live[b.Id]; !ok {
				t.Errorf("%s: the event has booking %v that no result acknowledged", when, b)
			}
		}
		if confirmed != len(live) {
			t.Errorf("%s: the event has %d confirmed bookings, the results acknowledge %d", when, confirmed, len(live))
		}
		return first
	}
	before := checkState("after both batches")

	// Replays: the same batches, to the follower and to the leader.
	for _, nd := range []*clustertest.Node{follower, leader} {
		for b, batch := range []struct {
			writes []*bookdv1.Write
			want   []*bookdv1.WriteResult
		}{{first, r1}, {second, r2}} {
			got := batchWrite(t, nd.RPCAddr, batch.writes)
			for i := range batch.want {
				if i >= len(got) || !proto.Equal(got[i], batch.want[i]) {
					var g *bookdv1.WriteResult
					if i < len(got) {
						g = got[i]
					}
					t.Errorf("replay of batch %d to %s: writes[%d] = %v, first sent: %v", b+1, nd.ID, i, prototext.Format(g), prototext.Format(batch.want[i]))
				}
			}
		}
	}
	after := checkState("after the replays")
	if after.AvailableQuantity != before.AvailableQuantity || after.BookedQuantity != before.BookedQuantity ||
		!slices.Equal(after.FreeSeats, before.FreeSeats) || after.BookedSeats != before.BookedSeats {
		t.Errorf("the replays changed availability from %v to %v", prototext.Format(before), prototext.Format(after))
	}

	// The third node applies the batch entries as it catches up (several
	// in one go) and ends with the same state; every object the batches
	// created reads back by its id on every node, and a replay sent to the
	// third node answers the same.
	c.Restart(third)
	c.WaitConverged()
	for _, nd := range c.Running() {
		cl := bookingClient(nd.RPCAddr)
		for id, want := range live {
			got, err := cl.GetBooking(context.Background(), &bookdv1.GetBookingRequest{BookingId: id, Read: staleRead()})
			if err != nil || !proto.Equal(got.GetBooking(), want) {
				t.Errorf("%s: GetBooking(%s) = %v, %v; acknowledged %v", nd.ID, id, got.GetBooking(), err, want)
			}
		}
		h, err := cl.GetHold(context.Background(), &bookdv1.GetHoldRequest{HoldId: hold.GetId(), Read: staleRead()})
		if err != nil || h.GetHold().GetStatus() != bookdv1.HoldStatus_HOLD_STATUS_CONFIRMED || h.GetHold().GetBookingId() != r2[0].GetConfirm().GetBooking().GetId() {
			t.Errorf("%s: GetHold(%s) = %v, %v; want it confirmed as %s", nd.ID, hold.GetId(), h.GetHold(), err, r2[0].GetConfirm().GetBooking().GetId())
		}
	}
	if got := batchWrite(t, third.RPCAddr, first); !slices.EqualFunc(got, r1, func(a, b *bookdv1.WriteResult) bool { return proto.Equal(a, b) }) {
		t.Errorf("replay to %s after it caught up answered differently", third.ID)
	}
}

// The size limits hold for the whole call, on a follower (before it
// forwards) as on the leader: no writes or more than rpc.MaxBatchWrites are
// INVALID_ARGUMENT for the call and change nothing; exactly MaxBatchWrites
// writes are accepted, answered one for one in order (the last GA ticket
// goes to the first write asking for it, and later ones are SOLD_OUT), and
// error messages carry their write's index.
func TestBatchWriteLimits(t *testing.T) {
	c := clustertest.Start(t, 3, clustertest.Options{})
	leader, follower := c.WaitReady(), followerOf(c)
	ev := createEvent(t, leader.RPCAddr, rpc.MaxBatchWrites-2, nil)
	books := func(n int, prefix string) []*bookdv1.Write {
		w := make([]*bookdv1.Write, n)
		for i := range w {
			w[i] = bookW(&bookdv1.BookRequest{EventId: ev.Id, CustomerId: "c", Quantity: 1, IdempotencyKey: prefix + itoa(i)})
		}
		return w
	}
	for _, tt := range []struct {
		name   string
		node   *clustertest.Node
		writes []*bookdv1.Write
	}{
		{"empty to follower", follower, nil},
		{"empty to leader", leader, []*bookdv1.Write{}},
		{"1001 to follower", follower, books(rpc.MaxBatchWrites+1, "over-f-")},
		{"1001 to leader", leader, books(rpc.MaxBatchWrites+1, "over-l-")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := bookingClient(tt.node.RPCAddr).BatchWrite(context.Background(), &bookdv1.BatchWriteRequest{Writes: tt.writes})
			if codeOf(err) != connect.CodeInvalidArgument || !strings.Contains(err.Error(), "writes") {
				t.Fatalf("BatchWrite of %d writes: err = %v, want INVALID_ARGUMENT naming writes", len(tt.writes), err)
			}
		})
	}
	c.WaitConverged()
	av, err := bookingClient(leader.RPCAddr).GetAvailability(context.Background(), &bookdv1.GetAvailabilityRequest{EventId: ev.Id, Read: staleRead()})
	if err != nil {
		t.Fatal(err)
	}
	if av.BookedQuantity != 0 {
		t.Fatalf("refused batches booked %d tickets", av.BookedQuantity)
	}

	t.Run("all invalid", func(t *testing.T) {
		results := batchWrite(t, follower.RPCAddr, []*bookdv1.Write{{}, bookW(&bookdv1.BookRequest{EventId: ev.Id, Quantity: 1}), confirmW(&bookdv1.ConfirmRequest{HoldId: "hd_0"})})
		checkResults(t, results, []wantResult{
			{code: connect.CodeInvalidArgument, prefix: "writes[0].op:"},
			{code: connect.CodeInvalidArgument, prefix: "writes[1].customer_id:"},
			{code: connect.CodeInvalidArgument, prefix: "writes[2].hold_id:"},
		})
	})

	t.Run("1000 to follower", func(t *testing.T) {
		writes := books(rpc.MaxBatchWrites, "max-")
		writes[500] = &bookdv1.Write{} // an invalid write deep in the batch
		results := batchWrite(t, follower.RPCAddr, writes)
		want := make([]wantResult, len(writes))
		for i := range want {
			want[i] = wantResult{ok: "book"}
		}
		want[500] = wantResult{code: connect.CodeInvalidArgument, prefix: "writes[500].op:"}
		// 998 tickets for 999 valid writes: the last one misses out.
		want[len(want)-1] = wantResult{code: connect.CodeFailedPrecondition, reason: "SOLD_OUT"}
		checkResults(t, results, want)
		ids := map[string]int{}
		for i, r := range results {
			if b := r.GetBook().GetBooking(); b != nil {
				if j, dup := ids[b.Id]; dup {
					t.Errorf("writes[%d] and writes[%d] both got booking %s", j, i, b.Id)
				}
				ids[b.Id] = i
			}
		}
		av, err := retry(context.Background(), func(ctx context.Context) (*bookdv1.GetAvailabilityResponse, error) {
			return bookingClient(follower.RPCAddr).GetAvailability(ctx, &bookdv1.GetAvailabilityRequest{EventId: ev.Id})
		})
		if err != nil {
			t.Fatal(err)
		}
		if av.BookedQuantity != int64(len(ids)) || av.AvailableQuantity != 0 {
			t.Errorf("availability %v after %d acknowledged bookings of 1 ticket", prototext.Format(av), len(ids))
		}
	})
}

// Batches racing through every node (and single calls racing with them) for
// the same seats and GA tickets never oversell: each seat and ticket is
// acknowledged to exactly one write, every other write is refused with
// SEAT_TAKEN or SOLD_OUT, and every node stores exactly what the results
// acknowledged.
func TestBatchWriteConcurrentBatchesNeverOversell(t *testing.T) {
	c := clustertest.Start(t, 3, clustertest.Options{})
	ev := createEvent(t, c.Nodes[0].RPCAddr, 30, seatLabels(10))
	const senders, perBatch, singles = 9, 20, 3
	l := &ledger{bookings: map[string]*bookdv1.Booking{}}
	var wg sync.WaitGroup
	errs := make(chan error, senders*perBatch+singles*len(ev.Seats))
	// Single calls race with the batches for the same seats.
	for s := range singles {
		wg.Go(func() {
			for i := range ev.Seats {
				req := &bookdv1.BookRequest{EventId: ev.Id, CustomerId: fmt.Sprintf("single%d", s), IdempotencyKey: fmt.Sprintf("single%d-%d", s, i),
					Seats: []string{ev.Seats[(i+3*s)%len(ev.Seats)]}}
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				resp, err := retry(ctx, func(ctx context.Context) (*bookdv1.BookResponse, error) {
					return bookingClient(c.Nodes[(s+i)%len(c.Nodes)].RPCAddr).Book(ctx, req)
				})
				cancel()
				switch {
				case err == nil:
					l.add(resp.Booking)
				case codeOf(err) != connect.CodeFailedPrecondition:
					errs <- fmt.Errorf("single %d: Book %v: %v", s, req.Seats, err)
				}
			}
		})
	}
	for s := range senders {
		wg.Go(func() {
			nd := c.Nodes[s%len(c.Nodes)]
			writes := make([]*bookdv1.Write, perBatch)
			for i := range writes {
				r := &bookdv1.BookRequest{EventId: ev.Id, CustomerId: fmt.Sprintf("s%d", s), IdempotencyKey: fmt.Sprintf("s%d-w%d", s, i)}
				if i%2 == 0 {
					r.Seats = []string{ev.Seats[(i/2+s)%len(ev.Seats)]}
				} else {
					r.Quantity = 1 + int64(i%3)
				}
				writes[i] = bookW(r)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			results, err := sendBatch(ctx, nd.RPCAddr, writes)
			if err != nil {
				errs <- fmt.Errorf("sender %d: %v", s, err)
				return
			}
			for i, r := range results {
				switch e := r.GetError(); {
				case r.GetBook() != nil:
					b := r.GetBook().GetBooking()
					if b.GetCustomerId() != writes[i].GetBook().CustomerId || !slices.Equal(b.GetSeats(), writes[i].GetBook().Seats) {
						errs <- fmt.Errorf("sender %d: writes[%d] = %v answered with booking %v", s, i, writes[i], b)
					}
					l.add(b)
				case e != nil && e.Code == connect.CodeFailedPrecondition.String() && (e.Reason == "SEAT_TAKEN" || e.Reason == "SOLD_OUT"):
				default:
					errs <- fmt.Errorf("sender %d: writes[%d]: unexpected result %v", s, i, r)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	checkLedger(t, c, ev, l)
	seats := 0
	var ga int64
	for _, b := range l.bookings {
		seats += len(b.Seats)
		if len(b.Seats) == 0 {
			ga += b.Quantity
		}
	}
	if seats != len(ev.Seats) {
		t.Errorf("%d of %d seats acknowledged; every seat was asked for", seats, len(ev.Seats))
	}
	if ga > ev.Capacity || ga < ev.Capacity-2 {
		t.Errorf("%d of %d GA tickets acknowledged; the writes ask for far more", ga, ev.Capacity)
	}
}
