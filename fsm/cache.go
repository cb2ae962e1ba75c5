package fsm

import (
	"fmt"
	"sync"

	fsmv1 "github.com/bookd/bookd/proto/bookd/fsm/v1"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
)

// Caches on the apply path. A hot event is read by every command of a
// batch; going to Pebble for it each time is most of the cost of a claim.
// Neither cache changes what a command sees, only where it is read from, so
// applying stays deterministic.
//
//   - Events change only by being replaced (a new status): the FSM keeps
//     them decoded, replaces its copy with the stored one, and drops them
//     all when a snapshot replaces the store. Other goroutines may read the
//     copies (eventCache.peek) to refuse claims early.
//   - Counters change with every claim: a batch loads each event's counters
//     once, updates them in memory, and writes them back once before the
//     batch commits.
//   - Seats of a hot event are kept in memory (seatindex.go).

// maxCachedEvents bounds the event cache; past it the cache starts over.
const maxCachedEvents = 10_000

// eventCache holds decoded events. The FSM goroutine reads it without the
// lock (it is the only writer) and writes it under the lock.
type eventCache struct {
	mu sync.RWMutex
	m  map[uint64]*bookdv1.Event
}

// put stores ev, which must not be changed afterwards.
func (c *eventCache) put(idx uint64, ev *bookdv1.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCachedEvents {
		c.m = make(map[uint64]*bookdv1.Event)
	}
	c.m[idx] = ev
}

func (c *eventCache) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m = nil
}

// peek is a read from another goroutine than the FSM's.
func (c *eventCache) peek(idx uint64) *bookdv1.Event {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.m[idx]
}

// cachedEvent returns the event stored at idx, or nil if there is none.
func (t *txn) cachedEvent(idx uint64) *bookdv1.Event {
	if ev, ok := t.f.events.m[idx]; ok {
		return ev
	}
	ev := new(bookdv1.Event)
	if !t.getProto(key(prefixEvent, idx), ev) {
		return nil
	}
	t.f.events.put(idx, ev)
	return ev
}

// eventCounters returns the counters of an existing event, for reading and
// updating; flushCounters stores the changes.
func (t *txn) eventCounters(event uint64) *EventCounters {
	if c, ok := t.counters[event]; ok {
		return c
	}
	c := new(EventCounters)
	if !t.getProto(key(prefixCount, event), c) {
		panic(fmt.Sprintf("fsm: event %d has no counters", event))
	}
	if t.counters == nil {
		t.counters = make(map[uint64]*EventCounters)
	}
	t.counters[event] = c
	return c
}

// flushCounters writes the counters the batch loaded back into it. Writing
// unchanged ones too costs little and keeps this simple.
func (t *txn) flushCounters() {
	for event, c := range t.counters {
		t.setProto(key(prefixCount, event), c)
	}
}

// layout returns an event's seat layout (empty when it has no seats),
// decoded once and kept like the event.
func (t *txn) layout(event uint64) *fsmv1.SeatLayout {
	if l, ok := t.f.layouts[event]; ok {
		return l
	}
	l := new(fsmv1.SeatLayout)
	t.getProto(key(prefixLayout, event), l)
	if t.f.layouts == nil || len(t.f.layouts) >= maxCachedLayouts {
		t.f.layouts = make(map[uint64]*fsmv1.SeatLayout)
	}
	t.f.layouts[event] = l
	return l
}

// maxCachedLayouts bounds the layout cache, whose layouts can be large.
const maxCachedLayouts = 64
