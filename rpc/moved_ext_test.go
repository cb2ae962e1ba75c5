package rpc_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/rpc/clustertest"
)

// A follower restarted on a new Raft address (same id, data and RPC
// address) hears from no leader, which still dials the old address; it
// asks the members it knows of to record the move, and the leader then
// replicates to it again.
func TestFollowerMovedToANewRaftAddressRejoins(t *testing.T) {
	c := clustertest.Start(t, 3, clustertest.Options{})
	ctx := context.Background()
	ev := createEvent(t, c.Nodes[0].RPCAddr, 100, nil)
	leader := c.WaitReady()
	moved := c.Nodes[0]
	if moved == leader {
		moved = c.Nodes[1]
	}
	c.Stop(moved)
	addr := c.Move(moved)
	c.Eventually(30*time.Second, func() error {
		st, err := clusterClient(leader.RPCAddr).GetStatus(ctx, &bookdv1.GetStatusRequest{})
		if err != nil {
			return err
		}
		for _, m := range st.Members {
			if m.Id == moved.ID && m.Voter && m.RaftAddress == addr {
				return nil
			}
		}
		return fmt.Errorf("%s not a voter at %s yet: %v", moved.ID, addr, st.Members)
	})
	if _, err := retry(ctx, func(ctx context.Context) (*bookdv1.BookResponse, error) {
		return bookingClient(leader.RPCAddr).Book(ctx, &bookdv1.BookRequest{EventId: ev.Id, CustomerId: "c", Quantity: 2, IdempotencyKey: "after-move"})
	}); err != nil {
		t.Fatal(err)
	}
	c.WaitConverged()
	av, err := bookingClient(moved.RPCAddr).GetAvailability(ctx, &bookdv1.GetAvailabilityRequest{EventId: ev.Id, Read: staleRead()})
	if err != nil || av.BookedQuantity != 2 {
		t.Fatalf("moved node sees %v, %v; want 2 booked", av, err)
	}
}
