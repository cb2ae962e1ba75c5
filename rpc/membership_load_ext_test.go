package rpc_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bookd/bookd/client"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/rpc/clustertest"
)

// A node is added and another removed while clients book: no booking call
// fails, and every acknowledged booking is in the final state.
func TestMembershipChangeUnderLoad(t *testing.T) {
	c := clustertest.Start(t, 3, clustertest.Options{})
	ev := createEvent(t, c.Nodes[0].RPCAddr, 1_000_000, nil)
	cl, err := client.New(c.Endpoints(), client.WithMaxAttempts(30), client.WithBackoff(20*time.Millisecond, 500*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, stop := context.WithCancel(context.Background())
	var ok, failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				// Each call gets its own deadline: stopping the load must
				// not cancel a booking half way.
				cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				_, err := cl.Book(cctx, &bookdv1.BookRequest{EventId: ev.Id, CustomerId: fmt.Sprint("w", w), Quantity: 1, IdempotencyKey: fmt.Sprintf("m%d-%d", w, i)})
				cancel()
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err)
					continue
				}
				ok.Add(1)
			}
		})
	}
	progress := func(n int64) {
		c.Eventually(30*time.Second, func() error {
			if ok.Load() < n {
				return fmt.Errorf("%d bookings so far", ok.Load())
			}
			return nil
		})
	}
	progress(30)
	n4 := c.Join("n4")
	c.Eventually(30*time.Second, func() error { return hasVoter(context.Background(), c.Nodes[0].RPCAddr, "n4", n4.RPCAddr) })
	progress(ok.Load() + 30)
	if _, err := retry(context.Background(), func(ctx context.Context) (*bookdv1.RemoveNodeResponse, error) {
		return clusterClient(n4.RPCAddr).RemoveNode(ctx, &bookdv1.RemoveNodeRequest{Id: "n2"})
	}); err != nil {
		t.Fatalf("remove n2: %v", err)
	}
	c.Stop(c.Nodes[1])
	progress(ok.Load() + 30)
	stop()
	wg.Wait()
	if failed.Load() != 0 {
		t.Fatalf("%d of %d bookings failed during the membership change; first: %v", failed.Load(), failed.Load()+ok.Load(), firstErr.Load())
	}
	c.WaitConverged()
	av, err := bookingClient(n4.RPCAddr).GetAvailability(context.Background(), &bookdv1.GetAvailabilityRequest{EventId: ev.Id, Read: staleRead()})
	if err != nil || av.BookedQuantity != ok.Load() {
		t.Fatalf("state %v, %v; want %d booked", av, err, ok.Load())
	}
	t.Logf("%d bookings, none failed, while n4 joined and n2 left", ok.Load())
}
