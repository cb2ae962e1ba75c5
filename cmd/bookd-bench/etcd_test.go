package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestEtcdTarget(t *testing.T) {
	if _, err := exec.LookPath("etcd"); err != nil {
		t.Skip("the etcd binary is not installed (not in PATH)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, err := startEtcd(ctx, t.TempDir(), 3, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := srv.Stop(); err != nil {
			t.Error(err)
		}
	}()
	if pids := srv.PIDs(); len(pids) != 3 {
		t.Errorf("PIDs() = %v, want 3 processes", pids)
	}
	c, err := clientv3.New(clientv3.Config{Endpoints: srv.(*etcdServers).endpoints, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	inject := func(ctx context.Context, ev, key string, qty int64, seats []string) error {
		b, err := json.Marshal(etcdRecord{Customer: "x", Quantity: qty, Seats: seats})
		if err == nil {
			_, err = c.Put(ctx, etcdKey(ev, "booking", key), string(b))
		}
		return err
	}
	checkPeerTarget(ctx, t, srv, inject)
}

// TestEtcdErrCode checks that a server error the etcd client turns into an
// EtcdError still has its gRPC code for status.Code once wrapped, and that
// a server's timeout after the caller's deadline counts as that deadline.
func TestEtcdErrCode(t *testing.T) {
	err := fmt.Errorf("book: %w", wrapEtcd(context.Background(), "claim", rpctypes.ErrTimeout))
	if got := status.Code(err); got != codes.Unavailable {
		t.Errorf("status.Code = %v, want Unavailable; error %q", got, err)
	}
	if !errors.Is(err, rpctypes.ErrTimeout) {
		t.Errorf("the chain lost rpctypes.ErrTimeout: %v", err)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a timeout without a deadline passed is DeadlineExceeded: %v", err)
	}

	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Millisecond))
	defer cancel()
	server := status.Error(codes.Unknown, "context deadline exceeded")
	err = fmt.Errorf("book: %w", wrapEtcd(ctx, "claim", server))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("server timeout after the deadline: %v, want DeadlineExceeded in the chain", err)
	}
	if got := status.Code(err); got != codes.DeadlineExceeded {
		t.Errorf("status.Code = %v, want DeadlineExceeded; error %q", got, err)
	}
}

// checkPeerTarget runs the same checks on a peer's Target (the etcd test
// above and the PostgreSQL one use it): 20 goroutines race for a GA event
// and a seated one, then a hold is confirmed, and Audit must agree. inject
// stores a booking record directly, bypassing the inventory, so as to check
// that Audit sees what it must.
func checkPeerTarget(ctx context.Context, t *testing.T, srv Servers,
	inject func(ctx context.Context, ev, key string, qty int64, seats []string) error) {
	t.Helper()
	const racers = 20
	tg, err := srv.Connect(ctx, racers)
	if err != nil {
		t.Fatal(err)
	}
	defer tg.Close()

	t.Run("GA", func(t *testing.T) {
		inv := Inventory{Name: "ga", Capacity: 10}
		ev, err := tg.Prepare(ctx, inv)
		if err != nil {
			t.Fatal(err)
		}
		// Each racer books one ticket at a time until it is refused.
		var booked atomic.Int64
		var wg sync.WaitGroup
		for r := range racers {
			wg.Go(func() {
				for i := 0; ; i++ {
					err := tg.Book(ctx, ev, Attempt{Key: fmt.Sprintf("ga-%d-%d", r, i), Customer: "c", Quantity: 1})
					if errors.Is(err, ErrConflict) {
						return
					}
					if err != nil {
						t.Errorf("racer %d: %v", r, err)
						return
					}
					booked.Add(1)
				}
			})
		}
		wg.Wait()
		if booked.Load() != inv.Capacity {
			t.Errorf("%d tickets booked, want exactly the capacity %d", booked.Load(), inv.Capacity)
		}
		if err := tg.Browse(ctx, ev, true); err != nil {
			t.Error(err)
		}
		checkAudit(ctx, t, tg, ev, inv, Audit{Bookings: 10, Tickets: 10})
	})

	t.Run("Seated", func(t *testing.T) {
		inv := Inventory{Name: "seated", Seats: []string{"A1", "A2", "A3", "A4", "A5", "A6"}}
		ev, err := tg.Prepare(ctx, inv)
		if err != nil {
			t.Fatal(err)
		}
		// Racer r wants two neighbouring seats, every pair wanted by
		// several racers, in either order.
		var mu sync.Mutex
		owner := map[string]string{}
		var wg sync.WaitGroup
		for r := range racers {
			wg.Go(func() {
				a, b := inv.Seats[r%6], inv.Seats[(r+1)%6]
				if r%2 == 1 {
					a, b = b, a
				}
				key := fmt.Sprintf("seat-%d", r)
				err := tg.Book(ctx, ev, Attempt{Key: key, Customer: "c", Seats: []string{a, b}})
				if errors.Is(err, ErrConflict) {
					return
				}
				if err != nil {
					t.Errorf("racer %d: %v", r, err)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				for _, s := range []string{a, b} {
					if prev, ok := owner[s]; ok {
						t.Errorf("seat %s sold to %s and %s", s, prev, key)
					}
					owner[s] = key
				}
			})
		}
		wg.Wait()
		if len(owner) < 2 || len(owner)%2 != 0 {
			t.Errorf("seats sold: %v; want whole pairs, at least one", owner)
		}
		if err := tg.Browse(ctx, ev, true); err != nil {
			t.Error(err)
		}
		n := int64(len(owner))
		checkAudit(ctx, t, tg, ev, inv, Audit{Bookings: n / 2, Tickets: n})
	})

	t.Run("HoldConfirm", func(t *testing.T) {
		ga := Inventory{Name: "hold-ga", Capacity: 3}
		ev, err := tg.Prepare(ctx, ga)
		if err != nil {
			t.Fatal(err)
		}
		a := Attempt{Key: "h1", Customer: "c", Quantity: 2}
		hold, err := tg.Hold(ctx, ev, a)
		if err != nil {
			t.Fatal(err)
		}
		// The hold takes inventory: only one ticket is left.
		if err := tg.Book(ctx, ev, Attempt{Key: "b1", Customer: "d", Quantity: 2}); !errors.Is(err, ErrConflict) {
			t.Errorf("booking 2 of 1 left: %v, want ErrConflict", err)
		}
		if err := tg.Confirm(ctx, ev, hold, a); err != nil {
			t.Fatal(err)
		}
		if err := tg.Confirm(ctx, ev, hold, a); err == nil || errors.Is(err, ErrConflict) {
			t.Errorf("second confirm of one hold: %v, want an error other than a conflict", err)
		}
		if err := tg.Book(ctx, ev, Attempt{Key: "b2", Customer: "d", Quantity: 1}); err != nil {
			t.Errorf("booking the last ticket: %v", err)
		}
		checkAudit(ctx, t, tg, ev, ga, Audit{Bookings: 2, Tickets: 3})

		seated := Inventory{Name: "hold-seated", Seats: []string{"B1", "B2", "B3"}}
		ev, err = tg.Prepare(ctx, seated)
		if err != nil {
			t.Fatal(err)
		}
		a = Attempt{Key: "h2", Customer: "c", Seats: []string{"B2", "B1"}}
		hold, err = tg.Hold(ctx, ev, a)
		if err != nil {
			t.Fatal(err)
		}
		if err := tg.Book(ctx, ev, Attempt{Key: "b3", Customer: "d", Seats: []string{"B2", "B3"}}); !errors.Is(err, ErrConflict) {
			t.Errorf("booking a held seat: %v, want ErrConflict", err)
		}
		// An unconfirmed hold is consistent, just not booked.
		checkAudit(ctx, t, tg, ev, seated, Audit{})
		if err := tg.Confirm(ctx, ev, hold, a); err != nil {
			t.Fatal(err)
		}
		if err := tg.Confirm(ctx, ev, "no-such-hold", Attempt{Key: "b4", Customer: "c", Seats: []string{"B3"}}); err == nil {
			t.Error("confirming a hold that does not exist succeeded")
		}
		if err := tg.Book(ctx, ev, Attempt{Key: "b5", Customer: "d", Seats: []string{"B3"}}); err != nil {
			t.Errorf("booking the free seat: %v", err)
		}
		checkAudit(ctx, t, tg, ev, seated, Audit{Bookings: 2, Tickets: 3})
	})

	t.Run("AuditCatches", func(t *testing.T) {
		ga := Inventory{Name: "bad-ga", Capacity: 2}
		ev, err := tg.Prepare(ctx, ga)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"k1", "k2"} {
			if err := tg.Book(ctx, ev, Attempt{Key: k, Customer: "c", Quantity: 1}); err != nil {
				t.Fatal(err)
			}
		}
		if err := inject(ctx, ev, "x1", 1, nil); err != nil {
			t.Fatal(err)
		}
		checkAudit(ctx, t, tg, ev, ga, Audit{Bookings: 3, Tickets: 3, Oversold: 1, CounterDiffers: true})

		seated := Inventory{Name: "bad-seated", Seats: []string{"C1", "C2"}}
		ev, err = tg.Prepare(ctx, seated)
		if err != nil {
			t.Fatal(err)
		}
		if err := tg.Book(ctx, ev, Attempt{Key: "k3", Customer: "c", Seats: []string{"C1"}}); err != nil {
			t.Fatal(err)
		}
		if err := inject(ctx, ev, "x2", 1, []string{"C1"}); err != nil {
			t.Fatal(err)
		}
		checkAudit(ctx, t, tg, ev, seated, Audit{Bookings: 2, Tickets: 2, DoubleSold: 1, CounterDiffers: true, Keys: []string{"k3", "x2"}})
	})
}

// checkAudit audits ev and wants exactly want; the keys of the stored
// bookings only when want names them, and one per booking always.
func checkAudit(ctx context.Context, t *testing.T, tg Target, ev string, inv Inventory, want Audit) {
	t.Helper()
	got, err := tg.Audit(ctx, ev, inv)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(got.Keys)) != got.Bookings {
		t.Errorf("audit of %s: %d bookings, keys %v", inv.Name, got.Bookings, got.Keys)
	}
	if want.Keys != nil && !slices.Equal(slices.Sorted(slices.Values(got.Keys)), want.Keys) {
		t.Errorf("audit of %s: keys %v, want %v", inv.Name, got.Keys, want.Keys)
	}
	got.Keys, want.Keys = nil, nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("audit of %s: %+v, want %+v", inv.Name, got, want)
	}
}
