package fsm

import (
	"bytes"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// SetStoreFS makes stores open on fs until the returned func is called.
func SetStoreFS(fs vfs.FS) (restore func()) {
	storeFS = fs
	return func() { storeFS = nil }
}

// FlushStore flushes f's memtables to disk.
func FlushStore(f *FSM) error {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.db.Flush()
}

// CheckSeatIndex reports the first difference between the seats held in
// memory (seatindex.go) and the store, and how many events are in memory.
func CheckSeatIndex(f *FSM) (events int, err error) {
	f.seats.mu.RLock()
	defer f.seats.mu.RUnlock()
	total := 0
	for event, es := range f.seats.events {
		total += len(es.nos)
		err := f.view(func(r pebble.Reader) error {
			nos, states, err := storedSeats(r, event)
			if err != nil {
				return err
			}
			if len(nos) != len(es.nos) || !bytes.Equal(states, es.state) {
				return fmt.Errorf("event %d: %d seats in memory, %d stored; states in memory %x, stored %x", event, len(es.nos), len(nos), es.state, states)
			}
			for label, no := range nos {
				if mem, ok := es.nos[label]; !ok || mem != no {
					return fmt.Errorf("event %d seat %q: number %d in memory (present %v), %d stored", event, label, mem, ok, no)
				}
			}
			return nil
		})
		if err != nil {
			return 0, err
		}
	}
	if total != f.seats.seats {
		return 0, fmt.Errorf("%d seats in memory, counted as %d", total, f.seats.seats)
	}
	return len(f.seats.events), nil
}

// LimitSeatsInMemory bounds the seats f keeps in memory to n (n ≥ 1).
func LimitSeatsInMemory(f *FSM, n int) {
	f.seats.reset()
	f.seats.limit = n
}

// CountKeys counts the stored keys that start with prefix.
func CountKeys(f *FSM, prefix string) (n int) {
	err := f.view(func(r pebble.Reader) error {
		it, err := r.NewIter(&pebble.IterOptions{LowerBound: []byte(prefix), UpperBound: prefixEnd([]byte(prefix))})
		if err != nil {
			return err
		}
		for ok := it.First(); ok; ok = it.Next() {
			n++
		}
		return it.Close()
	})
	if err != nil {
		panic(err)
	}
	return n
}

// StoreMetrics is Pebble's account of f's store: flushes, compactions,
// the tables in each level.
func StoreMetrics(f *FSM) *pebble.Metrics {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.db.Metrics()
}

// KeyFilterReady reports whether f's idempotency-key filter is built and
// answers lookups.
func KeyFilterReady(f *FSM) bool {
	c := f.idem.current.Load()
	return c != nil && c.ready.Load()
}

// SaveKeyFilter saves f's ready idempotency-key filter now, as the FSM
// goroutine does every filterSaveEvery.
func SaveKeyFilter(f *FSM) error {
	c := f.idem.current.Load()
	if c == nil {
		return fmt.Errorf("no filter to save")
	}
	return writeFilter(f.idem.fs, f.idem.dir, copyFilter(c, f.clock))
}

// WaitKeyFilter runs f's filter upkeep, as batches do, until a filter it
// built is in place; false if none is within 10 s.
func WaitKeyFilter(f *FSM) bool {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		f.idem.maintain(f.db, f.clock)
		if KeyFilterReady(f) && f.idem.next == nil {
			return true
		}
	}
	return false
}

// KeyFilterMisses counts the idempotency records in f's store that its
// filter says are absent: any is a bug.
func KeyFilterMisses(f *FSM) (misses, stored int, err error) {
	it, err := f.db.NewIter(&pebble.IterOptions{LowerBound: prefixIdem, UpperBound: prefixEnd(prefixIdem)})
	if err != nil {
		return 0, 0, err
	}
	defer it.Close()
	for it.First(); it.Valid(); it.Next() {
		stored++
		if !f.idem.mayContain(it.Key()) {
			misses++
		}
	}
	return misses, stored, it.Error()
}
