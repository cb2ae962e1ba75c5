package fsm

import (
	"bytes"
	"slices"

	"github.com/cockroachdb/pebble/v2"
)

// commitSorted commits b's writes to db in key order, the last write of a
// key only. Pebble inserts a batch into its memtable (a skiplist) entry by
// entry, reusing the position of the last insert: keys that follow one
// another — a batch's new bookings, feed records and index entries, all
// numbered in order — then cost a step each instead of a search from the
// top. Applied in command order, a batch alternates between them and every
// insert searches. A batch with anything but sets and deletes (a purge's
// range deletions) commits as it is: reordering could move a write before
// a range deletion that must not cover it.
func commitSorted(db *pebble.DB, b *pebble.Batch) error {
	type write struct {
		kind       pebble.InternalKeyKind
		key, value []byte
		seq        int // order in b
	}
	writes := make([]write, 0, b.Count())
	for r := b.Reader(); ; {
		kind, k, v, ok, err := r.Next()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		if kind != pebble.InternalKeyKindSet && kind != pebble.InternalKeyKindDelete {
			return b.Commit(pebble.NoSync)
		}
		writes = append(writes, write{kind, k, v, len(writes)})
	}
	slices.SortFunc(writes, func(a, b write) int {
		if c := bytes.Compare(a.key, b.key); c != 0 {
			return c
		}
		return a.seq - b.seq
	})
	sorted := db.NewBatchWithSize(len(b.Repr()))
	defer sorted.Close()
	for i, w := range writes {
		if i+1 < len(writes) && bytes.Equal(w.key, writes[i+1].key) {
			continue // a later write of the key replaces this one
		}
		var err error
		if w.kind == pebble.InternalKeyKindDelete {
			err = sorted.Delete(w.key, nil)
		} else {
			err = sorted.Set(w.key, w.value, nil)
		}
		if err != nil {
			return err
		}
	}
	return sorted.Commit(pebble.NoSync)
}
