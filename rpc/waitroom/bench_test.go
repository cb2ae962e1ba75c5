package waitroom

import (
	"context"
	"strconv"
	"testing"
	"time"
)

// BenchmarkQueueOf100k joins and polls a room where 100,000 wait. Each op
// should cost about the same as in an empty room: nothing walks the queue.
//
//	go test -run '^$' -bench QueueOf100k ./rpc/waitroom/
func BenchmarkQueueOf100k(b *testing.B) {
	const n = 100_000
	ctx := context.Background()
	setup := func(b *testing.B, cfg Config) (*fixture, []string) {
		f := newFixture(b)
		cfg.EventID = "ev1"
		f.configure(b, cfg)
		tickets := make([]string, n)
		for i := range tickets {
			st, err := f.Join(ctx, "ev1", "c"+strconv.Itoa(i))
			if err != nil {
				b.Fatal(err)
			}
			tickets[i] = st.Ticket
		}
		return f, tickets
	}
	b.Run("join", func(b *testing.B) {
		f, _ := setup(b, Config{Rate: 1, MaxActive: 1})
		i := 0
		for b.Loop() {
			if _, err := f.Join(ctx, "ev1", "new"+strconv.Itoa(i)); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("poll", func(b *testing.B) {
		f, tickets := setup(b, Config{Rate: 1, MaxActive: 1})
		i := 0
		for b.Loop() {
			k := (i * 7919) % n
			st, err := f.Status(ctx, "ev1", tickets[k], "c"+strconv.Itoa(k))
			if err != nil || (k > 0 && st.Position != k) {
				b.Fatalf("status of #%d: %+v, %v", k, st, err)
			}
			i++
		}
	})
	// churn: every op is a millisecond later, joins one and admits one; the
	// unpolled tickets time out after a minute.
	b.Run("churn", func(b *testing.B) {
		f, _ := setup(b, Config{Rate: 1000})
		i := 0
		for b.Loop() {
			f.clk.add(time.Millisecond)
			if _, err := f.Join(ctx, "ev1", "new"+strconv.Itoa(i)); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}
