package rpc

import (
	"context"
	"time"

	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/proto/bookd/v1/bookdv1connect"
	"github.com/bookd/bookd/raftnode"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// ClusterHandler implements bookdv1connect.ClusterServiceHandler.
type ClusterHandler struct{ s *service }

var _ bookdv1connect.ClusterServiceHandler = (*ClusterHandler)(nil)

func (h *ClusterHandler) GetStatus(ctx context.Context, req *bookdv1.GetStatusRequest) (*bookdv1.GetStatusResponse, error) {
	st, err := h.s.node.Status()
	if err != nil {
		return nil, toConnect(err)
	}
	resp := &bookdv1.GetStatusResponse{
		NodeId:           st.NodeID,
		State:            st.State,
		LeaderId:         st.LeaderID,
		LeaderRpcAddress: st.LeaderRPC,
		Term:             st.Term,
		CommitIndex:      st.CommitIndex,
		AppliedIndex:     st.AppliedIndex,
		LastLogIndex:     st.LastLogIndex,
		Members:          members(st.Members),
		LastContactMs:    st.LastContact.Milliseconds(),
	}
	start := h.s.node.Startup()
	resp.StartedAt = timestampOrNil(start.Started)
	resp.StateCompleteAt = timestampOrNil(start.StateComplete)
	resp.FirstServedAt = timestampOrNil(start.FirstServed)
	if req.GetIncludeDigest() {
		if resp.DigestIndex, resp.StateDigest, err = h.s.node.FSM().Digest(); err != nil {
			return nil, toConnect(err)
		}
	}
	return resp, nil
}

// timestampOrNil is t as a protobuf timestamp, nil for the zero time.
func timestampOrNil(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func members(ms []raftnode.MemberStatus) []*bookdv1.Member {
	out := make([]*bookdv1.Member, 0, len(ms))
	for _, m := range ms {
		out = append(out, &bookdv1.Member{Id: m.ID, RaftAddress: m.RaftAddr, RpcAddress: m.RPCAddr, Voter: m.Voter, Leader: m.Leader})
	}
	return out
}

func (h *ClusterHandler) membersNow() []*bookdv1.Member {
	st, _ := h.s.node.Status()
	return members(st.Members)
}

func (h *ClusterHandler) AddNode(ctx context.Context, req *bookdv1.AddNodeRequest) (*bookdv1.AddNodeResponse, error) {
	if req.GetId() == "" {
		return nil, invalidArgument("id: required")
	}
	if req.GetRaftAddress() == "" {
		return nil, invalidArgument("raft_address: required")
	}
	return leaderOnly(ctx, h.s,
		func() (*bookdv1.AddNodeResponse, error) {
			add := h.s.node.AddNode
			if req.GetForSelf() {
				add = h.s.node.AddSelf
			}
			err := add(ctx, req.GetId(), req.GetRaftAddress(), req.GetRpcAddress(), !req.GetNonvoter())
			return &bookdv1.AddNodeResponse{Members: h.membersNow()}, err
		},
		func(ctx context.Context, p *peer) (*bookdv1.AddNodeResponse, error) {
			return p.cluster.AddNode(ctx, req)
		})
}

func (h *ClusterHandler) RemoveNode(ctx context.Context, req *bookdv1.RemoveNodeRequest) (*bookdv1.RemoveNodeResponse, error) {
	if req.GetId() == "" {
		return nil, invalidArgument("id: required")
	}
	return leaderOnly(ctx, h.s,
		func() (*bookdv1.RemoveNodeResponse, error) {
			err := h.s.node.RemoveNode(ctx, req.GetId(), req.GetForce())
			return &bookdv1.RemoveNodeResponse{Members: h.membersNow()}, err
		},
		func(ctx context.Context, p *peer) (*bookdv1.RemoveNodeResponse, error) {
			return p.cluster.RemoveNode(ctx, req)
		})
}

// TransferLeadership hands leadership over and answers the id of the node
// that leads afterwards. The leader waits until it knows its successor (it
// learns it from the new leader's first heartbeat), for up to the call's
// deadline or newLeaderTimeout; a follower forwards the call to the leader
// and relays its answer.
func (h *ClusterHandler) TransferLeadership(ctx context.Context, req *bookdv1.TransferLeadershipRequest) (*bookdv1.TransferLeadershipResponse, error) {
	return leaderOnly(ctx, h.s,
		func() (*bookdv1.TransferLeadershipResponse, error) {
			self := h.s.node.ID()
			if err := h.s.node.TransferLeadership(ctx, req.GetId()); err != nil {
				return nil, err
			}
			if req.GetId() == self {
				return &bookdv1.TransferLeadershipResponse{LeaderId: self}, nil // it already leads
			}
			id, err := waitNewLeader(ctx, h.s.node, self)
			return &bookdv1.TransferLeadershipResponse{LeaderId: id}, err
		},
		func(ctx context.Context, p *peer) (*bookdv1.TransferLeadershipResponse, error) {
			old, _ := h.s.node.Leader()
			resp, err := p.cluster.TransferLeadership(ctx, req)
			if err != nil || resp.GetLeaderId() != "" {
				return resp, err
			}
			// A leader that answers no id (one from before this rule):
			// learn the successor here.
			id, err := waitNewLeader(ctx, h.s.node, old)
			return &bookdv1.TransferLeadershipResponse{LeaderId: id}, err
		})
}

// leaderOnly runs an operation on the leader, forwarding from a follower.
func leaderOnly[Resp any](ctx context.Context, s *service, local func() (Resp, error),
	forward func(context.Context, *peer) (Resp, error)) (Resp, error) {
	var zero Resp
	if !s.node.IsLeader() {
		return toLeader(ctx, s, forward)
	}
	resp, err := local()
	if err != nil {
		return zero, toConnect(err)
	}
	return resp, nil
}
