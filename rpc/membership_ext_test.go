package rpc_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/rpc/clustertest"
)

// A node started with --join is added by the leader, catches up, serves
// reads from its own state, and can be removed again; leadership can be
// handed to a chosen voter.
func TestJoinTransferRemove(t *testing.T) {
	c := clustertest.Start(t, 3, clustertest.Options{})
	ctx := context.Background()
	ev := createEvent(t, c.Nodes[0].RPCAddr, 100, nil)
	for i := range 20 {
		if _, err := retry(ctx, func(ctx context.Context) (*bookdv1.BookResponse, error) {
			return bookingClient(c.Nodes[i%3].RPCAddr).Book(ctx, &bookdv1.BookRequest{EventId: ev.Id, CustomerId: "c", Quantity: 1, IdempotencyKey: itoa(i)})
		}); err != nil {
			t.Fatal(err)
		}
	}

	n4 := c.Join("n4")
	c.Eventually(20*time.Second, func() error {
		st, err := clusterClient(c.Nodes[0].RPCAddr).GetStatus(ctx, &bookdv1.GetStatusRequest{})
		if err != nil {
			return err
		}
		for _, m := range st.Members {
			if m.Id == "n4" && m.Voter && m.RpcAddress == n4.RPCAddr {
				return nil
			}
		}
		return fmt.Errorf("n4 not a registered voter yet: %v", st.Members)
	})
	c.WaitConverged()
	av, err := bookingClient(n4.RPCAddr).GetAvailability(ctx, &bookdv1.GetAvailabilityRequest{EventId: ev.Id, Read: staleRead()})
	if err != nil || av.BookedQuantity != 20 {
		t.Fatalf("joined node sees %v, %v; want 20 booked", av, err)
	}

	if _, err := clusterClient(c.Nodes[1].RPCAddr).TransferLeadership(ctx, &bookdv1.TransferLeadershipRequest{Id: "n4"}); err != nil {
		t.Fatalf("transfer to n4: %v", err)
	}
	if leader := c.WaitReady(); leader != n4 {
		t.Fatalf("leader is %s after transfer to n4", leader.ID)
	}
	// A retried transfer to the node that already leads succeeds.
	if _, err := clusterClient(c.Nodes[1].RPCAddr).TransferLeadership(ctx, &bookdv1.TransferLeadershipRequest{Id: "n4"}); err != nil {
		t.Fatalf("repeated transfer to n4: %v", err)
	}

	if _, err := clusterClient(c.Nodes[0].RPCAddr).RemoveNode(ctx, &bookdv1.RemoveNodeRequest{Id: "n2"}); err != nil {
		t.Fatalf("remove n2: %v", err)
	}
	c.Stop(c.Nodes[1])
	st, err := clusterClient(n4.RPCAddr).GetStatus(ctx, &bookdv1.GetStatusRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Members) != 3 {
		t.Fatalf("members after removing n2: %v", st.Members)
	}
	if _, err := retry(ctx, func(ctx context.Context) (*bookdv1.BookResponse, error) {
		return bookingClient(c.Nodes[2].RPCAddr).Book(ctx, &bookdv1.BookRequest{EventId: ev.Id, CustomerId: "c", Quantity: 1, IdempotencyKey: "after-remove"})
	}); err != nil {
		t.Fatalf("write after removal: %v", err)
	}
	c.WaitConverged()
}
