package fsm

import (
	"encoding/binary"
	"fmt"
	"time"

	fsmv1 "github.com/bookd/bookd/proto/bookd/fsm/v1"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/cockroachdb/pebble/v2"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// A queue's messages: enqueued by route or Enqueue, leased by Receive,
// removed by Ack, given back by Nack or a lapsed lease, dead-lettered after
// max_attempts deliveries. Every time is the state machine's.

// putMessage numbers rec as the queue's next message and stores it, due at
// visible, with change (an encoded Change, or nil) as its change: the
// feed's encoding is appended as the field, not encoded again.
func (t *txn) putMessage(st *fsmv1.QueueState, rec *fsmv1.QueueRecord, visible int64, change []byte) {
	name := st.GetQueue().GetName()
	rec.Number = st.GetNextMessage()
	st.NextMessage++
	rec.EnqueuedUnixNanos, rec.VisibleUnixNanos = t.now, visible
	v := marshal(rec)
	if change != nil {
		v = protowire.AppendTag(v, queueRecordChange, protowire.BytesType)
		v = protowire.AppendBytes(v, change)
	}
	t.set(messageKey(name, rec.GetNumber()), v)
	t.set(dueKey(name, visible, rec.GetNumber()), nil)
	if ordered(st) && rec.GetOrderKey() != "" {
		t.set(orderKeyOf(name, rec.GetOrderKey(), rec.GetNumber()), nil)
	}
	s := st.GetStats()
	s.Enqueued++
	s.Depth++
}

// queueRecordChange is QueueRecord.change's field number.
var queueRecordChange = (&fsmv1.QueueRecord{}).ProtoReflect().Descriptor().Fields().ByName("change").Number()

func ordered(st *fsmv1.QueueState) bool {
	return st.GetQueue().GetOrdering() == bookdv1.QueueOrdering_QUEUE_ORDERING_BY_BOOKING
}

func (t *txn) enqueue(r *bookdv1.EnqueueRequest) (proto.Message, *Error) {
	if err := ValidateEnqueue(r); err != nil {
		return nil, err
	}
	st := t.queueState(r.GetQueue())
	if st == nil {
		return nil, queueNotFound(r.GetQueue())
	}
	rec := &fsmv1.QueueRecord{Key: r.GetIdempotencyKey(), Body: r.GetBody(), OrderKey: r.GetOrderKey()}
	t.putMessage(st, rec, t.now+durationOr(r.GetDelay(), 0).Nanoseconds(), nil)
	return &bookdv1.EnqueueResponse{Message: messageView(r.GetQueue(), rec)}, nil
}

// receiveScan bounds the due messages one Receive looks at beyond those it
// leases (ordered queues skip messages whose predecessors are live).
const receiveScan = 256

func (t *txn) receive(r *bookdv1.ReceiveRequest) (proto.Message, *Error) {
	if err := ValidateReceive(r); err != nil {
		return nil, err
	}
	name := r.GetQueue()
	st := t.queueState(name)
	if st == nil {
		return nil, queueNotFound(name)
	}
	visibility := durationOr(r.GetVisibility(), DefaultVisibility).Nanoseconds()
	due := t.dueMessages(name, int(r.GetMax())+receiveScan)
	out := &bookdv1.ReceiveResponse{}
	for _, n := range due {
		if len(out.Messages) == int(r.GetMax()) {
			break
		}
		rec := t.message(name, n)
		if rec.GetLeased() && rec.GetAttempts() >= st.GetQueue().GetMaxAttempts() {
			t.deadLetter(st, rec, fmt.Sprintf("lease of delivery %d of %d lapsed", rec.GetAttempts(), rec.GetAttempts()))
			continue
		}
		if ordered(st) && rec.GetOrderKey() != "" && t.firstOfOrderKey(name, rec.GetOrderKey()) != n {
			continue
		}
		s := st.GetStats()
		if rec.GetAttempts() > 0 {
			s.Retried++
		}
		if !rec.GetLeased() {
			s.Leased++
		}
		s.Delivered++
		rec.Attempts++
		rec.Leased = true
		t.moveDue(name, rec, t.now+visibility)
		m := messageView(name, rec)
		m.LeaseId = formatLease(n, rec.GetAttempts())
		out.Messages = append(out.Messages, m)
	}
	return out, nil
}

// dueMessages returns up to limit numbers of a queue's messages that may
// be received now, earliest due first. It scans from the queue's due
// floor (queuefloor.go) and raises it to the earliest it found, or to now.
func (t *txn) dueMessages(name string, limit int) []uint64 {
	start := queueKey(prefixQueueDue, name)
	floor := t.f.floors.dueFloor(name)
	it, err := t.b.NewIter(&pebble.IterOptions{
		LowerBound: u64(append([]byte{}, start...), uint64(floor)),
		UpperBound: u64(append([]byte{}, start...), uint64(t.now)+1),
	})
	must(err)
	var due []uint64
	earliest := t.now
	for ok := it.First(); ok && len(due) < limit; ok = it.Next() {
		k := it.Key()
		if len(due) == 0 {
			earliest = int64(binary.BigEndian.Uint64(k[len(start):]))
		}
		due = append(due, binary.BigEndian.Uint64(k[len(k)-8:]))
	}
	must(it.Close())
	t.f.floors.raiseDue(name, earliest)
	return due
}

// firstOfOrderKey returns the number of the oldest live message with the
// given order key.
func (t *txn) firstOfOrderKey(name, orderKey string) uint64 {
	p := orderPrefix(name, orderKey)
	it, err := t.b.NewIter(&pebble.IterOptions{LowerBound: p, UpperBound: prefixEnd(p)})
	must(err)
	defer func() { must(it.Close()) }()
	if !it.First() {
		return 0
	}
	k := it.Key()
	return binary.BigEndian.Uint64(k[len(k)-8:])
}

func (t *txn) message(name string, n uint64) *fsmv1.QueueRecord {
	rec := new(fsmv1.QueueRecord)
	if !t.getProto(messageKey(name, n), rec) {
		return nil
	}
	return rec
}

// moveDue makes a message due at visible and stores it.
func (t *txn) moveDue(name string, rec *fsmv1.QueueRecord, visible int64) {
	t.delete(dueKey(name, rec.GetVisibleUnixNanos(), rec.GetNumber()))
	rec.VisibleUnixNanos = visible
	t.set(dueKey(name, visible, rec.GetNumber()), nil)
	t.setProto(messageKey(name, rec.GetNumber()), rec)
}

// removeMessage deletes a live message and its index entries.
func (t *txn) removeMessage(st *fsmv1.QueueState, rec *fsmv1.QueueRecord) {
	name := st.GetQueue().GetName()
	t.delete(messageKey(name, rec.GetNumber()))
	t.delete(dueKey(name, rec.GetVisibleUnixNanos(), rec.GetNumber()))
	if ordered(st) && rec.GetOrderKey() != "" {
		t.delete(orderKeyOf(name, rec.GetOrderKey(), rec.GetNumber()))
	}
	s := st.GetStats()
	s.Depth--
	if rec.GetLeased() {
		s.Leased--
	}
}

// deadLetter moves a live message to the queue's dead letters.
func (t *txn) deadLetter(st *fsmv1.QueueState, rec *fsmv1.QueueRecord, why string) {
	t.removeMessage(st, rec)
	rec.Leased, rec.LastError, rec.DeadUnixNanos = false, why, t.now
	t.setProto(deadKey(st.GetQueue().GetName(), rec.GetNumber()), rec)
	s := st.GetStats()
	s.DeadLetters++
	s.DeadLettered++
}

// leased returns the message a lease names if the lease is current: the
// message is leased by that delivery. A lease that has run out counts
// until the message is received again, so work finished a little late is
// not done twice.
func (t *txn) leased(st *fsmv1.QueueState, lease string) (*fsmv1.QueueRecord, *bookdv1.LeaseFailure) {
	name := st.GetQueue().GetName()
	n, attempt, _ := parseLease(lease)
	fail := func(reason, format string, args ...any) *bookdv1.LeaseFailure {
		return &bookdv1.LeaseFailure{LeaseId: lease, Reason: reason, Message: fmt.Sprintf(format, args...)}
	}
	rec := t.message(name, n)
	switch {
	case rec == nil && n < st.GetNextMessage():
		return nil, fail(ReasonLeaseGone, "lease %s: message %d was acked, dead-lettered or dropped", lease, n)
	case rec == nil:
		return nil, fail(ReasonLeaseUnknown, "lease %s: queue %s has no message %d", lease, name, n)
	case !rec.GetLeased() && rec.GetAttempts() == attempt:
		return nil, fail(ReasonLeaseLapsed, "lease %s: delivery %d of message %d was already given back (nacked)", lease, attempt, n)
	case !rec.GetLeased() || rec.GetAttempts() != attempt:
		return nil, fail(ReasonLeaseLapsed, "lease %s: message %d is not leased by delivery %d (it is at delivery %d)", lease, n, attempt, rec.GetAttempts())
	}
	return rec, nil
}

// leaseError is the refusal of a call naming one lease that failed.
func leaseError(f *bookdv1.LeaseFailure) *Error {
	return errorf(CodeFailedPrecondition, f.GetReason(), "%s", f.GetMessage())
}

// eachLease calls fn on the message of every current lease of a queue
// and returns the leases that were not: a call naming one lease is refused
// instead.
func (t *txn) eachLease(name string, leases []string, fn func(*fsmv1.QueueState, *fsmv1.QueueRecord)) ([]*bookdv1.LeaseFailure, *Error) {
	st := t.queueState(name)
	if st == nil {
		return nil, queueNotFound(name)
	}
	var failures []*bookdv1.LeaseFailure
	for _, lease := range leases {
		rec, fail := t.leased(st, lease)
		if fail != nil {
			if len(leases) == 1 {
				return nil, leaseError(fail)
			}
			failures = append(failures, fail)
			continue
		}
		fn(st, rec)
	}
	return failures, nil
}

func (t *txn) ack(r *bookdv1.AckRequest) (proto.Message, *Error) {
	if err := ValidateAck(r); err != nil {
		return nil, err
	}
	failures, err := t.eachLease(r.GetQueue(), r.GetLeaseIds(), func(st *fsmv1.QueueState, rec *fsmv1.QueueRecord) {
		t.removeMessage(st, rec)
		st.GetStats().Acked++
	})
	if err != nil {
		return nil, err
	}
	return &bookdv1.AckResponse{Failures: failures}, nil
}

func (t *txn) nack(r *bookdv1.NackRequest) (proto.Message, *Error) {
	if err := ValidateNack(r); err != nil {
		return nil, err
	}
	st := t.queueState(r.GetQueue())
	if st == nil {
		return nil, queueNotFound(r.GetQueue())
	}
	rec, fail := t.leased(st, r.GetLeaseId())
	if fail != nil {
		return nil, leaseError(fail)
	}
	q := st.GetQueue()
	if r.GetGiveUp() || rec.GetAttempts() >= q.GetMaxAttempts() {
		t.deadLetter(st, rec, r.GetError())
		return &bookdv1.NackResponse{Message: messageView(q.GetName(), rec)}, nil
	}
	delay := backoff(q, rec.GetAttempts())
	if r.GetDelay() != nil {
		delay = r.GetDelay().AsDuration()
	}
	rec.Leased, rec.LastError = false, r.GetError()
	st.GetStats().Leased--
	t.moveDue(q.GetName(), rec, t.now+delay.Nanoseconds())
	return &bookdv1.NackResponse{Message: messageView(q.GetName(), rec)}, nil
}

// backoff is the delay before delivery attempts+1: retry_min doubled per
// earlier attempt, at most retry_max.
func backoff(q *bookdv1.Queue, attempts int32) time.Duration {
	d, max := q.GetRetryMin().AsDuration(), q.GetRetryMax().AsDuration()
	for i := int32(1); i < attempts && d < max; i++ {
		d *= 2
	}
	return min(d, max)
}

func (t *txn) extendLease(r *bookdv1.ExtendLeaseRequest) (proto.Message, *Error) {
	if err := ValidateExtendLease(r); err != nil {
		return nil, err
	}
	until := t.now + r.GetVisibility().AsDuration().Nanoseconds()
	failures, err := t.eachLease(r.GetQueue(), r.GetLeaseIds(), func(st *fsmv1.QueueState, rec *fsmv1.QueueRecord) {
		t.moveDue(r.GetQueue(), rec, until)
	})
	if err != nil {
		return nil, err
	}
	return &bookdv1.ExtendLeaseResponse{Failures: failures}, nil
}

func (t *txn) redrive(r *bookdv1.RedriveRequest) (proto.Message, *Error) {
	if err := ValidateRedrive(r); err != nil {
		return nil, err
	}
	name := r.GetQueue()
	st := t.queueState(name)
	if st == nil {
		return nil, queueNotFound(name)
	}
	numbers := make([]uint64, 0, len(r.GetMessageIds()))
	for _, id := range r.GetMessageIds() {
		n, _ := ParseMessageID(id)
		numbers = append(numbers, n)
	}
	if len(numbers) == 0 {
		start := queueKey(prefixQueueDead, name)
		it, err := t.b.NewIter(&pebble.IterOptions{LowerBound: start, UpperBound: prefixEnd(start)})
		must(err)
		for ok := it.First(); ok && len(numbers) < MaxRedrivePerCommand; ok = it.Next() {
			k := it.Key()
			numbers = append(numbers, binary.BigEndian.Uint64(k[len(k)-8:]))
		}
		must(it.Close())
	}
	t.floorDrops = append(t.floorDrops, name)
	out := &bookdv1.RedriveResponse{}
	for _, n := range numbers {
		rec := new(fsmv1.QueueRecord)
		if !t.getProto(deadKey(name, n), rec) {
			continue
		}
		t.delete(deadKey(name, n))
		rec.Attempts, rec.DeadUnixNanos, rec.VisibleUnixNanos = 0, 0, t.now
		t.setProto(messageKey(name, n), rec)
		t.set(dueKey(name, t.now, n), nil)
		if ordered(st) && rec.GetOrderKey() != "" {
			t.set(orderKeyOf(name, rec.GetOrderKey(), n), nil)
		}
		s := st.GetStats()
		s.DeadLetters--
		s.Depth++
		out.Redriven++
	}
	return out, nil
}

// expireQueues drops the messages and dead letters older than their
// queue's retention, up to limit of them; it reports how many it dropped.
func (t *txn) expireQueues(limit int) int {
	dropped := 0
	for _, q := range t.queueList() {
		cutoff := t.now - q.GetRetention().AsDuration().Nanoseconds()
		st := t.queueState(q.GetName())
		for _, prefix := range [][]byte{prefixQueueMsg, prefixQueueDead} {
			for _, rec := range t.oldRecords(queueKey(prefix, q.GetName()), cutoff, limit-dropped) {
				dropped++
				if bytesEqual(prefix, prefixQueueDead) {
					t.delete(deadKey(q.GetName(), rec.GetNumber()))
					st.GetStats().DeadLetters--
					continue
				}
				t.removeMessage(st, rec)
				st.GetStats().Expired++
			}
		}
	}
	return dropped
}

func bytesEqual(a, b []byte) bool { return string(a) == string(b) }

// oldRecords returns up to limit records under start, in number order
// (which is enqueue order), enqueued before cutoff.
func (t *txn) oldRecords(start []byte, cutoff int64, limit int) []*fsmv1.QueueRecord {
	it, err := t.b.NewIter(&pebble.IterOptions{LowerBound: start, UpperBound: prefixEnd(start)})
	must(err)
	defer func() { must(it.Close()) }()
	var out []*fsmv1.QueueRecord
	for ok := it.First(); ok && len(out) < limit; ok = it.Next() {
		rec := new(fsmv1.QueueRecord)
		must(proto.Unmarshal(it.Value(), rec))
		if rec.GetEnqueuedUnixNanos() >= cutoff {
			break
		}
		out = append(out, rec)
	}
	return out
}
