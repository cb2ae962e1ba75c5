package fsm

import (
	"sync"

	"github.com/cockroachdb/pebble/v2"
)

// Seats in memory. Every claim on a seated event reads each seat it names,
// on every replica, and the leader reads them again to refuse claims
// without the log; from Pebble each read is a seek through the memtables
// and a table or two. Once an event's seats are asked for often enough to
// pay for one scan of them, the FSM loads the state of all of them into
// memory and keeps it there, written through by every change of a seat.
//
// Pebble stays the only source of truth: the index holds exactly what the
// store (with the batch being applied) holds for the events in it, so
// reading from it or from the store gives the same answer and applying
// stays deterministic. Dropping an event from it is always safe.
//
// The FSM goroutine loads, writes and drops; other goroutines may read
// (peek) under the read lock. Their reads may see the writes of a batch
// being applied, which is committed in the Raft log and will be in the store.

const (
	// maxIndexedSeats bounds the seats in memory, all events together
	// (about 60 bytes each); past it the least recently used events go.
	maxIndexedSeats = 1 << 20
	// seatsPerAsk: an event is loaded when the seat reads that missed the
	// index reach its seat count / seatsPerAsk. A scan of one seat costs
	// about a thirtieth of a point read.
	seatsPerAsk = 32
	// maxAskedEvents bounds the events whose misses are counted.
	maxAskedEvents = 10_000
)

// seatIndex holds the seats of the hot seated events.
type seatIndex struct {
	mu     sync.RWMutex
	events map[uint64]*eventSeats
	seats  int // in all events
	clock  uint64
	limit  int // seats in memory at most; 0 is maxIndexedSeats

	// FSM goroutine only: misses of events not in memory.
	asks map[uint64]int
}

// eventSeats is the state of every seat of one event: nos numbers the
// seats by label, state is theirs by number (seats.go).
type eventSeats struct {
	nos      map[string]uint32
	state    []byte
	lastUsed uint64
}

// reset forgets everything (the store was replaced).
func (x *seatIndex) reset() {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.events, x.seats, x.asks, x.clock = nil, 0, nil, 0
}

// get reads a seat from memory: indexed is false when the event is not
// there; found is false when the event has no such seat. FSM goroutine.
func (x *seatIndex) get(event uint64, label string) (state byte, found, indexed bool) {
	es, indexed := x.events[event]
	if !indexed {
		return 0, false, false
	}
	x.clock++
	es.lastUsed = x.clock
	no, found := es.nos[label]
	if found {
		state = es.state[no]
	}
	return state, found, true
}

// peek is get for other goroutines.
func (x *seatIndex) peek(event uint64, label string) (state byte, found, indexed bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	es, indexed := x.events[event]
	if !indexed {
		return 0, false, false
	}
	no, found := es.nos[label]
	if found {
		state = es.state[no]
	}
	return state, found, true
}

// move changes a seat of an event in memory from state from to state to,
// if the event is there (indexed), and returns the number of the chunk that
// holds it. ok is false, and nothing changes, when the event has no such
// seat or it is not in state from. FSM goroutine.
func (x *seatIndex) move(event uint64, label string, from, to byte) (chunk uint32, ok, indexed bool) {
	es, indexed := x.events[event]
	if !indexed {
		return 0, false, false
	}
	no, found := es.nos[label]
	if !found || es.state[no] != from {
		return 0, false, true
	}
	x.mu.Lock()
	es.state[no] = to
	x.mu.Unlock()
	return no / seatChunk, true, true
}

// chunk returns the states of a chunk of an event's seats in memory, or
// false when the event is not there. FSM goroutine; the slice is valid
// until the next change.
func (x *seatIndex) chunk(event uint64, chunk uint32) ([]byte, bool) {
	es, ok := x.events[event]
	if !ok {
		return nil, false
	}
	lo := chunk * seatChunk
	return es.state[lo:min(lo+seatChunk, uint32(len(es.state)))], true
}

// missed counts a read of an event's seat that went to the store, and
// loads the event's seats from r once they are worth it, reporting whether
// it did; beforeLoad runs first. seats is the event's seat count. FSM
// goroutine.
func (x *seatIndex) missed(r pebble.Reader, event uint64, seats int64, beforeLoad func()) bool {
	if seats <= 0 || seats > int64(x.max()) {
		return false
	}
	if x.asks == nil || len(x.asks) >= maxAskedEvents {
		x.asks = make(map[uint64]int)
	}
	x.asks[event]++
	if int64(x.asks[event])*seatsPerAsk < seats {
		return false
	}
	delete(x.asks, event)
	beforeLoad()
	nos, state, err := storedSeats(r, event)
	must(err)
	x.add(event, &eventSeats{nos: nos, state: state})
	return true
}

func (x *seatIndex) max() int {
	if x.limit > 0 {
		return x.limit
	}
	return maxIndexedSeats
}

// add puts an event's seats in memory, dropping the least recently used
// events to stay within maxIndexedSeats.
func (x *seatIndex) add(event uint64, es *eventSeats) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for x.seats+len(es.nos) > x.max() {
		var oldest uint64
		var victim *eventSeats
		for id, e := range x.events {
			if victim == nil || e.lastUsed < victim.lastUsed {
				oldest, victim = id, e
			}
		}
		x.seats -= len(victim.nos)
		delete(x.events, oldest)
	}
	if x.events == nil {
		x.events = make(map[uint64]*eventSeats)
	}
	x.clock++
	es.lastUsed = x.clock
	x.events[event] = es
	x.seats += len(es.nos)
}
