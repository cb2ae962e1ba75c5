package fsm_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/bookd/bookd/fsm"
	fsmv1 "github.com/bookd/bookd/proto/bookd/fsm/v1"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
)

func (h *harness) createQueue(q *bookdv1.Queue) *bookdv1.Queue {
	h.t.Helper()
	return mustOK[*bookdv1.CreateQueueResponse](h.t, h.do(&bookdv1.CreateQueueRequest{Queue: q})).GetQueue()
}

func (h *harness) receive(queue string, max int32, visibility time.Duration) []*bookdv1.QueueMessage {
	h.t.Helper()
	return mustOK[*bookdv1.ReceiveResponse](h.t, h.do(&bookdv1.ReceiveRequest{
		Queue: queue, Max: max, Visibility: durationpb.New(visibility)})).GetMessages()
}

func (h *harness) ack(queue string, leases ...string) *bookdv1.AckResponse {
	h.t.Helper()
	return mustOK[*bookdv1.AckResponse](h.t, h.do(&bookdv1.AckRequest{Queue: queue, LeaseIds: leases}))
}

func (h *harness) queueStats(name string) *bookdv1.QueueStats {
	h.t.Helper()
	q, err := h.f.Queue(name)
	if err != nil {
		h.t.Fatalf("Queue(%s): %v", name, err)
	}
	return q.GetStats()
}

func receiptsQueue() *bookdv1.Queue {
	return &bookdv1.Queue{Name: "receipts", Kinds: []string{"booking_confirmed", "booking_cancelled"},
		MaxAttempts: 3, RetryMin: durationpb.New(10 * time.Second), RetryMax: durationpb.New(30 * time.Second)}
}

func wantQueueStats(t *testing.T, got *bookdv1.QueueStats, depth, leased, dead int64) {
	t.Helper()
	if got.GetDepth() != depth || got.GetLeased() != leased || got.GetDeadLetters() != dead {
		t.Errorf("stats depth/leased/dead = %d/%d/%d, want %d/%d/%d (%v)",
			got.GetDepth(), got.GetLeased(), got.GetDeadLetters(), depth, leased, dead, got)
	}
}

// A queue takes the changes of its kinds from its creation on, each in the
// commit of its change, and hands each to one receiver at a time.
func TestQueueTakesChangesInTheirCommit(t *testing.T) {
	h := newHarness(t)
	ev := h.createEvent(&bookdv1.CreateEventRequest{Name: "tour", Capacity: 10})
	h.book(bookFor(ev.GetId(), "before", 1))
	h.createQueue(receiptsQueue())
	hd := h.hold(&bookdv1.HoldRequest{EventId: ev.GetId(), CustomerId: "ann", Quantity: 2,
		PaymentRef: "pi_1", ContactEmail: "ann@example.com"})
	bk := mustOK[*bookdv1.ConfirmResponse](t, h.do(&bookdv1.ConfirmRequest{HoldId: hd.GetId()})).GetBooking()
	if bk.GetPaymentRef() != "pi_1" || bk.GetContactEmail() != "ann@example.com" {
		t.Errorf("booking keeps payment_ref %q and contact_email %q, want the hold's", bk.GetPaymentRef(), bk.GetContactEmail())
	}

	msgs := h.receive("receipts", 10, 30*time.Second)
	if len(msgs) != 1 {
		t.Fatalf("received %d messages, want 1 (the booking before the queue is not in it): %v", len(msgs), msgs)
	}
	m := msgs[0]
	c := m.GetChange()
	if c.GetKind() != "booking_confirmed" || c.GetBookingId() != bk.GetId() || c.GetPaymentRef() != "pi_1" || m.GetAttempts() != 1 {
		t.Errorf("message = %v, want the confirmation of %s, first attempt", m, bk.GetId())
	}
	if want := "receipts:" + c.GetCursor(); m.GetKey() != want {
		t.Errorf("key = %q, want %q", m.GetKey(), want)
	}
	feed := allChanges(t, h.f)
	if last := feed[len(feed)-1]; fsm.Cursor(last.GetIndex(), last.GetSeq()) != c.GetCursor() {
		t.Errorf("message cursor %s, want the feed's last change %d-%d", c.GetCursor(), last.GetIndex(), last.GetSeq())
	}
	if again := h.receive("receipts", 10, 30*time.Second); len(again) != 0 {
		t.Errorf("a leased message was handed out again: %v", again)
	}
	wantQueueStats(t, h.queueStats("receipts"), 1, 1, 0)
	if got := h.ack("receipts", m.GetLeaseId()); len(got.GetFailures()) != 0 {
		t.Errorf("ack failures: %v", got.GetFailures())
	}
	s := h.queueStats("receipts")
	wantQueueStats(t, s, 0, 0, 0)
	if s.GetEnqueued() != 1 || s.GetDelivered() != 1 || s.GetAcked() != 1 {
		t.Errorf("stats %v, want 1 enqueued, delivered and acked", s)
	}
	wantErr(t, h.do(&bookdv1.AckRequest{Queue: "receipts", LeaseIds: []string{m.GetLeaseId()}}),
		fsm.CodeFailedPrecondition, fsm.ReasonLeaseGone, "acked")
	wantErr(t, h.do(&bookdv1.AckRequest{Queue: "receipts", LeaseIds: []string{"99.1"}}),
		fsm.CodeFailedPrecondition, fsm.ReasonLeaseUnknown)
	wantErr(t, h.do(&bookdv1.AckRequest{Queue: "nope", LeaseIds: []string{"1.1"}}), fsm.CodeNotFound, "", "queue nope not found")
}

// A lease that lapses makes the message due again; the late lease can no
// longer ack it; after max_attempts deliveries a lapse dead-letters it.
func TestQueueLeaseLapsesAndDeadLetters(t *testing.T) {
	h := newHarness(t)
	ev := h.createEvent(&bookdv1.CreateEventRequest{Name: "tour", Capacity: 10})
	h.createQueue(receiptsQueue())
	h.book(bookFor(ev.GetId(), "ann", 1))

	first := h.receive("receipts", 1, 5*time.Second)[0]
	h.at(6 * time.Second)
	second := h.receive("receipts", 1, 5*time.Second)
	if len(second) != 1 || second[0].GetAttempts() != 2 || second[0].GetId() != first.GetId() {
		t.Fatalf("after the lease lapsed got %v, want message %s again at attempt 2", second, first.GetId())
	}
	wantErr(t, h.do(&bookdv1.AckRequest{Queue: "receipts", LeaseIds: []string{first.GetLeaseId()}}),
		fsm.CodeFailedPrecondition, fsm.ReasonLeaseLapsed)
	h.at(12 * time.Second)
	third := h.receive("receipts", 1, 5*time.Second)[0]
	if third.GetAttempts() != 3 {
		t.Fatalf("attempt %d, want 3", third.GetAttempts())
	}
	h.at(18 * time.Second)
	if got := h.receive("receipts", 1, 5*time.Second); len(got) != 0 {
		t.Errorf("a message past max_attempts was delivered: %v", got)
	}
	wantQueueStats(t, h.queueStats("receipts"), 0, 0, 1)
	dead, err := h.f.QueueMessages("receipts", "", 10, true)
	if err != nil || len(dead) != 1 || dead[0].GetLastError() == "" || dead[0].GetDeadLetteredAt() == nil {
		t.Fatalf("dead letters %v (%v), want the message with why", dead, err)
	}
	res := mustOK[*bookdv1.RedriveResponse](t, h.do(&bookdv1.RedriveRequest{Queue: "receipts"}))
	if res.GetRedriven() != 1 {
		t.Errorf("redriven %d, want 1", res.GetRedriven())
	}
	again := h.receive("receipts", 1, 5*time.Second)
	if len(again) != 1 || again[0].GetAttempts() != 1 {
		t.Errorf("after redrive got %v, want the message at attempt 1", again)
	}
	wantQueueStats(t, h.queueStats("receipts"), 1, 1, 0)
}

// Nack delays a message by the queue's backoff, doubling per attempt, and
// dead-letters it with the error after max_attempts.
func TestQueueNackBacksOff(t *testing.T) {
	h := newHarness(t)
	ev := h.createEvent(&bookdv1.CreateEventRequest{Name: "tour", Capacity: 10})
	h.createQueue(receiptsQueue())
	h.book(bookFor(ev.GetId(), "ann", 1))
	now := time.Duration(0)
	for attempt, wait := range []time.Duration{10 * time.Second, 20 * time.Second} {
		m := h.receive("receipts", 1, time.Minute)[0]
		nack := &bookdv1.NackRequest{Queue: "receipts", LeaseId: m.GetLeaseId(), Error: "smtp 451"}
		mustOK[*bookdv1.NackResponse](t, h.do(nack))
		wantErr(t, h.do(nack), fsm.CodeFailedPrecondition, fsm.ReasonLeaseLapsed, "already given back")
		h.at(now + wait - time.Second)
		if got := h.receive("receipts", 1, time.Minute); len(got) != 0 {
			t.Fatalf("attempt %d: delivered again before its backoff of %s", attempt+1, wait)
		}
		now += wait
		h.at(now)
	}
	m := h.receive("receipts", 1, time.Minute)[0]
	if m.GetAttempts() != 3 || m.GetLastError() != "smtp 451" {
		t.Fatalf("third delivery %v, want attempt 3 with the last error", m)
	}
	got := mustOK[*bookdv1.NackResponse](t, h.do(&bookdv1.NackRequest{Queue: "receipts", LeaseId: m.GetLeaseId(), Error: "smtp 550"})).GetMessage()
	if got.GetDeadLetteredAt() == nil || got.GetLastError() != "smtp 550" {
		t.Errorf("nack of the last attempt answered %v, want a dead letter with the error", got)
	}
	s := h.queueStats("receipts")
	if s.GetRetried() != 2 || s.GetDeadLettered() != 1 || s.GetDepth() != 0 {
		t.Errorf("stats %v, want 2 retries, 1 dead-lettered, depth 0", s)
	}

	// give_up dead-letters at once.
	h.book(bookFor(h.event(got.GetChange().GetEventId()).GetId(), "bob", 1))
	m = h.receive("receipts", 1, time.Minute)[0]
	gaveUp := mustOK[*bookdv1.NackResponse](t, h.do(&bookdv1.NackRequest{Queue: "receipts", LeaseId: m.GetLeaseId(), Error: "not ours", GiveUp: true})).GetMessage()
	if gaveUp.GetAttempts() != 1 || gaveUp.GetDeadLetteredAt() == nil {
		t.Errorf("give_up answered %v, want a dead letter after 1 attempt", gaveUp)
	}
}

// On a queue ordered by booking, a hold's later change is not handed out
// while its earlier one is live; other holds' changes are.
func TestQueueOrderedByBooking(t *testing.T) {
	h := newHarness(t)
	ev := h.createEvent(&bookdv1.CreateEventRequest{Name: "tour", Capacity: 10})
	h.createQueue(&bookdv1.Queue{Name: "payments", Kinds: []string{"hold_created", "booking_confirmed", "hold_released"},
		Ordering: bookdv1.QueueOrdering_QUEUE_ORDERING_BY_BOOKING})
	a := h.hold(holdFor(ev.GetId(), "ann", 1, time.Minute))
	b := h.hold(holdFor(ev.GetId(), "bob", 1, time.Minute))
	h.confirm(a.GetId())
	h.release(b.GetId())

	got := h.receive("payments", 10, time.Minute)
	if len(got) != 2 || got[0].GetChange().GetHoldId() != a.GetId() || got[1].GetChange().GetHoldId() != b.GetId() ||
		got[0].GetChange().GetKind() != "hold_created" || got[1].GetChange().GetKind() != "hold_created" {
		t.Fatalf("first receive %v, want the two hold_created only", got)
	}
	h.ack("payments", got[0].GetLeaseId())
	next := h.receive("payments", 10, time.Minute)
	if len(next) != 1 || next[0].GetChange().GetKind() != "booking_confirmed" {
		t.Fatalf("after acking ann's hold got %v, want only her booking_confirmed", next)
	}
	h.ack("payments", got[1].GetLeaseId(), next[0].GetLeaseId())
	last := h.receive("payments", 10, time.Minute)
	if len(last) != 1 || last[0].GetChange().GetKind() != "hold_released" {
		t.Fatalf("then %v, want bob's hold_released", last)
	}
}

// Enqueue puts a message once per key; filters and retention apply; a
// restart keeps everything.
func TestQueueEnqueueFilterRetention(t *testing.T) {
	h := newHarness(t)
	ev1 := h.createEvent(&bookdv1.CreateEventRequest{Name: "one", Capacity: 10})
	ev2 := h.createEvent(&bookdv1.CreateEventRequest{Name: "two", Capacity: 10})
	h.createQueue(&bookdv1.Queue{Name: "steps", Kinds: []string{"booking_confirmed"}, EventId: ev1.GetId(),
		Retention: durationpb.New(time.Hour)})
	h.book(bookFor(ev2.GetId(), "ann", 1))
	h.book(bookFor(ev1.GetId(), "ann", 1))
	req := &bookdv1.EnqueueRequest{Queue: "steps", IdempotencyKey: "k1", Body: []byte("partner")}
	m1 := mustOK[*bookdv1.EnqueueResponse](t, h.do(req)).GetMessage()
	m2 := mustOK[*bookdv1.EnqueueResponse](t, h.do(req)).GetMessage()
	if m1.GetId() != m2.GetId() || m1.GetKey() != "k1" {
		t.Errorf("enqueue retried made %s then %s, want the same message keyed k1", m1.GetId(), m2.GetId())
	}
	wantQueueStats(t, h.queueStats("steps"), 2, 0, 0)
	h.reopen()
	wantQueueStats(t, h.queueStats("steps"), 2, 0, 0)
	peek, err := h.f.QueueMessages("steps", "", 10, false)
	if err != nil || len(peek) != 2 || peek[0].GetChange().GetEventId() != ev1.GetId() || string(peek[1].GetBody()) != "partner" {
		t.Fatalf("peek %v (%v), want ev1's booking then the enqueued body", peek, err)
	}
	if !h.f.QueueRetentionDue() {
		h.at(2 * time.Hour)
		h.do(&fsmv1.ExpireHolds{}) // moves the clock
	}
	if !h.f.QueueRetentionDue() {
		t.Fatal("messages past retention, but QueueRetentionDue is false")
	}
	mustOK[*fsmv1.Purge](t, h.do(&fsmv1.Purge{}))
	s := h.queueStats("steps")
	wantQueueStats(t, s, 0, 0, 0)
	if s.GetExpired() != 2 {
		t.Errorf("expired %d, want 2", s.GetExpired())
	}
}

func TestQueueRefusesBadRequests(t *testing.T) {
	h := newHarness(t)
	h.createQueue(receiptsQueue())
	for _, tc := range []struct {
		req   proto.Message
		field string
	}{
		{&bookdv1.ReceiveRequest{Queue: "receipts", Max: 0}, "max:"},
		{&bookdv1.ReceiveRequest{Queue: "receipts", Max: 1001}, "max:"},
		{&bookdv1.ReceiveRequest{Queue: "receipts", Max: 1, Visibility: durationpb.New(500 * time.Millisecond)}, "visibility:"},
		{&bookdv1.ReceiveRequest{Queue: "Receipts!", Max: 1}, "queue:"},
		{&bookdv1.AckRequest{Queue: "receipts", LeaseIds: []string{"1"}}, "lease_ids[0]:"},
		{&bookdv1.NackRequest{Queue: "receipts", LeaseId: "x.1"}, "lease_id:"},
		{&bookdv1.EnqueueRequest{Queue: "receipts"}, "idempotency_key:"},
		{&bookdv1.CreateQueueRequest{Queue: &bookdv1.Queue{Name: "q", Kinds: []string{"booked"}}}, "queue.kinds[0]:"},
		{&bookdv1.CreateQueueRequest{Queue: &bookdv1.Queue{Name: "q", MaxAttempts: 101}}, "queue.max_attempts:"},
		{&bookdv1.CreateQueueRequest{Queue: &bookdv1.Queue{Name: "q", RetryMin: durationpb.New(time.Hour), RetryMax: durationpb.New(time.Minute)}}, "queue.retry_max:"},
		{&bookdv1.HoldRequest{EventId: "ev_1", CustomerId: "a", Quantity: 1, ContactEmail: "a@b>c"}, "contact_email:"},
	} {
		t.Run(fmt.Sprintf("%T %s", tc.req, tc.field), func(t *testing.T) {
			wantErr(t, h.do(tc.req), fsm.CodeInvalidArgument, "", tc.field)
		})
	}
	wantErr(t, h.do(&bookdv1.CreateQueueRequest{Queue: receiptsQueue()}), fsm.CodeAlreadyExists, fsm.ReasonQueueExists)
}

// Every change kind a queue may take has its enum value in the API.
func TestChangeKindsHaveEnumValues(t *testing.T) {
	for _, k := range fsm.QueueKinds {
		c := fsm.PublicChange(&fsm.Change{Kind: k})
		if c.GetType() == bookdv1.ChangeKind_CHANGE_KIND_UNSPECIFIED {
			t.Errorf("kind %s has no ChangeKind", k)
		}
	}
	if n := len(bookdv1.ChangeKind_name) - 1; n != len(fsm.QueueKinds) {
		t.Errorf("%d ChangeKind values, %d kinds", n, len(fsm.QueueKinds))
	}
}

// An Ack of several leases acks the current ones and lists the others.
func TestQueueAckOfSeveralLeases(t *testing.T) {
	h := newHarness(t)
	ev := h.createEvent(&bookdv1.CreateEventRequest{Name: "tour", Capacity: 10})
	h.createQueue(receiptsQueue())
	h.book(bookFor(ev.GetId(), "ann", 1))
	h.book(bookFor(ev.GetId(), "bob", 1))
	first := h.receive("receipts", 2, 5*time.Second)
	h.at(6 * time.Second)
	again := h.receive("receipts", 1, 5*time.Second) // the first message, delivery 2
	got := h.ack("receipts", first[0].GetLeaseId(), first[1].GetLeaseId())
	if len(got.GetFailures()) != 1 || got.GetFailures()[0].GetLeaseId() != first[0].GetLeaseId() ||
		got.GetFailures()[0].GetReason() != fsm.ReasonLeaseLapsed {
		t.Fatalf("failures %v, want only %s, LEASE_LAPSED", got.GetFailures(), first[0].GetLeaseId())
	}
	wantQueueStats(t, h.queueStats("receipts"), 1, 1, 0)
	h.ack("receipts", again[0].GetLeaseId())
	wantQueueStats(t, h.queueStats("receipts"), 0, 0, 0)
}

// The floors that let scans skip deleted entries never hide a live one: a
// dead letter redriven after the queue was drained is its oldest message
// again, and is received.
func TestQueueFloorsHideNothing(t *testing.T) {
	h := newHarness(t)
	ev := h.createEvent(&bookdv1.CreateEventRequest{Name: "tour", Capacity: 10})
	h.createQueue(&bookdv1.Queue{Name: "once", Kinds: []string{"booking_confirmed"}, MaxAttempts: 1})
	for _, who := range []string{"ann", "bob", "cat"} {
		h.book(bookFor(ev.GetId(), who, 1))
	}
	got := h.receive("once", 3, time.Minute)
	mustOK[*bookdv1.NackResponse](t, h.do(&bookdv1.NackRequest{Queue: "once", LeaseId: got[0].GetLeaseId(), Error: "no"}))
	h.ack("once", got[1].GetLeaseId(), got[2].GetLeaseId())
	h.at(time.Minute)
	if again := h.receive("once", 3, time.Minute); len(again) != 0 {
		t.Fatalf("drained queue handed out %v", again)
	}
	q, err := h.f.Queue("once")
	if err != nil || q.GetStats().GetOldestEnqueuedAt() != nil || q.GetStats().GetDepth() != 0 {
		t.Fatalf("drained queue %v (%v), want no oldest message", q, err)
	}
	mustOK[*bookdv1.RedriveResponse](t, h.do(&bookdv1.RedriveRequest{Queue: "once"}))
	q, err = h.f.Queue("once")
	if err != nil || !q.GetStats().GetOldestEnqueuedAt().AsTime().Equal(got[0].GetEnqueuedAt().AsTime()) {
		t.Fatalf("after redrive the oldest is %v (%v), want message %s's %v", q.GetStats().GetOldestEnqueuedAt(), err, got[0].GetId(), got[0].GetEnqueuedAt())
	}
	if back := h.receive("once", 3, time.Minute); len(back) != 1 || back[0].GetId() != got[0].GetId() {
		t.Fatalf("after redrive received %v, want message %s", back, got[0].GetId())
	}
}
