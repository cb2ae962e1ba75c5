package edge

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is a settable clock for the cache and limiter.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestCacheCollapsesConcurrentMisses(t *testing.T) {
	c := newCache[int](time.Hour)
	var fetches atomic.Int32
	release := make(chan struct{})
	fetch := func(context.Context) (int, error) {
		fetches.Add(1)
		<-release
		return 42, nil
	}
	var wg sync.WaitGroup
	results := make([]int, 50)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := c.get(context.Background(), "ev1", fetch)
			if err != nil {
				t.Error(err)
			}
			results[i] = v
		}()
	}
	// Let every caller arrive before the one fetch returns.
	for deadline := time.Now().Add(10 * time.Second); fetches.Load() == 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	if n := fetches.Load(); n != 1 {
		t.Fatalf("%d fetches for %d concurrent callers", n, len(results))
	}
	for i, v := range results {
		if v != 42 {
			t.Fatalf("caller %d got %d", i, v)
		}
	}
}

func TestCacheServesWithinTTLAndRefetchesAfter(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1000, 0)}
	c := newCache[int](250 * time.Millisecond)
	c.now = clk.now
	n := 0
	fetch := func(context.Context) (int, error) { n++; return n, nil }
	get := func() int {
		v, err := c.get(context.Background(), "k", fetch)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	steps := []struct {
		advance time.Duration
		forget  bool
		want    int
	}{
		{0, false, 1},
		{100 * time.Millisecond, false, 1},
		{149 * time.Millisecond, false, 1},
		{1 * time.Millisecond, false, 2}, // 250ms old: refetched
		{10 * time.Millisecond, true, 3}, // forgotten: refetched
		{10 * time.Millisecond, false, 3},
	}
	for i, s := range steps {
		clk.add(s.advance)
		if s.forget {
			c.forget("k")
		}
		if got := get(); got != s.want {
			t.Fatalf("step %d: got %d, want %d", i, got, s.want)
		}
	}
}

func TestCacheDoesNotKeepErrors(t *testing.T) {
	c := newCache[int](time.Hour)
	boom := errors.New("boom")
	if _, err := c.get(context.Background(), "k", func(context.Context) (int, error) { return 0, boom }); !errors.Is(err, boom) {
		t.Fatalf("got %v, want boom", err)
	}
	v, err := c.get(context.Background(), "k", func(context.Context) (int, error) { return 7, nil })
	if err != nil || v != 7 {
		t.Fatalf("after an error: %d, %v; want a fresh fetch", v, err)
	}
}

func TestLimiter(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1000, 0)}
	l := newLimiter(2, 3) // 2 a second, bursts of 3
	l.now = clk.now
	for i := range 3 {
		if ok, _ := l.allow("a"); !ok {
			t.Fatalf("call %d of the burst refused", i+1)
		}
	}
	ok, wait := l.allow("a")
	if ok || wait != 500*time.Millisecond {
		t.Fatalf("past the burst: ok=%v wait=%v, want refused for 500ms", ok, wait)
	}
	if ok, _ := l.allow("b"); !ok {
		t.Fatal("another key shares the first key's bucket")
	}
	clk.add(500 * time.Millisecond)
	if ok, _ := l.allow("a"); !ok {
		t.Fatal("refused after the wait it asked for")
	}
	if ok, _ := (*limiter)(nil).allow("x"); !ok {
		t.Fatal("a nil limiter refused")
	}
}

func TestGate(t *testing.T) {
	g := newGate(2)
	if !g.enter() || !g.enter() {
		t.Fatal("a gate of 2 refused one of the first two")
	}
	if g.enter() {
		t.Fatal("a gate of 2 let a third in")
	}
	g.leave()
	if !g.enter() {
		t.Fatal("refused after one left")
	}
	if !newGate(0).enter() {
		t.Fatal("an unbounded gate refused")
	}
}
