package rpc_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"connectrpc.com/connect"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/rpc/clustertest"
)

// A member that could never register (a bad id or RPC address) or never be
// dialled (a bad Raft address) is refused with INVALID_ARGUMENT naming the
// field, before the Raft configuration changes: no phantom voter is left
// for the next failure to count against the quorum.
func TestAddNodeRefusesBadMembersBeforeChangingTheConfiguration(t *testing.T) {
	c := clustertest.Start(t, 3, clustertest.Options{})
	ctx := context.Background()
	before, err := clusterClient(c.Nodes[0].RPCAddr).GetStatus(ctx, &bookdv1.GetStatusRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		req   *bookdv1.AddNodeRequest
		field string
	}{
		{&bookdv1.AddNodeRequest{Id: strings.Repeat("n", 129), RaftAddress: "127.0.0.1:1"}, "id"},
		{&bookdv1.AddNodeRequest{Id: "n\x01", RaftAddress: "127.0.0.1:1"}, "id"},
		{&bookdv1.AddNodeRequest{Id: "n9", RaftAddress: "127.0.0.1:1", RpcAddress: "no port"}, "rpc_address"},
		{&bookdv1.AddNodeRequest{Id: "n9", RaftAddress: "127.0.0.1:1", RpcAddress: "127.0.0.1:2\n"}, "rpc_address"},
		{&bookdv1.AddNodeRequest{Id: "n9", RaftAddress: "0.0.0.0:7001"}, "raft_address"},
		{&bookdv1.AddNodeRequest{Id: "n9", RaftAddress: "127.0.0.1:1", RpcAddress: "!removed"}, "rpc_address"}, // a forged tombstone
		{&bookdv1.AddNodeRequest{Id: "n9", RaftAddress: "127.0.0.1:1", ForSelf: true, RpcAddress: strings.Repeat("h", 200) + ":1"}, "rpc_address"},
	} {
		for _, nd := range c.Nodes { // the leader, and followers that forward
			_, err := clusterClient(nd.RPCAddr).AddNode(ctx, tc.req)
			if connect.CodeOf(err) != connect.CodeInvalidArgument || !startsWithField(connectMessage(err), tc.field) {
				t.Errorf("%s: AddNode(%q, %q, %q) = %v, want INVALID_ARGUMENT naming %s", nd.ID, tc.req.Id, tc.req.RaftAddress, tc.req.RpcAddress, err, tc.field)
			}
		}
	}
	after, err := clusterClient(c.Nodes[0].RPCAddr).GetStatus(ctx, &bookdv1.GetStatusRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(after.Members) != len(before.Members) {
		t.Fatalf("members after the refused additions: %v, before: %v", after.Members, before.Members)
	}
	for i := range before.Members {
		b, a := before.Members[i], after.Members[i]
		if b.Id != a.Id || b.RaftAddress != a.RaftAddress || b.Voter != a.Voter {
			t.Errorf("member %d changed: %v, was %v", i, a, b)
		}
	}
}

// startsWithField reports whether msg starts by naming field ("id: ...",
// "raft_address \"x\": ...").
func startsWithField(msg, field string) bool {
	return strings.HasPrefix(msg, field+":") || strings.HasPrefix(msg, field+" ")
}

func connectMessage(err error) string {
	var ce *connect.Error
	if errors.As(err, &ce) {
		return ce.Message()
	}
	return ""
}
