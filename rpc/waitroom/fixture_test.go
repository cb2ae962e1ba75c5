package waitroom

import (
	"context"
	"sync"
	"testing"
	"time"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fixture is a Rooms on a fake clock whose sold-out answer the test sets.
// It remembers which customer joined for each ticket, so a test can poll a
// ticket as its owner.
type fixture struct {
	*Rooms
	clk *clock

	mu    sync.Mutex
	sold  bool
	owner map[string]string // ticket -> customer
}

const testSecret = "a secret of at least 16 bytes"

func newFixture(tb testing.TB) *fixture {
	tb.Helper()
	signer, err := NewSigner([]byte(testSecret))
	if err != nil {
		tb.Fatal(err)
	}
	f := &fixture{clk: &clock{t: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}, owner: map[string]string{}}
	f.Rooms = New(signer, func(context.Context, string) (bool, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.sold, nil
	})
	f.Rooms.now = f.clk.now
	return f
}

func (f *fixture) configure(tb testing.TB, cfg Config) {
	tb.Helper()
	if err := f.Configure(cfg); err != nil {
		tb.Fatal(err)
	}
}

func (f *fixture) setSoldOut(v bool) { f.mu.Lock(); f.sold = v; f.mu.Unlock() }

// join joins ev as customer.
func (f *fixture) join(tb testing.TB, ev, customer string) Status {
	tb.Helper()
	st, err := f.Join(context.Background(), ev, customer)
	if err != nil {
		tb.Fatal(err)
	}
	f.mu.Lock()
	f.owner[st.Ticket] = customer
	f.mu.Unlock()
	return st
}

// status polls ticket as the customer who joined with it.
func (f *fixture) status(tb testing.TB, ev, ticket string) Status {
	tb.Helper()
	f.mu.Lock()
	customer := f.owner[ticket]
	f.mu.Unlock()
	st, err := f.Status(context.Background(), ev, ticket, customer)
	if err != nil {
		tb.Fatalf("status of %s's ticket: %v", customer, err)
	}
	return st
}

// states polls each ticket and returns their states.
func (f *fixture) states(tb testing.TB, ev string, sts []Status) []State {
	tb.Helper()
	var out []State
	for _, st := range sts {
		out = append(out, f.status(tb, ev, st.Ticket).State)
	}
	return out
}
