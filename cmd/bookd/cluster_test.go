package main

import (
	"strings"
	"testing"

	"github.com/bookd/bookd/rpc/clustertest"
)

// bookd cluster transfer-leader prints the node that leads afterwards,
// every time.
func TestClusterTransferLeader(t *testing.T) {
	c := clustertest.Start(t, 3, clustertest.Options{})
	t.Setenv("BOOKD_ENDPOINTS", strings.Join(c.Endpoints(), ","))
	for i := range 4 {
		old := c.WaitReady()
		out, code := run(t, "cluster", "transfer-leader")
		if code != 0 {
			t.Fatalf("transfer %d: exit %d: %s", i, code, out)
		}
		got, ok := strings.CutPrefix(strings.TrimSpace(out), "leader: ")
		if !ok || got == "" || got == old.ID {
			t.Fatalf("transfer %d away from %s printed %q, want the new leader's id", i, old.ID, out)
		}
		if leader := c.WaitReady(); leader.ID != got {
			t.Fatalf("transfer %d printed %s, but %s leads", i, got, leader.ID)
		}
	}
	// -o json names the new leader too, in the API's JSON.
	old := c.WaitReady()
	var moved struct{ LeaderID string }
	runJSON(t, &moved, "cluster", "transfer-leader")
	if moved.LeaderID == "" || moved.LeaderID == old.ID {
		t.Fatalf("transfer-leader -o json away from %s = %+v", old.ID, moved)
	}
	// To a chosen voter, -o json.
	old = c.WaitReady()
	to := c.Nodes[0].ID
	if to == old.ID {
		to = c.Nodes[1].ID
	}
	var resp struct{ LeaderID string }
	runJSON(t, &resp, "cluster", "transfer-leader", to)
	if resp.LeaderID != to {
		t.Fatalf("transfer-leader %s -o json = %+v", to, resp)
	}
}
