package fsm

import (
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// CheckSeatIndex reports the first difference between the seats held in
// memory (seatindex.go) and the store, and how many events are in memory.
func CheckSeatIndex(f *FSM) (events int, err error) {
	f.seats.mu.RLock()
	defer f.seats.mu.RUnlock()
	total := 0
	for event, es := range f.seats.events {
		total += len(es.state)
		err := f.view(func(r pebble.Reader) error {
			prefix := key(prefixSeat, event)
			it, err := r.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
			if err != nil {
				return err
			}
			defer it.Close()
			n := 0
			for it.First(); it.Valid(); it.Next() {
				n++
				label := string(it.Key()[len(prefix):])
				stored, err := decodeSeat(it.Value())
				if err != nil {
					return err
				}
				if mem, ok := es.state[label]; !ok || mem != stored {
					return fmt.Errorf("event %d seat %q: in memory %+v (present %v), stored %+v", event, label, mem, ok, stored)
				}
			}
			if n != len(es.state) {
				return fmt.Errorf("event %d: %d seats in memory, %d stored", event, len(es.state), n)
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
