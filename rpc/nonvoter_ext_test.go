package rpc_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/rpc"
	"github.com/bookd/bookd/rpc/clustertest"
	"google.golang.org/protobuf/types/known/durationpb"
)

// A node joining with JoinAsNonvoter becomes a read replica: a member
// without a vote that serves bounded-stale reads from its own state and
// stays a non-voter when it registers again.
func TestNonvoterServesStaleReads(t *testing.T) {
	c := clustertest.Start(t, 3, clustertest.Options{Configure: func(id string, cfg *rpc.ServerConfig) {
		cfg.JoinAsNonvoter = id == "r1"
	}})
	ctx := context.Background()
	ev := createEvent(t, c.Nodes[0].RPCAddr, 10, nil)
	r1 := c.Join("r1")
	c.Eventually(20*time.Second, func() error {
		st, err := clusterClient(c.Nodes[0].RPCAddr).GetStatus(ctx, &bookdv1.GetStatusRequest{})
		if err != nil {
			return err
		}
		for _, m := range st.Members {
			if m.Id == "r1" && !m.Voter && m.RpcAddress == r1.RPCAddr {
				return nil
			}
		}
		return fmt.Errorf("r1 not a registered non-voter: %v", st.Members)
	})
	c.WaitConverged()
	read := &bookdv1.ReadOptions{Consistency: bookdv1.Consistency_CONSISTENCY_STALE, MaxStaleness: durationpb.New(5 * time.Second)}
	got, err := bookingClient(r1.RPCAddr).GetEvent(ctx, &bookdv1.GetEventRequest{EventId: ev.Id, Read: read})
	if err != nil || got.Event.GetId() != ev.Id {
		t.Fatalf("stale read on the replica: %v, %v", got, err)
	}
	if err := hasVoter(ctx, c.Nodes[0].RPCAddr, "r1", ""); err == nil {
		t.Fatalf("r1 became a voter")
	}
}
