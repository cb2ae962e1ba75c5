package edge

import (
	"context"
	"sync"
	"time"
)

// cache keeps answers for at most ttl and collapses concurrent misses of one
// key into a single fetch: however many page views arrive at once, the
// cluster sees one read per key per ttl. Errors are not cached.
type cache[T any] struct {
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex
	entries map[string]*entry[T]
}

type entry[T any] struct {
	val     T
	fetched time.Time
	gen     uint64        // bumped by forget; a fetch of an older gen is not stored
	ready   chan struct{} // closed when the fetch in flight ends; nil when none
	err     error
}

// maxEntries bounds the cache; past it, expired entries are dropped.
const maxEntries = 10_000

func newCache[T any](ttl time.Duration) *cache[T] {
	return &cache[T]{ttl: ttl, now: time.Now, entries: make(map[string]*entry[T])}
}

// get returns the cached value of key if it is younger than ttl, and
// otherwise fetches it once for all callers waiting on key.
func (c *cache[T]) get(ctx context.Context, key string, fetch func(context.Context) (T, error)) (T, error) {
	for {
		c.mu.Lock()
		e := c.entries[key]
		if e == nil {
			c.prune()
			e = &entry[T]{}
			c.entries[key] = e
		}
		if e.ready == nil && !e.fetched.IsZero() && c.now().Sub(e.fetched) < c.ttl {
			v := e.val
			c.mu.Unlock()
			return v, nil
		}
		if e.ready != nil { // someone is fetching: wait for them
			ready := e.ready
			c.mu.Unlock()
			select {
			case <-ready:
			case <-ctx.Done():
				var zero T
				return zero, ctx.Err()
			}
			c.mu.Lock()
			v, err, fetched := e.val, e.err, e.fetched
			c.mu.Unlock()
			if err == nil && !fetched.IsZero() {
				return v, nil
			}
			if err != nil {
				var zero T
				return zero, err
			}
			continue
		}
		ready, gen := make(chan struct{}), e.gen
		e.ready = ready
		c.mu.Unlock()

		started := c.now()
		// The fetch serves every waiter: it must not die with the first
		// caller's context, only be bounded by it.
		v, err := fetch(context.WithoutCancel(ctx))
		c.mu.Lock()
		e.err = err
		if err == nil && e.gen == gen {
			e.val, e.fetched = v, started
		}
		e.ready = nil
		close(ready)
		c.mu.Unlock()
		return v, err
	}
}

// forget drops key's cached value, so the next get fetches afresh.
func (c *cache[T]) forget(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.entries[key]; e != nil {
		e.gen++
		e.fetched = time.Time{}
	}
}

// prune drops expired entries when the cache is full. c.mu is held.
func (c *cache[T]) prune() {
	if len(c.entries) < maxEntries {
		return
	}
	now := c.now()
	for k, e := range c.entries {
		if e.ready == nil && now.Sub(e.fetched) >= c.ttl {
			delete(c.entries, k)
		}
	}
}
