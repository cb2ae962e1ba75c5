package edge

import (
	"sync"
	"time"
)

// limiter is a set of token buckets, one per key (a client's IP, an event):
// each refills at rate tokens a second up to burst. A call that finds its
// bucket empty is refused at once and told when a token will be there.
type limiter struct {
	rate  float64
	burst float64
	now   func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
	swept   time.Time
}

type bucket struct {
	tokens float64
	at     time.Time
}

func newLimiter(rate float64, burst int) *limiter {
	if rate <= 0 {
		return nil
	}
	return &limiter{rate: rate, burst: float64(burst), now: time.Now, buckets: make(map[string]*bucket)}
}

// allow takes a token from key's bucket. When there is none it returns false
// and how long until there is one. A nil limiter allows everything.
func (l *limiter) allow(key string) (bool, time.Duration) {
	if l == nil {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.refilled(key)
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, l.waitFor(b)
}

// allowAll takes a token from the bucket of each of keys, which are
// distinct, or from none: when one has none it returns false and how long
// until every one has one.
func (l *limiter) allowAll(keys []string) (bool, time.Duration) {
	if l == nil {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	ok, wait := true, time.Duration(0)
	for _, k := range keys {
		if b := l.refilled(k); b.tokens < 1 {
			ok, wait = false, max(wait, l.waitFor(b))
		}
	}
	if ok {
		for _, k := range keys {
			l.buckets[k].tokens--
		}
	}
	return ok, wait
}

// giveBack returns a token taken from key's bucket by a call that turned
// out not to count.
func (l *limiter) giveBack(key string) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if b := l.buckets[key]; b != nil {
		b.tokens = min(l.burst, b.tokens+1)
	}
}

// refilled returns key's bucket, made or refilled up to now. l.mu is held.
func (l *limiter) refilled(key string) *bucket {
	now := l.now()
	l.sweep(now)
	b := l.buckets[key]
	if b == nil {
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[key] = b
	}
	b.tokens = min(l.burst, b.tokens+now.Sub(b.at).Seconds()*l.rate)
	b.at = now
	return b
}

// waitFor is how long until b has a token.
func (l *limiter) waitFor(b *bucket) time.Duration {
	return time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
}

// sweep forgets, once a minute, the buckets that have refilled: they hold
// nothing a fresh bucket would not. l.mu is held.
func (l *limiter) sweep(now time.Time) {
	if now.Sub(l.swept) < time.Minute {
		return
	}
	l.swept = now
	full := time.Duration(l.burst / l.rate * float64(time.Second))
	for k, b := range l.buckets {
		if now.Sub(b.at) > full {
			delete(l.buckets, k)
		}
	}
}

// gate bounds the calls in flight; a nil gate lets everything through.
type gate chan struct{}

func newGate(n int) gate {
	if n <= 0 {
		return nil
	}
	return make(gate, n)
}

// enter takes a place if one is free; leave gives it back.
func (g gate) enter() bool {
	if g == nil {
		return true
	}
	select {
	case g <- struct{}{}:
		return true
	default:
		return false
	}
}

func (g gate) leave() {
	if g != nil {
		<-g
	}
}
