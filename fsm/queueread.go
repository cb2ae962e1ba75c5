package fsm

import (
	"encoding/binary"
	"strconv"
	"strings"

	fsmv1 "github.com/bookd/bookd/proto/bookd/fsm/v1"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/cockroachdb/pebble/v2"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// messageView renders a stored message for callers.
func messageView(queue string, rec *fsmv1.QueueRecord) *bookdv1.QueueMessage {
	m := &bookdv1.QueueMessage{
		Id:         strconv.FormatUint(rec.GetNumber(), 10),
		Queue:      queue,
		Key:        rec.GetKey(), // an enqueued message's; a change's is set below
		Body:       rec.GetBody(),
		OrderKey:   rec.GetOrderKey(),
		Attempts:   rec.GetAttempts(),
		EnqueuedAt: nanosToTimestamp(rec.GetEnqueuedUnixNanos()),
		VisibleAt:  nanosToTimestamp(rec.GetVisibleUnixNanos()),
		LastError:  rec.GetLastError(),
	}
	if c := rec.GetChange(); c != nil {
		m.Change = PublicChange(c)
		m.Key = queue + ":" + m.Change.GetCursor()
	}
	if rec.GetDeadUnixNanos() != 0 {
		m.DeadLetteredAt, m.VisibleAt = nanosToTimestamp(rec.GetDeadUnixNanos()), nil
	}
	return m
}

// ChangeTouches reports whether a change is about an event: names it, or
// has an item on it.
func ChangeTouches(c *Change, eventID string) bool {
	return c.GetEventId() == eventID || itemsTouch(c.GetItems(), eventID)
}

// PublicChange renders a change-feed record as the API's Change.
func PublicChange(c *Change) *bookdv1.Change {
	return &bookdv1.Change{
		Cursor:          Cursor(c.GetIndex(), c.GetSeq()),
		Time:            nanosToTimestamp(c.GetTimeUnixNanos()),
		Kind:            c.GetKind(),
		EventId:         c.GetEventId(),
		HoldId:          c.GetHoldId(),
		BookingId:       c.GetBookingId(),
		CustomerId:      c.GetCustomerId(),
		Quantity:        c.GetQuantity(),
		Seats:           c.GetSeats(),
		WaitlistEntryId: c.GetWaitlistEntryId(),
		ProductId:       c.GetProductId(),
		PaymentRef:      c.GetPaymentRef(),
		Items:           c.GetItems(),
		Refund:          c.GetRefund(),
		Currency:        c.GetCurrency(),
		Total:           c.GetTotal(),
		Type:            bookdv1.ChangeKind(bookdv1.ChangeKind_value["CHANGE_KIND_"+strings.ToUpper(c.GetKind())]),
	}
}

// queueView renders a queue with its stats; oldest is its oldest live
// message's enqueue time (nil when it has none).
func queueView(st *fsmv1.QueueState, oldest *timestamppb.Timestamp) *bookdv1.Queue {
	q := proto.Clone(st.GetQueue()).(*bookdv1.Queue)
	q.Stats = proto.Clone(st.GetStats()).(*bookdv1.QueueStats)
	q.Stats.OldestEnqueuedAt = oldest
	return q
}

// Queues returns every queue with its stats, in name order.
func (f *FSM) Queues() ([]*bookdv1.Queue, error) {
	var out []*bookdv1.Queue
	floors := f.floors.msgFloors() // before the snapshot
	err := f.view(func(r pebble.Reader) error {
		_, err := scanRange(r, prefixQueue, prefixEnd(prefixQueue), -1, func(_, v []byte) error {
			st := new(fsmv1.QueueState)
			if err := proto.Unmarshal(v, st); err != nil {
				return err
			}
			q, err := f.readQueue(r, st, floors[st.GetQueue().GetName()])
			out = append(out, q)
			return err
		})
		return err
	})
	return out, err
}

// Queue returns one queue with its stats.
func (f *FSM) Queue(name string) (*bookdv1.Queue, error) {
	if err := ValidateQueueName("queue", name); err != nil {
		return nil, err
	}
	var q *bookdv1.Queue
	floor := f.floors.msgFloors()[name] // before the snapshot
	err := f.view(func(r pebble.Reader) error {
		st := new(fsmv1.QueueState)
		ok, err := getProto(r, queueStateKey(name), st)
		if err != nil {
			return err
		}
		if !ok {
			return queueNotFound(name)
		}
		q, err = f.readQueue(r, st, floor)
		return err
	})
	return q, err
}

// readQueue renders a queue with its stats, the oldest live message read
// from its message floor (taken before r's snapshot), which it raises.
func (f *FSM) readQueue(r pebble.Reader, st *fsmv1.QueueState, floor msgFloor) (*bookdv1.Queue, error) {
	var oldest *timestamppb.Timestamp
	name := st.GetQueue().GetName()
	start := queueKey(prefixQueueMsg, name)
	first := st.GetNextMessage() // none live: every number below is gone
	_, err := scanRange(r, u64(append([]byte{}, start...), floor.floor), prefixEnd(start), 1, func(_, v []byte) error {
		rec := new(fsmv1.QueueRecord)
		if err := proto.Unmarshal(v, rec); err != nil {
			return err
		}
		oldest, first = nanosToTimestamp(rec.GetEnqueuedUnixNanos()), rec.GetNumber()
		return nil
	})
	if err == nil {
		f.floors.raiseMsg(name, first, floor.gen)
	}
	return queueView(st, oldest), err
}

// HasQueue reports whether the queue exists in this node's state.
func (f *FSM) HasQueue(name string) bool {
	ok := false
	_ = f.view(func(r pebble.Reader) (err error) {
		ok, err = exists(r, queueStateKey(name))
		return err
	})
	return ok
}

// QueueMessages lists a queue's live messages (dead false) or its dead
// letters, in number order, after the message afterID ("" from the first).
func (f *FSM) QueueMessages(name, afterID string, limit int, dead bool) ([]*bookdv1.QueueMessage, error) {
	if err := ValidateQueueName("queue", name); err != nil {
		return nil, err
	}
	var after uint64
	if afterID != "" {
		n, ok := ParseMessageID(afterID)
		if !ok {
			return nil, invalid("after_id: %q is not a message id (like 12)", clip(afterID))
		}
		after = n
	}
	prefix := prefixQueueMsg
	if dead {
		prefix = prefixQueueDead
	}
	var out []*bookdv1.QueueMessage
	err := f.view(func(r pebble.Reader) error {
		if ok, err := exists(r, queueStateKey(name)); err != nil || !ok {
			return orNotFound(err, queueNotFound(name))
		}
		start := queueKey(prefix, name)
		_, err := scanRange(r, u64(append([]byte{}, start...), after+1), prefixEnd(start), limit, func(_, v []byte) error {
			rec := new(fsmv1.QueueRecord)
			if err := proto.Unmarshal(v, rec); err != nil {
				return err
			}
			out = append(out, messageView(name, rec))
			return nil
		})
		return err
	})
	return out, err
}

func exists(r pebble.Reader, k []byte) (bool, error) {
	_, closer, err := r.Get(k)
	if err == pebble.ErrNotFound {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, closer.Close()
}

func orNotFound(err error, nf *Error) error {
	if err != nil {
		return err
	}
	return nf
}

// QueueNextDue returns when a queue's earliest due message may be
// received (Unix ns), false when the queue has no live message. A hint for
// a waiting Receive: on a queue ordered by booking that message may still
// wait for an earlier one.
func (f *FSM) QueueNextDue(name string) (int64, bool) {
	var next int64
	found := false
	floor := f.floors.dueFloor(name)
	_ = f.view(func(r pebble.Reader) error {
		start := queueKey(prefixQueueDue, name)
		_, err := scanRange(r, u64(append([]byte{}, start...), uint64(floor)), prefixEnd(start), 1, func(k, _ []byte) error {
			next, found = int64(binary.BigEndian.Uint64(k[len(start):])), true
			return nil
		})
		return err
	})
	return next, found
}

// QueueRetentionDue reports whether some queue holds a message or dead
// letter older than its retention, by the state machine's clock: a Purge
// would drop it.
func (f *FSM) QueueRetentionDue() bool {
	due := false
	_ = f.view(func(r pebble.Reader) error {
		clock, err := readClock(r)
		if err != nil {
			return err
		}
		_, err = scanRange(r, prefixQueue, prefixEnd(prefixQueue), -1, func(_, v []byte) error {
			st := new(fsmv1.QueueState)
			if err := proto.Unmarshal(v, st); err != nil {
				return err
			}
			cutoff := clock - st.GetQueue().GetRetention().AsDuration().Nanoseconds()
			for _, prefix := range [][]byte{prefixQueueMsg, prefixQueueDead} {
				start := queueKey(prefix, st.GetQueue().GetName())
				if _, err := scanRange(r, start, prefixEnd(start), 1, func(_, v []byte) error {
					rec := new(fsmv1.QueueRecord)
					if err := proto.Unmarshal(v, rec); err != nil {
						return err
					}
					due = due || rec.GetEnqueuedUnixNanos() < cutoff
					return nil
				}); err != nil {
					return err
				}
			}
			return nil
		})
		return err
	})
	return due
}
