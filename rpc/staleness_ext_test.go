package rpc_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/rpc/clustertest"
	"google.golang.org/protobuf/types/known/durationpb"
)

// A follower restarted behind 50,000 bookings never answers a read bounded
// by max_staleness 200ms with state older than that: every answer holds at
// least the bookings the leader had confirmed more than 200 ms before the
// read began (the leader's history is observed alongside). Hearing the
// leader's heartbeats again, at once, is no proof of fresh data.
func TestBoundedStaleReadIsBoundedOnData(t *testing.T) {
	c := clustertest.Start(t, 3, clustertest.Options{})
	leader := c.WaitReady()
	var follower *clustertest.Node
	for _, n := range c.Nodes {
		if n.RPCAddr != leader.RPCAddr {
			follower = n
			break
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	created, err := bookingClient(leader.RPCAddr).CreateEvent(ctx, &bookdv1.CreateEventRequest{Name: "Behind", Capacity: 1_000_000})
	if err != nil {
		t.Fatal(err)
	}
	ev := created.GetEvent().GetId()
	c.Stop(follower)
	const calls, perCall = 50, 1000
	for i := range calls {
		req := &bookdv1.BatchWriteRequest{}
		for j := range perCall {
			req.Writes = append(req.Writes, &bookdv1.Write{Op: &bookdv1.Write_Book{Book: &bookdv1.BookRequest{
				EventId: ev, CustomerId: fmt.Sprint("c", j), Quantity: 1, IdempotencyKey: fmt.Sprintf("b%d-%d", i, j)}}})
		}
		// Retried with the same keys as a client would, should a busy
		// machine cost the two nodes left an election.
		res, err := retry(ctx, func(ctx context.Context) (*bookdv1.BatchWriteResponse, error) {
			res, err := bookingClient(c.WaitReady().RPCAddr).BatchWrite(ctx, req)
			for _, r := range res.GetResults() {
				if r.GetError().GetCode() == connect.CodeUnavailable.String() {
					return nil, connect.NewError(connect.CodeUnavailable, errors.New(r.GetError().GetMessage()))
				}
			}
			return res, err
		})
		if err != nil {
			t.Fatalf("batch %d: %v", i, err)
		}
		for _, r := range res.GetResults() {
			if r.GetError() != nil {
				t.Fatalf("batch %d: %v", i, r.GetError())
			}
		}
	}

	// The leader's history: (when a linearizable read of it ended, booked).
	type seen struct {
		at     time.Time
		booked int64
	}
	var mu sync.Mutex
	var history []seen
	stop := make(chan struct{})
	observed := make(chan struct{})
	go func() {
		defer close(observed)
		for {
			av, err := bookingClient(leader.RPCAddr).GetAvailability(ctx, &bookdv1.GetAvailabilityRequest{EventId: ev})
			if err == nil {
				mu.Lock()
				history = append(history, seen{time.Now(), av.GetBookedQuantity()})
				mu.Unlock()
			}
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()

	c.Restart(follower)
	bound := 200 * time.Millisecond
	read := &bookdv1.ReadOptions{Consistency: bookdv1.Consistency_CONSISTENCY_STALE, MaxStaleness: durationpb.New(bound)}
	answers := 0
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); {
		began := time.Now()
		av, err := bookingClient(follower.RPCAddr).GetAvailability(ctx, &bookdv1.GetAvailabilityRequest{EventId: ev, Read: read})
		if err != nil {
			continue // the follower is starting
		}
		answers++
		mu.Lock()
		for _, h := range history {
			if h.at.Add(bound).Before(began) && av.GetBookedQuantity() < h.booked {
				mu.Unlock()
				t.Fatalf("a read bounded by %s began at %s and saw %d bookings; the leader had %d at %s",
					bound, began.Format("15:04:05.000"), av.GetBookedQuantity(), h.booked, h.at.Format("15:04:05.000"))
			}
		}
		mu.Unlock()
	}
	close(stop)
	<-observed
	if answers == 0 || len(history) == 0 {
		t.Fatalf("%d answers from the follower, %d observations of the leader: nothing was checked", answers, len(history))
	}
	t.Logf("%d bounded reads answered, checked against %d observations of the leader", answers, len(history))
}
