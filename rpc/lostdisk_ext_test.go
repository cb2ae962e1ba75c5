package rpc_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/rpc/clustertest"
)

// A member that lost its disk starts again empty with --join: it stays the
// same member (no new configuration entry) and catches up by snapshot,
// since the log it would need is compacted away.
func TestLostDiskRejoinsBySnapshot(t *testing.T) {
	c := clustertest.Start(t, 3, clustertest.Options{TrailingLogs: 4})
	ctx := context.Background()
	ev := createEvent(t, c.Nodes[0].RPCAddr, 1000, nil)
	for i := range 30 {
		if _, err := retry(ctx, func(ctx context.Context) (*bookdv1.BookResponse, error) {
			return bookingClient(c.Nodes[i%3].RPCAddr).Book(ctx, &bookdv1.BookRequest{EventId: ev.Id, CustomerId: "c", Quantity: 1, IdempotencyKey: itoa(i)})
		}); err != nil {
			t.Fatal(err)
		}
	}
	leader := c.WaitReady()
	lost := c.Nodes[0]
	if lost == leader {
		lost = c.Nodes[1]
	}
	if err := leader.Server.Node().Raft().Snapshot().Error(); err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	if first, err := leader.Server.Node().FirstLogIndex(); err != nil || first <= 1 {
		t.Fatalf("leader's log starts at %d (%v): not compacted", first, err)
	}
	c.Wipe(lost)
	c.WaitConverged()
	stats := lost.Server.Node().Raft().Stats()
	if stats["last_snapshot_index"] == "0" {
		t.Fatalf("%s caught up without a snapshot: %v", lost.ID, stats)
	}
	av, err := bookingClient(lost.RPCAddr).GetAvailability(ctx, &bookdv1.GetAvailabilityRequest{EventId: ev.Id, Read: staleRead()})
	if err != nil || av.BookedQuantity != 30 {
		t.Fatalf("rejoined node sees %v, %v; want 30 booked", av, err)
	}
	c.Eventually(10*time.Second, func() error {
		st, err := clusterClient(leader.RPCAddr).GetStatus(ctx, &bookdv1.GetStatusRequest{})
		if err != nil {
			return err
		}
		if len(st.Members) != 3 {
			return fmt.Errorf("members %v", st.Members)
		}
		return nil
	})
}
