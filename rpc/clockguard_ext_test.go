package rpc_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/rpc"
	"github.com/bookd/bookd/rpc/clustertest"
	"github.com/bookd/bookd/rpc/metrics"
	"google.golang.org/protobuf/types/known/durationpb"
)

// maxClockOffset is the default --max-clock-offset.
const maxClockOffset = 500 * time.Millisecond

// skewedCluster starts a 3-node cluster, then restarts n3 with its clock
// offset by offset (a clock that goes wrong on a running cluster: the
// first leader of a new cluster sets replicated time before any clock is
// measured). n3 logs at warn level and above to the returned buffer.
// guardOff runs every node with raftnode.Config.NoClockGuard.
func skewedCluster(t *testing.T, offset time.Duration, guardOff bool, opts clustertest.Options) (*clustertest.Cluster, *clustertest.Node, *syncBuffer) {
	t.Helper()
	var skew atomic.Int64
	logs := &syncBuffer{}
	opts.Configure = func(id string, cfg *rpc.ServerConfig) {
		cfg.Node.NoClockGuard = guardOff
		if id == "n3" {
			cfg.Node.ClockOffset = time.Duration(skew.Load())
			cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
		}
	}
	c := clustertest.Start(t, 3, opts)
	n3 := c.Nodes[2]
	if c.WaitReady() == n3 {
		if _, err := clusterClient(n3.RPCAddr).TransferLeadership(context.Background(), &bookdv1.TransferLeadershipRequest{Id: "n1"}); err != nil {
			t.Fatalf("move leadership off n3: %v", err)
		}
	}
	c.Stop(n3)
	skew.Store(int64(offset))
	c.Restart(n3)
	c.WaitReady()
	return c, n3, logs
}

// waitClockProblem waits until nd has measured its clock off by about offset.
func waitClockProblem(c *clustertest.Cluster, nd *clustertest.Node, offset time.Duration) {
	c.Eventually(20*time.Second, func() error {
		st := nd.Server.Node().ClockStatus()
		if st.Problem == "" || (st.Offset-offset).Abs() > 100*time.Millisecond {
			return fmt.Errorf("%s has not found its clock %s off: %+v", nd.ID, offset, st)
		}
		return nil
	})
}

// leaderNow is the running node that believes it leads, or nil.
func leaderNow(c *clustertest.Cluster) *clustertest.Node {
	for _, nd := range c.Running() {
		if nd.Server.Node().IsLeader() {
			return nd
		}
	}
	return nil
}

// waitLeaderOtherThan waits until a node other than nd leads, and every
// running node knows it.
func waitLeaderOtherThan(t *testing.T, c *clustertest.Cluster, nd *clustertest.Node) *clustertest.Node {
	t.Helper()
	var leader *clustertest.Node
	c.Eventually(10*time.Second, func() error {
		leader = leaderNow(c)
		switch {
		case leader == nil:
			return fmt.Errorf("no leader")
		case leader == nd:
			return fmt.Errorf("%s still leads", nd.ID)
		}
		for _, o := range c.Running() {
			if id, _ := o.Server.Node().Leader(); id != leader.ID {
				return fmt.Errorf("%s sees leader %q, not %s", o.ID, id, leader.ID)
			}
		}
		return nil
	})
	return leader
}

// checkReplicatedTime fails the test if a running node's state machine
// clock is ahead of real time by more than the bound (and some slack).
func checkReplicatedTime(t *testing.T, c *clustertest.Cluster) {
	t.Helper()
	for _, nd := range c.Running() {
		clock, err := nd.Server.Node().FSM().Clock()
		if err != nil {
			t.Fatal(err)
		}
		if ahead := time.Duration(clock - time.Now().UnixNano()); ahead > maxClockOffset+250*time.Millisecond {
			t.Errorf("%s: replicated time is %s ahead of real time, past --max-clock-offset %s", nd.ID, ahead, maxClockOffset)
		}
	}
}

// A node whose clock is off by more than --max-clock-offset does not keep
// leadership, however it gets it (a transfer to it, the leader stopping),
// says why in its log, its metrics and its status, and never moves
// replicated time past the bound meanwhile.
func TestSkewedNodeDoesNotLead(t *testing.T) {
	for _, offset := range []time.Duration{25 * time.Hour, maxClockOffset + 2*time.Second, -25 * time.Hour} {
		t.Run(offset.String(), func(t *testing.T) {
			c, n3, logs := skewedCluster(t, offset, false, clustertest.Options{})
			ctx := context.Background()
			waitClockProblem(c, n3, offset)
			c.Eventually(10*time.Second, func() error {
				for _, nd := range c.Nodes[:2] {
					if st := nd.Server.Node().ClockStatus(); !st.Known() {
						return fmt.Errorf("%s has not measured a majority of the clocks: %+v", nd.ID, st)
					}
				}
				return nil
			})
			for _, nd := range c.Nodes[:2] {
				if st := nd.Server.Node().ClockStatus(); st.Problem != "" {
					t.Errorf("%s, with a good clock, judges it off: %+v", nd.ID, st)
				}
			}

			// Leadership handed to it: it hands it on.
			for round := range 3 {
				leader := waitLeaderOtherThan(t, c, n3)
				resp, err := clusterClient(leader.RPCAddr).TransferLeadership(ctx, &bookdv1.TransferLeadershipRequest{Id: n3.ID})
				t.Logf("round %d: transfer to %s: %v, %v", round, n3.ID, resp.GetLeaderId(), err)
				waitLeaderOtherThan(t, c, n3)
			}
			if got := n3.Server.Node().ClockStatus().Handoffs; got == 0 {
				t.Errorf("%s handed leadership over %d times after transfers to it", n3.ID, got)
			}
			// The leader stops (handing leadership to a follower, perhaps
			// n3): whoever leads then is not n3.
			for range 2 {
				leader := waitLeaderOtherThan(t, c, n3)
				c.Stop(leader)
				waitLeaderOtherThan(t, c, n3)
				if _, err := retry(ctx, func(ctx context.Context) (*bookdv1.CreateEventResponse, error) {
					return bookingClient(n3.RPCAddr).CreateEvent(ctx, &bookdv1.CreateEventRequest{Name: "during", Capacity: 1})
				}); err != nil {
					t.Fatalf("write with %s stopped: %v", leader.ID, err)
				}
				c.Restart(leader)
			}
			waitLeaderOtherThan(t, c, n3)
			checkReplicatedTime(t, c)

			// Its status says so, to `cluster status` too.
			st, err := clusterClient(n3.RPCAddr).GetStatus(ctx, &bookdv1.GetStatusRequest{})
			if err != nil {
				t.Fatal(err)
			}
			clock := st.GetClock()
			if clock.GetProblem() == "" || (time.Duration(clock.GetOffsetMs())*time.Millisecond-offset).Abs() > 100*time.Millisecond ||
				clock.GetMaxOffsetMs() != maxClockOffset.Milliseconds() || !clock.GetGuarded() || clock.GetHandoffs() == 0 {
				t.Errorf("%s's status reports its clock as %v, want %s off with a problem", n3.ID, clock, offset)
			}
			for _, nd := range c.Nodes[:2] {
				st, err := clusterClient(nd.RPCAddr).GetStatus(ctx, &bookdv1.GetStatusRequest{})
				if err != nil {
					t.Fatal(err)
				}
				if p := st.GetClock().GetProblem(); p != "" {
					t.Errorf("%s's status reports a clock problem: %s", nd.ID, p)
				}
			}
			// Its metrics.
			m := metrics.New()
			m.Watch(n3.Server.Node())
			if got := gauge(t, m, "bookd_clock_problem"); got != 1 {
				t.Errorf("bookd_clock_problem = %v, want 1", got)
			}
			if got := gauge(t, m, "bookd_clock_offset_seconds"); (time.Duration(got*1e9) - offset).Abs() > 100*time.Millisecond {
				t.Errorf("bookd_clock_offset_seconds = %v, want %v", got, offset.Seconds())
			}
			if got := gauge(t, m, "bookd_clock_leadership_handoffs_total"); got < 1 {
				t.Errorf("bookd_clock_leadership_handoffs_total = %v, want at least 1", got)
			}
			// Its log, at error level, with the offset.
			log := logs.String()
			if !strings.Contains(log, "level=ERROR") || !strings.Contains(log, "exceeds --max-clock-offset") || !strings.Contains(log, "offset=") {
				t.Errorf("%s's log does not say why it does not lead:\n%s", n3.ID, log)
			}
		})
	}
}

// The leap: a leader whose clock is 25h ahead stamps a command. Without
// the guard, replicated time leaps 25h: the leader's purge forgets the
// idempotency record of a booking made a moment before, so its retry books
// a second time, and a hold of an hour expires at once. With the guard,
// neither happens.
func TestClockLeapCannotForgetIdempotencyRecords(t *testing.T) {
	for _, guardOff := range []bool{true, false} {
		t.Run(fmt.Sprintf("guard off %v", guardOff), func(t *testing.T) {
			const offset = 25 * time.Hour
			c, n3, _ := skewedCluster(t, offset, guardOff, clustertest.Options{PurgeInterval: 100 * time.Millisecond})
			ctx := context.Background()
			n1 := c.Nodes[0]
			ev := createEvent(t, n1.RPCAddr, 10, nil)
			book := &bookdv1.BookRequest{EventId: ev.Id, CustomerId: "ann", Quantity: 1, IdempotencyKey: "leap-retry"}
			first, err := retry(ctx, func(ctx context.Context) (*bookdv1.BookResponse, error) {
				return bookingClient(n1.RPCAddr).Book(ctx, book)
			})
			if err != nil {
				t.Fatal(err)
			}
			hold, err := retry(ctx, func(ctx context.Context) (*bookdv1.HoldResponse, error) {
				return bookingClient(n1.RPCAddr).Hold(ctx, &bookdv1.HoldRequest{EventId: ev.Id, CustomerId: "bob", Quantity: 1, Ttl: durationpb.New(time.Hour), IdempotencyKey: "leap-hold"})
			})
			if err != nil {
				t.Fatal(err)
			}
			waitClockProblem(c, n3, offset) // measured (and reported) with the guard off too

			// Leadership to the skewed node, and a write for it to stamp.
			resp, err := clusterClient(n1.RPCAddr).TransferLeadership(ctx, &bookdv1.TransferLeadershipRequest{Id: n3.ID})
			t.Logf("transfer to %s: %v, %v", n3.ID, resp.GetLeaderId(), err)
			if guardOff && (err != nil || resp.GetLeaderId() != n3.ID) {
				t.Fatalf("transfer to %s without the guard: %v, %v", n3.ID, resp.GetLeaderId(), err)
			}
			if _, err := retry(ctx, func(ctx context.Context) (*bookdv1.CreateEventResponse, error) {
				return bookingClient(n1.RPCAddr).CreateEvent(ctx, &bookdv1.CreateEventRequest{Name: "tick", Capacity: 1, IdempotencyKey: "tick"})
			}); err != nil {
				t.Fatal(err)
			}
			retryBook := func() (*bookdv1.Booking, error) {
				r, err := retry(ctx, func(ctx context.Context) (*bookdv1.BookResponse, error) {
					return bookingClient(n1.RPCAddr).Book(ctx, book)
				})
				return r.GetBooking(), err
			}
			holdStatus := func() bookdv1.HoldStatus {
				h, err := bookingClient(n1.RPCAddr).GetHold(ctx, &bookdv1.GetHoldRequest{HoldId: hold.Hold.Id})
				if err != nil {
					t.Fatalf("get hold: %v", err)
				}
				return h.Hold.Status
			}

			if guardOff {
				// The leap happens: the skewed leader purges the fresh
				// record, and the retry books again.
				c.Eventually(20*time.Second, func() error {
					b, err := retryBook()
					if err != nil {
						return err
					}
					if b.Id == first.Booking.Id {
						return fmt.Errorf("retry still answered with the first booking")
					}
					return nil
				})
				if s := holdStatus(); s != bookdv1.HoldStatus_HOLD_STATUS_EXPIRED {
					t.Errorf("an hour's hold after the leap is %s, want it expired", s)
				}
				return
			}
			// With the guard the skewed node does not keep leadership, and
			// replicated time did not leap.
			leader := waitLeaderOtherThan(t, c, n3)
			if _, err := retry(ctx, func(ctx context.Context) (*bookdv1.CreateEventResponse, error) {
				return bookingClient(n1.RPCAddr).CreateEvent(ctx, &bookdv1.CreateEventRequest{Name: "tock", Capacity: 1, IdempotencyKey: "tock"})
			}); err != nil {
				t.Fatal(err)
			}
			checkReplicatedTime(t, c)
			// The purges that ran meanwhile (every 100ms) forgot nothing.
			for i := range 3 {
				b, err := retryBook()
				if err != nil {
					t.Fatal(err)
				}
				if b.Id != first.Booking.Id {
					t.Fatalf("retry %d with the same idempotency key booked again (%s, first %s) under leader %s", i, b.Id, first.Booking.Id, leader.ID)
				}
			}
			if s := holdStatus(); s != bookdv1.HoldStatus_HOLD_STATUS_ACTIVE {
				t.Errorf("an hour's hold is %s, want it active", s)
			}
		})
	}
}

// gauge reads a single-series metric from m.
func gauge(t *testing.T, m *metrics.Metrics, name string) float64 {
	t.Helper()
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name || len(f.GetMetric()) != 1 {
			continue
		}
		if g := f.GetMetric()[0].GetGauge(); g != nil {
			return g.GetValue()
		}
		return f.GetMetric()[0].GetCounter().GetValue()
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// With one member down and the other two 25h apart, neither can tell whose
// clock is wrong, and the skewed one may lead: its stamps stay within the
// bound of the majority's time all the same, so the leap does not happen.
// Once the third member is back, the skewed one hands leadership over.
func TestSkewedLeaderWithoutAMajorityStampsWithinTheBound(t *testing.T) {
	const offset = 25 * time.Hour
	var skew atomic.Int64
	c := clustertest.Start(t, 3, clustertest.Options{
		PurgeInterval: 100 * time.Millisecond,
		Configure: func(id string, cfg *rpc.ServerConfig) {
			if id == "n3" {
				cfg.Node.ClockOffset = time.Duration(skew.Load())
			}
		},
	})
	ctx := context.Background()
	n1, n2, n3 := c.Nodes[0], c.Nodes[1], c.Nodes[2]
	if c.WaitReady() != n1 {
		if _, err := clusterClient(n1.RPCAddr).TransferLeadership(ctx, &bookdv1.TransferLeadershipRequest{Id: n1.ID}); err != nil {
			t.Fatal(err)
		}
	}
	ev := createEvent(t, n1.RPCAddr, 10, nil)
	book := &bookdv1.BookRequest{EventId: ev.Id, CustomerId: "ann", Quantity: 1, IdempotencyKey: "leap-retry"}
	bookNow := func() *bookdv1.Booking {
		t.Helper()
		r, err := retry(ctx, func(ctx context.Context) (*bookdv1.BookResponse, error) {
			return bookingClient(n1.RPCAddr).Book(ctx, book)
		})
		if err != nil {
			t.Fatal(err)
		}
		return r.Booking
	}
	first := bookNow()

	c.Stop(n2)
	c.Stop(n3)
	skew.Store(int64(offset))
	c.Restart(n3)
	c.WaitReady()
	c.Eventually(20*time.Second, func() error {
		if st := n3.Server.Node().ClockStatus(); !st.Known() || st.Problem != "" {
			return fmt.Errorf("n3 has not judged its clock undecided: %+v", st)
		}
		return nil
	})
	resp, err := clusterClient(n1.RPCAddr).TransferLeadership(ctx, &bookdv1.TransferLeadershipRequest{Id: n3.ID})
	if err != nil || resp.GetLeaderId() != n3.ID {
		t.Fatalf("transfer to n3: %v, %v", resp.GetLeaderId(), err)
	}
	if _, err := retry(ctx, func(ctx context.Context) (*bookdv1.CreateEventResponse, error) {
		return bookingClient(n3.RPCAddr).CreateEvent(ctx, &bookdv1.CreateEventRequest{Name: "tick", Capacity: 1, IdempotencyKey: "tick"})
	}); err != nil {
		t.Fatal(err)
	}
	if leader := leaderNow(c); leader != n3 {
		t.Logf("the write was stamped under leader %v, not n3", leader)
	}
	checkReplicatedTime(t, c)
	if b := bookNow(); b.Id != first.Id {
		t.Fatalf("retry with the same idempotency key booked again (%s, first %s)", b.Id, first.Id)
	}

	c.Restart(n2)
	waitLeaderOtherThan(t, c, n3)
	if st := n3.Server.Node().ClockStatus(); st.Problem == "" {
		t.Errorf("n3 with all members up does not find its clock off: %+v", st)
	}
	checkReplicatedTime(t, c)
}
