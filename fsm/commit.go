package fsm

import (
	"bytes"
	"context"
	"errors"
	"slices"

	"github.com/cockroachdb/pebble/v2"
)

// commitSorted commits b's writes to db in key order, the last write of a
// key only. Pebble inserts a batch into its memtable (a skiplist) entry by
// entry, reusing the position of the last insert: keys that follow one
// another — a batch's new bookings, feed records and index entries, all
// numbered in order — then cost a step each instead of a search from the
// top. Applied in command order, a batch alternates between them and every
// insert searches. b is an indexed batch, whose own skiplist already holds
// its keys in order: reading them from it cost half of what sorting them
// did. Deletions, which its iterator hides, are merged in. A batch with
// anything but sets and deletes (a purge's range deletions) commits as it
// is: reordering could move a write before a range deletion that must not
// cover it.
func commitSorted(db *pebble.DB, b *pebble.Batch) error {
	var deleted [][]byte
	for r := b.Reader(); ; {
		kind, k, _, ok, err := r.Next()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		switch kind {
		case pebble.InternalKeyKindSet:
		case pebble.InternalKeyKindDelete:
			deleted = append(deleted, k)
		default:
			return b.Commit(pebble.NoSync)
		}
	}
	slices.SortFunc(deleted, bytes.Compare)
	deleted = slices.CompactFunc(deleted, bytes.Equal)
	it, err := b.NewBatchOnlyIter(context.Background(), nil)
	if err != nil {
		return err
	}
	sorted := db.NewBatchWithSize(len(b.Repr()))
	defer sorted.Close()
	for it.First(); it.Valid() && err == nil; it.Next() {
		// A key deleted in b and not set after is not in it.
		for len(deleted) > 0 && bytes.Compare(deleted[0], it.Key()) < 0 && err == nil {
			err = sorted.Delete(deleted[0], nil)
			deleted = deleted[1:]
		}
		if len(deleted) > 0 && bytes.Equal(deleted[0], it.Key()) {
			deleted = deleted[1:]
		}
		if err == nil {
			err = sorted.Set(it.Key(), it.Value(), nil)
		}
	}
	if err := errors.Join(err, it.Close()); err != nil {
		return err
	}
	for _, k := range deleted {
		if err := sorted.Delete(k, nil); err != nil {
			return err
		}
	}
	return sorted.Commit(pebble.NoSync)
}
