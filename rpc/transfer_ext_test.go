package rpc_test

import (
	"context"
	"testing"

	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/rpc/clustertest"
)

// TransferLeadership answers the id of the node that leads afterwards,
// asked of the leader or of a follower (which forwards to the leader), to
// a chosen voter or to whichever Raft picks; several times over, since the
// old leader learns its successor only from the successor's heartbeat.
func TestTransferLeadershipNamesNewLeader(t *testing.T) {
	c := clustertest.Start(t, 3, clustertest.Options{})
	ctx := context.Background()
	byID := map[string]*clustertest.Node{}
	for _, nd := range c.Nodes {
		byID[nd.ID] = nd
	}
	// other returns a node that is neither a nor b.
	other := func(a, b *clustertest.Node) *clustertest.Node {
		for _, nd := range c.Nodes {
			if nd != a && nd != b {
				return nd
			}
		}
		t.Fatal("no third node")
		return nil
	}
	tests := []struct {
		name string
		// ask picks the node the call goes to; to the id to ask for ("" any).
		ask func(leader *clustertest.Node) *clustertest.Node
		to  func(leader, asked *clustertest.Node) string
	}{
		{"leader, to anyone",
			func(l *clustertest.Node) *clustertest.Node { return l },
			func(l, a *clustertest.Node) string { return "" }},
		{"leader, to a follower",
			func(l *clustertest.Node) *clustertest.Node { return l },
			func(l, a *clustertest.Node) string { return other(l, l).ID }},
		{"follower, to anyone",
			func(l *clustertest.Node) *clustertest.Node { return other(l, l) },
			func(l, a *clustertest.Node) string { return "" }},
		{"follower, to itself",
			func(l *clustertest.Node) *clustertest.Node { return other(l, l) },
			func(l, a *clustertest.Node) string { return a.ID }},
		{"follower, to the other follower",
			func(l *clustertest.Node) *clustertest.Node { return other(l, l) },
			func(l, a *clustertest.Node) string { return other(l, a).ID }},
	}
	for round := range 2 {
		for _, tt := range tests {
			old := c.WaitReady()
			asked := tt.ask(old)
			to := tt.to(old, asked)
			resp, err := clusterClient(asked.RPCAddr).TransferLeadership(ctx, &bookdv1.TransferLeadershipRequest{Id: to})
			if err != nil {
				t.Fatalf("round %d, %s: TransferLeadership(%q) asked of %s: %v", round, tt.name, to, asked.ID, err)
			}
			got := resp.GetLeaderId()
			switch {
			case got == "" || byID[got] == nil:
				t.Fatalf("round %d, %s: answered leader %q, want a member's id", round, tt.name, got)
			case got == old.ID:
				t.Fatalf("round %d, %s: answered the old leader %s", round, tt.name, got)
			case to != "" && got != to:
				t.Fatalf("round %d, %s: answered %s, want %s", round, tt.name, got, to)
			}
			if leader := c.WaitReady(); leader.ID != got {
				t.Fatalf("round %d, %s: answered %s, but %s leads", round, tt.name, got, leader.ID)
			}
		}
	}
}

// A transfer to the node that already leads answers that node.
func TestTransferLeadershipToLeader(t *testing.T) {
	c := clustertest.Start(t, 3, clustertest.Options{})
	leader := c.WaitReady()
	for _, nd := range c.Nodes {
		resp, err := clusterClient(nd.RPCAddr).TransferLeadership(context.Background(), &bookdv1.TransferLeadershipRequest{Id: leader.ID})
		if err != nil || resp.GetLeaderId() != leader.ID {
			t.Errorf("TransferLeadership(%s) asked of %s = %v, %v; want %s", leader.ID, nd.ID, resp, err, leader.ID)
		}
	}
}
