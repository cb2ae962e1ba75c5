package fsm

import (
	"bytes"
	"slices"
	"strconv"

	fsmv1 "github.com/bookd/bookd/proto/bookd/fsm/v1"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/cockroachdb/pebble/v2"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Work queues. A queue takes the changes of the kinds it names: t.feed
// hands every change to route, which writes a message for each queue that
// takes it in the same batch as the change. A queue's definition never
// changes once created, so the state machine keeps the definitions in
// memory (queueDefs) and reads a queue's counters per batch, like an
// event's (queueState, flushQueues).
//
// Keys (see keys.go): q/<name> the QueueState; qm/<name>0<n> message n;
// qv/<name>0<visible ns><n> messages by the time they may next be
// received (a leased one at its lease's end); qo/<name>0<order key>0<n>
// the live messages of an ordered queue by order key; qd/<name>0<n> dead
// letters.

// Why a lease could not be acted on (LeaseFailure.reason).
const (
	ReasonLeaseLapsed  = "LEASE_LAPSED"
	ReasonLeaseGone    = "LEASE_GONE"
	ReasonLeaseUnknown = "LEASE_UNKNOWN"
	ReasonQueueExists  = "QUEUE_EXISTS"
	ReasonTooManyQueue = "QUEUE_LIMIT"
)

func queueKey(prefix []byte, name string) []byte {
	k := make([]byte, 0, len(prefix)+len(name)+1+16)
	k = append(k, prefix...)
	k = append(k, name...)
	return append(k, 0)
}

func queueStateKey(name string) []byte { return append(append([]byte{}, prefixQueue...), name...) }

func messageKey(name string, n uint64) []byte { return u64(queueKey(prefixQueueMsg, name), n) }

func deadKey(name string, n uint64) []byte { return u64(queueKey(prefixQueueDead, name), n) }

func dueKey(name string, visible int64, n uint64) []byte {
	return u64(u64(queueKey(prefixQueueDue, name), uint64(visible)), n)
}

func orderPrefix(name, orderKey string) []byte {
	return append(append(queueKey(prefixQueueOrder, name), orderKey...), 0)
}

func orderKeyOf(name, orderKey string, n uint64) []byte { return u64(orderPrefix(name, orderKey), n) }

// queueDefs is the state machine's copy of the stored queue definitions,
// in name order; loaded on first use after Open or Restore.
type queueDefs struct {
	loaded bool
	defs   []*bookdv1.Queue
}

func (q *queueDefs) reset() { *q = queueDefs{} }

// queueList returns the queues' definitions, in name order.
func (t *txn) queueList() []*bookdv1.Queue {
	qd := &t.f.queues
	if !qd.loaded {
		qd.defs = nil
		it, err := t.b.NewIter(&pebble.IterOptions{LowerBound: prefixQueue, UpperBound: prefixEnd(prefixQueue)})
		must(err)
		for ok := it.First(); ok; ok = it.Next() {
			st := new(fsmv1.QueueState)
			must(proto.Unmarshal(it.Value(), st))
			qd.defs = append(qd.defs, st.GetQueue())
		}
		must(it.Close())
		qd.loaded = true
	}
	return qd.defs
}

// queueState returns a queue's stored state for updating; flushQueues
// stores it at the end of the batch. nil when there is no such queue.
func (t *txn) queueState(name string) *fsmv1.QueueState {
	if st, ok := t.queueStates[name]; ok {
		return st
	}
	st := new(fsmv1.QueueState)
	if !t.getProto(queueStateKey(name), st) {
		return nil
	}
	if t.queueStates == nil {
		t.queueStates = make(map[string]*fsmv1.QueueState)
	}
	t.queueStates[name] = st
	return st
}

// flushQueues writes the queue states the batch loaded back into it.
func (t *txn) flushQueues() {
	for name, st := range t.queueStates {
		if st != nil {
			t.setProto(queueStateKey(name), st)
		}
	}
}

func queueNotFound(name string) *Error { return notFound("queue %s not found", name) }

func (t *txn) createQueue(r *bookdv1.CreateQueueRequest) (proto.Message, *Error) {
	if err := ValidateCreateQueue(r); err != nil {
		return nil, err
	}
	in := r.GetQueue()
	if t.queueState(in.GetName()) != nil {
		return nil, errorf(CodeAlreadyExists, ReasonQueueExists, "queue %s already exists", in.GetName())
	}
	if len(t.queueList()) >= MaxQueues {
		return nil, errorf(CodeFailedPrecondition, ReasonTooManyQueue, "at most %d queues; delete one first", MaxQueues)
	}
	if id := in.GetEventId(); id != "" {
		if n, _ := parseID(kindEvent, id); t.cachedEvent(n) == nil {
			return nil, notFound("queue.event_id: event %s not found", id)
		}
	}
	if id := in.GetProductId(); id != "" {
		if n, _ := parseID(kindProduct, id); !t.exists(key(prefixProd, n)) {
			return nil, notFound("queue.product_id: product %s not found", id)
		}
	}
	q := &bookdv1.Queue{
		Name:        in.GetName(),
		Kinds:       slices.Compact(slices.Sorted(slices.Values(in.GetKinds()))),
		EventId:     in.GetEventId(),
		ProductId:   in.GetProductId(),
		MaxAttempts: in.GetMaxAttempts(),
		RetryMin:    in.GetRetryMin(),
		RetryMax:    in.GetRetryMax(),
		Retention:   in.GetRetention(),
		Ordering:    in.GetOrdering(),
		CreatedAt:   t.timestamp(),
	}
	if q.MaxAttempts == 0 {
		q.MaxAttempts = DefaultMaxAttempts
	}
	q.RetryMin = durationpb.New(durationOr(q.RetryMin, DefaultRetryMin))
	q.RetryMax = durationpb.New(durationOr(q.RetryMax, DefaultRetryMax))
	q.Retention = durationpb.New(durationOr(q.Retention, DefaultRetention))
	st := &fsmv1.QueueState{Queue: q, Stats: &bookdv1.QueueStats{}, NextMessage: 1}
	if t.queueStates == nil {
		t.queueStates = make(map[string]*fsmv1.QueueState)
	}
	t.queueStates[q.GetName()] = st
	defs := &t.f.queues
	t.queueList()
	i, _ := slices.BinarySearchFunc(defs.defs, q.GetName(), func(d *bookdv1.Queue, name string) int {
		return compareStrings(d.GetName(), name)
	})
	defs.defs = slices.Insert(defs.defs, i, q)
	return &bookdv1.CreateQueueResponse{Queue: queueView(st, nil)}, nil
}

func compareStrings(a, b string) int { return bytes.Compare([]byte(a), []byte(b)) }

func (t *txn) exists(k []byte) bool {
	_, closer, err := t.b.Get(k)
	if err == pebble.ErrNotFound {
		return false
	}
	must(err)
	must(closer.Close())
	return true
}

func (t *txn) deleteQueue(r *bookdv1.DeleteQueueRequest) (proto.Message, *Error) {
	if err := ValidateQueueName("queue", r.GetQueue()); err != nil {
		return nil, err
	}
	name := r.GetQueue()
	st := t.queueState(name)
	if st == nil {
		return nil, queueNotFound(name)
	}
	t.dropMessages(name)
	t.floorDrops = append(t.floorDrops, name)
	t.delete(queueStateKey(name))
	t.queueStates[name] = nil
	defs := &t.f.queues
	t.queueList()
	defs.defs = slices.DeleteFunc(slices.Clone(defs.defs), func(d *bookdv1.Queue) bool { return d.GetName() == name })
	return &bookdv1.DeleteQueueResponse{Queue: queueView(st, nil)}, nil
}

// dropMessages deletes every message, index entry and dead letter of a queue.
func (t *txn) dropMessages(name string) {
	for _, prefix := range [][]byte{prefixQueueMsg, prefixQueueDue, prefixQueueOrder, prefixQueueDead} {
		start := queueKey(prefix, name)
		must(t.b.DeleteRange(start, prefixEnd(start), nil))
	}
}

func (t *txn) purgeQueue(r *bookdv1.PurgeQueueRequest) (proto.Message, *Error) {
	if err := ValidateQueueName("queue", r.GetQueue()); err != nil {
		return nil, err
	}
	st := t.queueState(r.GetQueue())
	if st == nil {
		return nil, queueNotFound(r.GetQueue())
	}
	t.dropMessages(r.GetQueue())
	s := st.GetStats()
	purged := s.GetDepth() + s.GetDeadLetters()
	s.Depth, s.Leased, s.DeadLetters = 0, 0, 0
	return &bookdv1.PurgeQueueResponse{Purged: purged}, nil
}

// route makes a message of change c, encoded as encoded, for every queue
// that takes it.
func (t *txn) route(c *Change, encoded []byte) {
	defs := t.queueList()
	if len(defs) == 0 {
		return
	}
	var product string
	productKnown := false
	for _, q := range defs {
		if _, ok := slices.BinarySearch(q.GetKinds(), c.GetKind()); !ok {
			continue
		}
		if q.GetEventId() != "" && !ChangeTouches(c, q.GetEventId()) {
			continue
		}
		if q.GetProductId() != "" {
			if !productKnown {
				product, productKnown = t.productOf(c), true
			}
			if q.GetProductId() != product {
				continue
			}
		}
		st := t.queueState(q.GetName())
		// The key of a change's message is not stored: messageView
		// derives it from the queue and the change's cursor.
		rec := &fsmv1.QueueRecord{OrderKey: changeOrderKey(c)}
		t.putMessage(st, rec, t.now, encoded)
	}
}

// productOf returns the product of a change's event (or the change's own).
func (t *txn) productOf(c *Change) string {
	if c.GetProductId() != "" || c.GetEventId() == "" {
		return c.GetProductId()
	}
	n, ok := parseID(kindEvent, c.GetEventId())
	if !ok {
		return ""
	}
	return t.cachedEvent(n).GetProductId()
}

// changeOrderKey is the key a change's messages are ordered by on a queue
// ordered by booking: the booking's, else the hold's, else the waitlist
// entry's id (a hold and the booking it became share the hold id).
func changeOrderKey(c *Change) string {
	switch {
	case c.GetHoldId() != "":
		return c.GetHoldId()
	case c.GetBookingId() != "":
		return c.GetBookingId()
	case c.GetWaitlistEntryId() != "":
		return c.GetWaitlistEntryId()
	}
	return ""
}

// Cursor renders a change's position in the feed: "1234-0" is the first
// change of the entry at Raft index 1234.
func Cursor(index uint64, seq uint32) string {
	return strconv.FormatUint(index, 10) + "-" + strconv.FormatUint(uint64(seq), 10)
}
