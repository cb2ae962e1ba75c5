package rpc_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"connectrpc.com/connect"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/rpc"
	"github.com/bookd/bookd/rpc/clustertest"
)

// A node removed while it keeps running learns that it was removed, stops
// asking to be a member, and is never added back by its own requests; a
// request for itself that reaches the leader after the removal (the race
// that used to re-add it) is refused; an operator's add brings it back.
func TestRemovedNodeStaysRemoved(t *testing.T) {
	c := clustertest.Start(t, 3, clustertest.Options{})
	ctx := context.Background()
	n4 := c.Join("n4")
	c.Eventually(20*time.Second, func() error { return hasVoter(ctx, c.Nodes[0].RPCAddr, "n4", n4.RPCAddr) })
	c.WaitConverged()

	n3 := c.Nodes[2]
	if _, err := clusterClient(c.Nodes[0].RPCAddr).RemoveNode(ctx, &bookdv1.RemoveNodeRequest{Id: "n3"}); err != nil {
		t.Fatalf("remove n3: %v", err)
	}
	// What n3's registration loop sends, arriving after the removal.
	self := &bookdv1.AddNodeRequest{Id: "n3", RaftAddress: n3.RaftAddr, RpcAddress: n3.RPCAddr, ForSelf: true}
	// (Removing n3 may have moved leadership: retry while unavailable.)
	_, err := retry(ctx, func(ctx context.Context) (*bookdv1.AddNodeResponse, error) {
		return clusterClient(c.Nodes[1].RPCAddr).AddNode(ctx, self)
	})
	if connect.CodeOf(err) != connect.CodeFailedPrecondition || reason(err) != rpc.ReasonMemberRemoved {
		t.Fatalf("n3 asking for itself after its removal: %v (reason %q), want FAILED_PRECONDITION member_removed", err, reason(err))
	}
	// n3 looks every 10 s (rpc.Server's register loop), and may need two
	// looks: one just before the tombstone reaches it.
	c.Eventually(30*time.Second, func() error {
		if !n3.Server.Removed() {
			return fmt.Errorf("n3 has not learnt it was removed")
		}
		return nil
	})
	if err := hasVoter(ctx, c.Nodes[0].RPCAddr, "n3", ""); err == nil {
		t.Fatalf("removed n3 is a voter again")
	}
	// An operator's add clears the tombstone.
	add := &bookdv1.AddNodeRequest{Id: "n3", RaftAddress: n3.RaftAddr, RpcAddress: n3.RPCAddr}
	if _, err := retry(ctx, func(ctx context.Context) (*bookdv1.AddNodeResponse, error) {
		return clusterClient(c.Nodes[0].RPCAddr).AddNode(ctx, add)
	}); err != nil {
		t.Fatalf("operator re-adds n3: %v", err)
	}
	c.Eventually(20*time.Second, func() error { return hasVoter(ctx, c.Nodes[0].RPCAddr, "n3", n3.RPCAddr) })
}

// hasVoter checks that the node at addr lists id as a voter (with rpcAddr, unless empty).
func hasVoter(ctx context.Context, addr, id, rpcAddr string) error {
	st, err := clusterClient(addr).GetStatus(ctx, &bookdv1.GetStatusRequest{})
	if err != nil {
		return err
	}
	for _, m := range st.Members {
		if m.Id == id && m.Voter && (rpcAddr == "" || m.RpcAddress == rpcAddr) {
			return nil
		}
	}
	return fmt.Errorf("%s not a registered voter: %v", id, st.Members)
}

func reason(err error) string {
	var ce *connect.Error
	if errors.As(err, &ce) {
		return ce.Meta().Get(rpc.ReasonHeader)
	}
	return ""
}

// A removed node that comes back empty learns it was removed from the
// leader's answer even when a join endpoint before the leader is down (the
// joined errors used to hide the removal behind the first one).
func TestRemovedNodeLearnsItPastADeadJoinEndpoint(t *testing.T) {
	c := clustertest.Start(t, 3, clustertest.Options{})
	ctx := context.Background()
	n4 := c.Join("n4")
	c.Eventually(20*time.Second, func() error { return hasVoter(ctx, c.Nodes[0].RPCAddr, "n4", n4.RPCAddr) })
	c.WaitConverged()
	if _, err := retry(ctx, func(ctx context.Context) (*bookdv1.RemoveNodeResponse, error) {
		return clusterClient(c.Nodes[0].RPCAddr).RemoveNode(ctx, &bookdv1.RemoveNodeRequest{Id: "n4"})
	}); err != nil {
		t.Fatalf("remove n4: %v", err)
	}
	dead, err := clustertest.FreeAddr() // nothing listens there
	if err != nil {
		t.Fatal(err)
	}
	c.Wipe(n4, dead, c.Nodes[0].RPCAddr, c.Nodes[1].RPCAddr, c.Nodes[2].RPCAddr)
	c.Eventually(20*time.Second, func() error {
		if !n4.Server.Removed() {
			return errors.New("n4 has not learnt it was removed")
		}
		return nil
	})
}
