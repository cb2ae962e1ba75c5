package rpc_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/rpc/clustertest"
)

// A stale read on a follower of an event the leader just created finds it:
// the follower asks the leader before answering NOT_FOUND. An event that
// exists nowhere is still NOT_FOUND.
func TestStaleReadFindsWhatWasJustCreated(t *testing.T) {
	c := clustertest.Start(t, 3, clustertest.Options{})
	leader := c.WaitReady()
	var followers []string
	for _, n := range c.Nodes {
		if n.RPCAddr != leader.RPCAddr {
			followers = append(followers, n.RPCAddr)
		}
	}
	for i := range 30 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		created, err := bookingClient(leader.RPCAddr).CreateEvent(ctx, &bookdv1.CreateEventRequest{
			Name: "Fresh", Capacity: 10, IdempotencyKey: fmt.Sprint("fresh-", i)})
		if err != nil {
			cancel()
			t.Fatalf("create event %d: %v", i, err)
		}
		for _, addr := range followers {
			av, err := bookingClient(addr).GetAvailability(ctx, &bookdv1.GetAvailabilityRequest{
				EventId: created.GetEvent().GetId(), Read: staleRead()})
			if err != nil || av.GetCapacity() != 10 {
				cancel()
				t.Fatalf("event %d: stale read on %s right after its creation: %v, %v", i, addr, av, err)
			}
		}
		cancel()
	}
	_, err := bookingClient(followers[0]).GetAvailability(context.Background(), &bookdv1.GetAvailabilityRequest{
		EventId: "ev_999999", Read: staleRead()})
	if got := codeOf(err); got.String() != "not_found" {
		t.Errorf("stale read of an event that does not exist: %v, want not_found", err)
	}
}
