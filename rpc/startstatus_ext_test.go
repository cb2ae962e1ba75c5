package rpc_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/rpc/clustertest"
)

// GetStatus tells when a node started, when its state was complete and
// when it first answered a call, also after a restart.
func TestGetStatusReportsTheStart(t *testing.T) {
	c := clustertest.Start(t, 3, clustertest.Options{})
	c.WaitReady()
	nd := c.Nodes[1]
	ctx := context.Background()
	before, err := clusterClient(nd.RPCAddr).GetStatus(ctx, &bookdv1.GetStatusRequest{})
	if err != nil {
		t.Fatal(err)
	}
	c.Stop(nd)
	c.Restart(nd)
	var st *bookdv1.GetStatusResponse
	c.Eventually(30*time.Second, func() error {
		if st, err = clusterClient(nd.RPCAddr).GetStatus(ctx, &bookdv1.GetStatusRequest{}); err != nil {
			return err
		}
		if st.GetStateCompleteAt() == nil || st.GetFirstServedAt() == nil {
			return fmt.Errorf("state_complete_at or first_served_at unset")
		}
		return nil
	})
	started, complete := st.GetStartedAt().AsTime(), st.GetStateCompleteAt().AsTime()
	if !started.After(before.GetStartedAt().AsTime()) {
		t.Errorf("started_at after the restart is %s, not after the first start's %s", started, before.GetStartedAt().AsTime())
	}
	if complete.Before(started) {
		t.Errorf("state_complete_at %s is before started_at %s", complete, started)
	}
	if served := st.GetFirstServedAt().AsTime(); served.Before(started) {
		t.Errorf("first_served_at %s is before started_at %s", served, started)
	}
}
