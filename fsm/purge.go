package fsm

import (
	"encoding/binary"
	"time"

	fsmv1 "github.com/bookd/bookd/proto/bookd/fsm/v1"
	"github.com/cockroachdb/pebble/v2"
	"google.golang.org/protobuf/proto"
)

// Purging. Idempotency records and change-feed records would grow without
// bound; a Purge command, proposed by the leader now and then, forgets the
// old ones. What it forgets is decided by times carried in the command and
// by the stored state only, so every replica forgets the same records.

// Retention rules.
const (
	// IdempotencyRetention is how long a mutation's idempotency record is
	// kept at least: a retry within it replays the first answer.
	IdempotencyRetention = 24 * time.Hour
	// maxPurgePerCommand bounds the records one Purge deletes of each kind,
	// so that one command stays small; the next Purge goes on. Idempotency
	// records go an entry's at a time, so up to an entry's more (1,023).
	maxPurgePerCommand = 10_000
)

func (t *txn) purge(r *fsmv1.Purge) (proto.Message, *Error) {
	if before := r.GetIdempotencyBeforeUnixNanos(); before > t.now-IdempotencyRetention.Nanoseconds() {
		return nil, invalid("idempotency_before_unix_nanos: records younger than %s are kept", IdempotencyRetention)
	}
	if r.GetFeedBeforeUnixNanos() > t.now {
		return nil, invalid("feed_before_unix_nanos: in the future")
	}
	t.purgeIdempotency(r.GetIdempotencyBeforeUnixNanos())
	t.purgeAdmissions(r.GetIdempotencyBeforeUnixNanos())
	t.purgeFeed(r.GetFeedBeforeUnixNanos())
	t.expireQueues(maxPurgePerCommand)
	return r, nil
}

// purgeIdempotency deletes records written before the given time.
func (t *txn) purgeIdempotency(before int64) {
	if before <= 0 {
		return
	}
	it, err := t.b.NewIter(&pebble.IterOptions{LowerBound: prefixIdemAt, UpperBound: key(prefixIdemAt, uint64(before))})
	must(err)
	var last []byte
	n := 0
	for ok := it.First(); ok && n < maxPurgePerCommand; ok = it.Next() {
		for records := it.Value(); len(records) > 0; n++ {
			k, rest, err := nextAgedRecord(records)
			must(err)
			t.delete(k)
			records = rest
		}
		last = append(last[:0], it.Key()...)
	}
	must(it.Close())
	if last != nil {
		must(t.b.DeleteRange(prefixIdemAt, append(last, 0), nil))
	}
}

// purgeFeed deletes change records of commands applied before the given
// time, and records where the retained feed now starts.
func (t *txn) purgeFeed(before int64) {
	if before <= 0 {
		return
	}
	it, err := t.b.NewIter(&pebble.IterOptions{LowerBound: prefixFeed, UpperBound: prefixEnd(prefixFeed)})
	must(err)
	var last []byte
	n := 0
	for ok := it.First(); ok && n < maxPurgePerCommand; ok = it.Next() {
		v, err := it.ValueAndErr()
		must(err)
		c := new(Change)
		must(proto.Unmarshal(v, c))
		if c.GetTimeUnixNanos() >= before {
			break
		}
		last = append(last[:0], it.Key()...)
		n++
	}
	must(it.Close())
	if last == nil {
		return
	}
	must(t.b.DeleteRange(prefixFeed, append(append([]byte{}, last...), 0), nil))
	index := binary.BigEndian.Uint64(last[len(prefixFeed):])
	seq := binary.BigEndian.Uint32(last[len(prefixFeed)+8:])
	t.setProto(keyFeedStart, &fsmv1.FeedStart{Index: index, Seq: seq})
}

// PurgeDue reports whether a Purge with these cut-offs (Unix ns) would
// forget anything.
func (f *FSM) PurgeDue(idempotencyBefore, feedBefore int64) bool {
	due := false
	_ = f.view(func(r pebble.Reader) error {
		it, err := r.NewIter(&pebble.IterOptions{LowerBound: prefixIdemAt, UpperBound: key(prefixIdemAt, uint64(max(idempotencyBefore, 0)))})
		if err != nil {
			return err
		}
		due = it.First()
		if err := it.Close(); err != nil || due {
			return err
		}
		it, err = r.NewIter(&pebble.IterOptions{LowerBound: prefixFeed, UpperBound: prefixEnd(prefixFeed)})
		if err != nil {
			return err
		}
		defer it.Close()
		if it.First() {
			c := new(Change)
			if v, err := it.ValueAndErr(); err == nil && proto.Unmarshal(v, c) == nil {
				due = c.GetTimeUnixNanos() < feedBefore
			}
		}
		return nil
	})
	return due
}
