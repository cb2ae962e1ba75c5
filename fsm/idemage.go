package fsm

import (
	"encoding/binary"
	"fmt"
)

// The age index of idempotency records, which Purge reads to forget those
// past IdempotencyRetention, holds one key per Raft log entry that wrote
// records:
//
//	x/ik/<created ns of its newest record><raft index>  the records' keys, each after its length (uvarint)
//
// An entry carries up to a thousand commands: one index key for all of
// their records, instead of one each, spares the batch and the memtable
// most of the index's writes. Records stay until the entry's newest is
// due, a few milliseconds past their own time. The grouping follows the
// log, not the batches Raft hands the FSM, so every replica stores the
// same keys.

// ageRecord adds a record the command being applied wrote to its entry's
// index key, which is written when the entry's last command has run.
func (t *txn) ageRecord(record []byte) {
	if len(t.ages) > 0 && t.agesEntry != t.entry {
		t.flushAges()
	}
	t.agesEntry, t.agesNewest = t.entry, t.now
	t.ages = binary.AppendUvarint(t.ages, uint64(len(record)))
	t.ages = append(t.ages, record...)
}

// flushAges writes the index key of the entry whose records ageRecord took.
func (t *txn) flushAges() {
	if len(t.ages) == 0 {
		return
	}
	t.set(key(prefixIdemAt, uint64(t.agesNewest), t.agesEntry), t.ages)
	t.ages = t.ages[:0]
}

// nextAgedRecord splits the first record key off an age index value.
func nextAgedRecord(records []byte) (record, rest []byte, err error) {
	n, size := binary.Uvarint(records)
	if size <= 0 || n == 0 || uint64(len(records)-size) < n {
		return nil, nil, fmt.Errorf("fsm: corrupt idempotency age index value %x", records)
	}
	return records[size : size+int(n)], records[size+int(n):], nil
}
