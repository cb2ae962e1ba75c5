package payments

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/bookd/bookd/client"
	"github.com/bookd/bookd/cmd/bookd/workerr"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/proto/bookd/v1/bookdv1connect"
	"github.com/bookd/bookd/rpc/clustertest"
)

// queueRun receives a queue's messages, hands each to handle, and acks it,
// nacks it, or (a workerr.Permanent error) dead-letters it, as the worker
// runtime does, until done says so.
type queueRun struct {
	t     *testing.T
	q     bookdv1connect.QueueServiceClient
	queue string

	mu   sync.Mutex
	keys map[string]string // change kind + booking or hold → message key
}

func (r *queueRun) until(ctx context.Context, handle func(context.Context, *bookdv1.QueueMessage) error, done func() bool) {
	r.t.Helper()
	for !done() {
		if ctx.Err() != nil {
			r.t.Fatalf("queue %s: gave up waiting: %v", r.queue, ctx.Err())
		}
		resp, err := r.q.Receive(ctx, &bookdv1.ReceiveRequest{Queue: r.queue, Max: 10,
			Visibility: durationpb.New(30 * time.Second), WaitTime: durationpb.New(200 * time.Millisecond)})
		if err != nil {
			r.t.Fatalf("receive: %v", err)
		}
		for _, m := range resp.GetMessages() {
			r.mu.Lock()
			r.keys[m.GetChange().GetKind()+" "+m.GetChange().GetHoldId()] = m.GetKey()
			r.mu.Unlock()
			if err := handle(ctx, m); err != nil {
				r.t.Logf("message %s (%s): %v", m.GetId(), m.GetChange().GetKind(), err)
				if _, err := r.q.Nack(ctx, &bookdv1.NackRequest{Queue: r.queue, LeaseId: m.GetLeaseId(), Error: err.Error(), GiveUp: workerr.IsPermanent(err)}); err != nil {
					r.t.Fatalf("nack: %v", err)
				}
				continue
			}
			if _, err := r.q.Ack(ctx, &bookdv1.AckRequest{Queue: r.queue, LeaseIds: []string{m.GetLeaseId()}}); err != nil {
				r.t.Fatalf("ack: %v", err)
			}
		}
	}
}

func (r *queueRun) key(kind, hold string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.keys[kind+" "+hold]
}

func (r *queueRun) stats(ctx context.Context) *bookdv1.QueueStats {
	r.t.Helper()
	q, err := r.q.GetQueue(ctx, &bookdv1.GetQueueRequest{Queue: r.queue})
	if err != nil {
		r.t.Fatal(err)
	}
	return q.GetQueue().GetStats()
}

// The payments worker over a real cluster and queue, against stripe-mock
// or the recorded fake (the log says which): a confirmed hold's intent is
// captured once per message key; a stranger whose payment_ref names
// another hold's intent captures nothing and ends in the dead letters; a
// cancelled booking is refunded; a released hold's intent is cancelled.
func TestPaymentsWorker(t *testing.T) {
	stripeAPI := startStripe(t)
	c := clustertest.Start(t, 3, clustertest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cl, err := client.New(c.Endpoints())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	qc := bookdv1connect.NewQueueServiceClient(http.DefaultClient, "http://"+c.WaitReady().RPCAddr)
	if _, err := qc.CreateQueue(ctx, &bookdv1.CreateQueueRequest{Queue: &bookdv1.Queue{Name: "payments", Kinds: Kinds,
		Ordering: bookdv1.QueueOrdering_QUEUE_ORDERING_BY_BOOKING, MaxAttempts: 5,
		RetryMin: durationpb.New(100 * time.Millisecond), RetryMax: durationpb.New(time.Second)}}); err != nil {
		t.Fatal(err)
	}
	ev, err := cl.CreateEvent(ctx, &bookdv1.CreateEventRequest{Name: "Harbour tour", Capacity: 10})
	if err != nil {
		t.Fatal(err)
	}
	w := &Worker{Stripe: NewStripe("sk_test_bookd", stripeAPI.URL, nil)}
	run := &queueRun{t: t, q: qc, queue: "payments", keys: map[string]string{}}
	// Every message is handled twice, as if its first ack were lost: the
	// second must change nothing at Stripe.
	twice := func(ctx context.Context, m *bookdv1.QueueMessage) error {
		if err := w.Handle(ctx, m); err != nil {
			return err
		}
		return w.Handle(ctx, m)
	}

	// Alice's hold names her intent; confirming it captures the intent.
	const alicePI = "pi_AliceHarbour1"
	alice, err := cl.Hold(ctx, &bookdv1.HoldRequest{EventId: ev.GetId(), CustomerId: "alice", Quantity: 2, PaymentRef: alicePI})
	if err != nil {
		t.Fatal(err)
	}
	stripeAPI.Intent(alicePI, "requires_capture", alice.GetId())
	bk, err := cl.Confirm(ctx, &bookdv1.ConfirmRequest{HoldId: alice.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	capturePath := "/v1/payment_intents/" + alicePI + "/capture"
	run.until(ctx, twice, func() bool { return len(stripeAPI.Posts(capturePath)) > 0 && run.stats(ctx).GetDepth() == 0 })
	key := run.key(KindConfirmed, alice.GetId())
	captures := stripeAPI.Posts(capturePath)
	for _, c := range captures {
		if c.IdempotencyKey != "bookd:"+key+":capture" {
			t.Errorf("capture sent Idempotency-Key %q, want bookd:%s:capture", c.IdempotencyKey, key)
		}
	}
	if stripeAPI.Name == "recorded fake" && len(captures) != 1 {
		t.Errorf("the intent was asked to capture %d times, want once (the second handling sees it captured)", len(captures))
	}

	// Mallory's hold names Alice's intent: nothing is captured, and the
	// message is dead-lettered with the reason.
	mallory, err := cl.Hold(ctx, &bookdv1.HoldRequest{EventId: ev.GetId(), CustomerId: "mallory", Quantity: 1, PaymentRef: alicePI})
	if err != nil {
		t.Fatal(err)
	}
	mbk, err := cl.Confirm(ctx, &bookdv1.ConfirmRequest{HoldId: mallory.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	run.until(ctx, twice, func() bool { return run.stats(ctx).GetDeadLetters() == 1 })
	if n := len(stripeAPI.Posts(capturePath)); n != len(captures) {
		t.Errorf("the stranger's booking captured Alice's intent (%d captures, want %d)", n, len(captures))
	}
	dead, err := qc.ListDeadLetters(ctx, &bookdv1.ListDeadLettersRequest{Queue: "payments"})
	if err != nil {
		t.Fatal(err)
	}
	if len(dead.GetMessages()) != 1 || dead.GetMessages()[0].GetChange().GetBookingId() != mbk.GetId() ||
		!strings.Contains(dead.GetMessages()[0].GetLastError(), MetadataHoldID) || !strings.Contains(dead.GetMessages()[0].GetLastError(), mallory.GetId()) {
		t.Fatalf("dead letters %v, want Mallory's booking %s refused for its intent's %s", dead.GetMessages(), mbk.GetId(), MetadataHoldID)
	}

	// Alice cancels: her captured intent is refunded, once per key.
	stripeAPI.Intent(alicePI, "succeeded", alice.GetId())
	if _, err := cl.CancelBooking(ctx, &bookdv1.CancelBookingRequest{BookingId: bk.GetId()}); err != nil {
		t.Fatal(err)
	}
	run.until(ctx, twice, func() bool { return len(stripeAPI.Posts("/v1/refunds")) > 0 && run.stats(ctx).GetDepth() == 0 })
	key = run.key(KindCancelled, alice.GetId())
	refunds := stripeAPI.Posts("/v1/refunds")
	for _, c := range refunds {
		if c.IdempotencyKey != "bookd:"+key+":refund" || c.Form.Get("payment_intent") != alicePI {
			t.Errorf("refund %+v, want payment_intent %s with Idempotency-Key bookd:%s:refund", c, alicePI, key)
		}
	}

	// Carol lets her hold go: her intent's authorisation is cancelled.
	const carolPI = "pi_CarolHarbour1"
	carol, err := cl.Hold(ctx, &bookdv1.HoldRequest{EventId: ev.GetId(), CustomerId: "carol", Quantity: 1, PaymentRef: carolPI})
	if err != nil {
		t.Fatal(err)
	}
	stripeAPI.Intent(carolPI, "requires_capture", carol.GetId())
	if _, err := cl.ReleaseHold(ctx, &bookdv1.ReleaseHoldRequest{HoldId: carol.GetId()}); err != nil {
		t.Fatal(err)
	}
	cancelPath := "/v1/payment_intents/" + carolPI + "/cancel"
	run.until(ctx, twice, func() bool { return len(stripeAPI.Posts(cancelPath)) > 0 && run.stats(ctx).GetDepth() == 0 })
	key = run.key(KindReleased, carol.GetId())
	for _, c := range stripeAPI.Posts(cancelPath) {
		if c.IdempotencyKey != "bookd:"+key+":cancel" {
			t.Errorf("cancel sent Idempotency-Key %q, want bookd:%s:cancel", c.IdempotencyKey, key)
		}
	}
	if s := run.stats(ctx); s.GetDeadLetters() != 1 {
		t.Errorf("queue stats %v: want only the stranger's message dead", s)
	}
	t.Logf("ran against %s: %d requests", stripeAPI.Name, len(stripeAPI.Calls()))
}

// A payment_ref that is not a PaymentIntent id never reaches a Stripe URL,
// a booking without a hold is not matched to any intent, and a partial
// cancellation that refunds nothing asks Stripe nothing.
func TestPaymentsRefusesWithoutAsking(t *testing.T) {
	stripeAPI := startFake(t)
	w := &Worker{Stripe: NewStripe("sk_test_bookd", stripeAPI.URL, nil)}
	for _, ch := range []*bookdv1.Change{
		{Kind: KindConfirmed, HoldId: "hd_1", BookingId: "bk_2", PaymentRef: "../refunds"},
		{Kind: KindConfirmed, HoldId: "hd_1", BookingId: "bk_2", PaymentRef: "pi_1/capture"},
		{Kind: KindConfirmed, HoldId: "hd_1", BookingId: "bk_2", PaymentRef: "pi_1?expand[]=x"},
		{Kind: KindConfirmed, HoldId: "hd_1", BookingId: "bk_2", PaymentRef: "ch_123"},
		{Kind: KindConfirmed, HoldId: "hd_1", BookingId: "bk_2", PaymentRef: "pi_"},
		{Kind: KindConfirmed, HoldId: "hd_1", BookingId: "bk_2", PaymentRef: "pi_" + strings.Repeat("a", 251)},
		{Kind: KindConfirmed, HoldId: "hd_1", BookingId: "bk_2", PaymentRef: "pi_1é"},
		{Kind: KindConfirmed, BookingId: "bk_2", PaymentRef: "pi_123"},
	} {
		err := w.Handle(context.Background(), &bookdv1.QueueMessage{Queue: "payments", Key: "payments:2-0", Change: ch})
		if !workerr.IsPermanent(err) {
			t.Errorf("payment_ref %q, hold %q: %v, want a Permanent refusal", ch.GetPaymentRef(), ch.GetHoldId(), err)
		}
	}
	for _, ch := range []*bookdv1.Change{
		{Kind: KindConfirmed, HoldId: "hd_1", BookingId: "bk_2"},
		{Kind: "hold_created", HoldId: "hd_1", PaymentRef: "pi_123"},
		// Cancelled items that cost nothing (or have no price) give nothing back.
		{Kind: KindItemsCancelled, HoldId: "hd_1", BookingId: "bk_2", PaymentRef: "pi_123", Currency: "EUR", Total: 2500},
		{Kind: KindItemsCancelled, HoldId: "hd_1", BookingId: "bk_2", PaymentRef: "pi_123"},
	} {
		if err := w.Handle(context.Background(), &bookdv1.QueueMessage{Queue: "payments", Key: "payments:2-0", Change: ch}); err != nil {
			t.Errorf("%v: %v, want an ack", ch, err)
		}
	}
	if calls := stripeAPI.Calls(); len(calls) != 0 {
		t.Errorf("Stripe was asked %v", calls)
	}
}
