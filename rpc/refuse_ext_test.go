package rpc_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"connectrpc.com/connect"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/rpc/clustertest"
)

// first marks a write as never sent before.
func first(w *bookdv1.Write) *bookdv1.Write { w.FirstAttempt = true; return w }

// TestBatchWriteRefusesSoldInventoryWithoutTheLog checks the leader's early
// refusal of first attempts: seats already booked and GA events whose
// bookings sold them out are refused at once; the refusal is not recorded
// under the key (the key can book later); a key already used replays its
// answer; and a write not marked first goes through the log as before, its
// refusal recorded for good.
func TestBatchWriteRefusesSoldInventoryWithoutTheLog(t *testing.T) {
	c := clustertest.Start(t, 3, clustertest.Options{})
	leader := c.WaitReady()
	create := func(req *bookdv1.CreateEventRequest) *bookdv1.Event {
		t.Helper()
		resp, err := retry(context.Background(), func(ctx context.Context) (*bookdv1.CreateEventResponse, error) {
			return bookingClient(leader.RPCAddr).CreateEvent(ctx, req)
		})
		if err != nil {
			t.Fatalf("create event: %v", err)
		}
		return resp.GetEvent()
	}
	seated := create(&bookdv1.CreateEventRequest{Name: "seated", Seats: []string{"A1", "A2", "A3"}, IdempotencyKey: "seated"})
	ga := create(&bookdv1.CreateEventRequest{Name: "ga", Capacity: 2, IdempotencyKey: "ga"})
	book := func(key string, event string, qty int64, seats ...string) *bookdv1.Write {
		return bookW(&bookdv1.BookRequest{EventId: event, CustomerId: "c", Quantity: qty, Seats: seats, IdempotencyKey: key})
	}
	send := func(writes ...*bookdv1.Write) []*bookdv1.WriteResult {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		resp, err := bookingClient(c.Nodes[1].RPCAddr).BatchWrite(ctx, &bookdv1.BatchWriteRequest{Writes: writes})
		if err != nil {
			t.Fatalf("BatchWrite: %v", err)
		}
		return resp.GetResults()
	}
	taken := wantResult{code: connect.CodeFailedPrecondition, reason: "SEAT_TAKEN", prefix: "seat A1 of event"}
	soldOut := wantResult{code: connect.CodeFailedPrecondition, reason: "SOLD_OUT"}

	a1 := send(first(book("a1", seated.Id, 0, "A1")), first(book("g1", ga.Id, 2)))
	checkResults(t, a1, []wantResult{{ok: "book"}, {ok: "book"}})

	// Sold inventory, first attempts: refused.
	checkResults(t, send(first(book("late-a1", seated.Id, 0, "A1")), first(book("late-g", ga.Id, 1)), first(book("a2", seated.Id, 0, "A2"))),
		[]wantResult{taken, soldOut, {ok: "book"}})
	// The same keys and requests again, but as retries: the log answers,
	// and records the answer.
	checkResults(t, send(book("retry-a1", seated.Id, 0, "A1")), []wantResult{taken})
	// A used key replays its answer even when marked first.
	again := send(first(book("a1", seated.Id, 0, "A1")))
	checkResults(t, again, []wantResult{{ok: "book"}})
	if again[0].GetBook().GetBooking().GetId() != a1[0].GetBook().GetBooking().GetId() {
		t.Errorf("replay of key a1 answered booking %s, first answer was %s",
			again[0].GetBook().GetBooking().GetId(), a1[0].GetBook().GetBooking().GetId())
	}

	// Free A1: the early refusal of "late-a1" left its key unused, so it
	// books now; the recorded refusal of "retry-a1" stands.
	checkResults(t, send(cancelW(&bookdv1.CancelBookingRequest{BookingId: a1[0].GetBook().GetBooking().GetId(), IdempotencyKey: "cancel-a1"})),
		[]wantResult{{ok: "cancel_booking"}})
	checkResults(t, send(book("late-a1", seated.Id, 0, "A1"), book("retry-a1", seated.Id, 0, "A1")),
		[]wantResult{{ok: "book"}, taken})

	// What every node stores agrees with the answers: A1 (late-a1) and A2
	// booked, A3 free, GA sold out by g1 alone.
	for _, n := range c.Nodes {
		waitFor(t, func() bool {
			av, err := bookingClient(n.RPCAddr).GetAvailability(context.Background(), &bookdv1.GetAvailabilityRequest{EventId: seated.Id, Read: staleRead()})
			return err == nil && av.GetBookedSeats() == 2 && len(av.GetFreeSeats()) == 1 && av.GetFreeSeats()[0] == "A3"
		}, "node %s: seats A1 and A2 booked, A3 free", n.ID)
		waitFor(t, func() bool {
			av, err := bookingClient(n.RPCAddr).GetAvailability(context.Background(), &bookdv1.GetAvailabilityRequest{EventId: ga.Id, Read: staleRead()})
			return err == nil && av.GetBookedQuantity() == 2
		}, "node %s: 2 GA tickets booked", n.ID)
	}
}

// waitFor polls cond for up to 10 seconds.
func waitFor(t *testing.T, cond func() bool, format string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: "+format, args...)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestBatchWriteKeepsOrderWithCancellations: a claim after a cancellation in
// the same batch sees the cancellation, even as a first attempt.
func TestBatchWriteKeepsOrderWithCancellations(t *testing.T) {
	c := clustertest.Start(t, 3, clustertest.Options{})
	leader := c.WaitReady()
	ev := createEvent(t, leader.RPCAddr, 0, []string{"A1"})
	for round := range 10 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		key := func(s string) string { return fmt.Sprintf("%s-%d", s, round) }
		resp, err := bookingClient(leader.RPCAddr).BatchWrite(ctx, &bookdv1.BatchWriteRequest{Writes: []*bookdv1.Write{
			first(bookW(&bookdv1.BookRequest{EventId: ev.Id, CustomerId: "c", Seats: []string{"A1"}, IdempotencyKey: key("book")})),
		}})
		if err != nil {
			cancel()
			t.Fatalf("round %d: book: %v", round, err)
		}
		booking := resp.GetResults()[0].GetBook().GetBooking()
		if booking == nil {
			cancel()
			t.Fatalf("round %d: A1 is free, booking it answered %v", round, resp.GetResults()[0])
		}
		resp, err = bookingClient(leader.RPCAddr).BatchWrite(ctx, &bookdv1.BatchWriteRequest{Writes: []*bookdv1.Write{
			cancelW(&bookdv1.CancelBookingRequest{BookingId: booking.GetId(), IdempotencyKey: key("cancel")}),
			first(bookW(&bookdv1.BookRequest{EventId: ev.Id, CustomerId: "d", Seats: []string{"A1"}, IdempotencyKey: key("rebook")})),
			cancelW(&bookdv1.CancelBookingRequest{BookingId: booking.GetId(), IdempotencyKey: key("cancel")}),
		}})
		cancel()
		if err != nil {
			t.Fatalf("round %d: cancel and rebook: %v", round, err)
		}
		checkResults(t, resp.GetResults()[:2], []wantResult{{ok: "cancel_booking"}, {ok: "book"}})
		rebooked := resp.GetResults()[1].GetBook().GetBooking()
		ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
		_, err = bookingClient(leader.RPCAddr).CancelBooking(ctx, &bookdv1.CancelBookingRequest{BookingId: rebooked.GetId(), IdempotencyKey: key("free")})
		cancel()
		if err != nil {
			t.Fatalf("round %d: free A1 again: %v", round, err)
		}
	}
}
