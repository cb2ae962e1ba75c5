package edge

import (
	"sync"
	"time"
)

// recentWrites remembers the events a hold or confirmation went through
// this edge for lately, so that the next availability read of each goes to
// the leader and a shopper sees their own hold. Only successful writes are
// noted, a note lasts ttl, and at most max notes are kept: callers choose
// the event ids, and must not be able to make the edge hold memory for them.
type recentWrites struct {
	ttl time.Duration
	max int
	now func() time.Time

	mu sync.Mutex
	at map[string]time.Time
}

// maxRecentWrites bounds the events noted at once; past it (after dropping
// expired notes) a new one is not kept, and its next read may be as stale
// as any other.
const maxRecentWrites = 10_000

func newRecentWrites(ttl time.Duration) *recentWrites {
	return &recentWrites{ttl: ttl, max: maxRecentWrites, now: time.Now, at: make(map[string]time.Time)}
}

// note records a write to event.
func (r *recentWrites) note(event string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	if _, ok := r.at[event]; !ok && len(r.at) >= r.max {
		for e, t := range r.at {
			if now.Sub(t) >= r.ttl {
				delete(r.at, e)
			}
		}
		if len(r.at) >= r.max {
			return
		}
	}
	r.at[event] = now
}

// take reports whether event was written within ttl, and forgets it.
func (r *recentWrites) take(event string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.at[event]
	if ok {
		delete(r.at, event)
	}
	return ok && r.now().Sub(t) < r.ttl
}
