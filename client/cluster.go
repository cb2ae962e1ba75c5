package client

import (
	"context"
	"fmt"

	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
)

// Status returns the cluster as one node sees it: the leader when the Client
// knows it, otherwise the first endpoint that answers.
func (c *Client) Status(ctx context.Context) (*bookdv1.GetStatusResponse, error) {
	return call(ctx, c, op{name: "Status"}, &bookdv1.GetStatusRequest{}, (*conn).GetStatus)
}

// StatusOf returns the cluster as the node at endpoint ("host:port" or
// "http://host:port", in the list given to New or not) sees it. It asks that
// node once and never another.
func (c *Client) StatusOf(ctx context.Context, endpoint string) (*bookdv1.GetStatusResponse, error) {
	base, err := parseEndpoint(c.cfg.withScheme(endpoint))
	if err != nil {
		return nil, fmt.Errorf("client: endpoint %q: %w", endpoint, err)
	}
	return c.conn(base).GetStatus(ctx, &bookdv1.GetStatusRequest{})
}

// AddNode adds a voter (or, with Nonvoter, a non-voter) to the cluster, or
// updates the RPC address of a member, and returns the new membership. It is
// retried like a write: Raft treats adding a member that is already there
// with the same address as a no-op.
func (c *Client) AddNode(ctx context.Context, req *bookdv1.AddNodeRequest) (*bookdv1.AddNodeResponse, error) {
	return call(ctx, c, op{name: "AddNode"}, orEmpty(req), (*conn).AddNode)
}

// RemoveNode removes the member with the given id from the cluster and
// returns the new membership. It is retried like a write: Raft treats
// removing a member that is already gone as a no-op.
func (c *Client) RemoveNode(ctx context.Context, id string, opts ...RemoveOption) (*bookdv1.RemoveNodeResponse, error) {
	req := &bookdv1.RemoveNodeRequest{Id: id}
	for _, o := range opts {
		o(req)
	}
	return call(ctx, c, op{name: "RemoveNode"}, req, (*conn).RemoveNode)
}

// A RemoveOption changes a RemoveNode request.
type RemoveOption func(*bookdv1.RemoveNodeRequest)

// Force removes a voter even if fewer than 3 voters would remain (the
// cluster refuses otherwise with FAILED_PRECONDITION).
func Force() RemoveOption { return func(r *bookdv1.RemoveNodeRequest) { r.Force = true } }

// TransferLeadership asks the leader to hand leadership to the voter with the
// given id, or with id "" to the most caught-up voter, and returns the new
// leader's id. With id "" the request is sent once: a retry after an unknown
// outcome could move leadership a second time.
func (c *Client) TransferLeadership(ctx context.Context, id string) (*bookdv1.TransferLeadershipResponse, error) {
	o := op{name: "TransferLeadership", once: id == ""}
	return call(ctx, c, o, &bookdv1.TransferLeadershipRequest{Id: id}, (*conn).TransferLeadership)
}
