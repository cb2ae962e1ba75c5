package procs

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/proto/bookd/v1/bookdv1connect"
)

const (
	pollEvery   = 50 * time.Millisecond
	callTimeout = 2 * time.Second // one GetStatus; a healthy node answers in ms
)

func newHTTPClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext:     (&net.Dialer{Timeout: callTimeout}).DialContext,
		IdleConnTimeout: 30 * time.Second,
	}}
}

// clusterClient speaks to node n's RPC address directly (unfaulted).
func (c *Cluster) clusterClient(n *Node) bookdv1connect.ClusterServiceClient {
	return bookdv1connect.NewClusterServiceClient(c.http, "http://"+n.RPCAddr)
}

// Status asks node id, and no other, for its view of the cluster. A paused
// node does not answer: the call lasts until ctx ends.
func (c *Cluster) Status(ctx context.Context, id string) (*bookdv1.GetStatusResponse, error) {
	n, err := c.Node(id)
	if err != nil {
		return nil, err
	}
	return c.clusterClient(n).GetStatus(ctx, &bookdv1.GetStatusRequest{})
}

// statusByID is Status with a short timeout of its own.
func (c *Cluster) statusByID(ctx context.Context, id string) (*bookdv1.GetStatusResponse, error) {
	n, err := c.Node(id)
	if err != nil {
		return nil, err
	}
	return c.statusOf(ctx, n)
}

// statusOf asks n for its status, with a short timeout of its own.
func (c *Cluster) statusOf(ctx context.Context, n *Node) (*bookdv1.GetStatusResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	st, err := c.clusterClient(n).GetStatus(ctx, &bookdv1.GetStatusRequest{})
	if err == nil && st.GetNodeId() != n.ID {
		// Another process holds the node's address (one that should be gone).
		return nil, fmt.Errorf("procs: %s's address %s is answered by %s", n.ID, n.RPCAddr, st.GetNodeId())
	}
	return st, err
}

// Leader waits until a running node is leader with a quorum of its voters
// agreeing (reporting it as leader in its term, and having heard from it
// within the heartbeat timeout), and returns its id. Of
// several nodes that believe they lead (an old leader cut off by a
// partition), the one with the highest term counts. Paused and stopped
// nodes are not asked.
func (c *Cluster) Leader(ctx context.Context) (string, error) {
	var last string
	for {
		id, why := c.leaderOnce(ctx)
		if id != "" {
			return id, nil
		}
		last = why
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("procs: no leader (%s): %w", last, ctx.Err())
		case <-time.After(pollEvery):
		}
	}
}

// leaderOnce asks every running node once; it returns the agreed leader or
// why there is none.
func (c *Cluster) leaderOnce(ctx context.Context) (id, why string) {
	var sts []*bookdv1.GetStatusResponse
	for _, n := range c.Running() {
		if st, err := c.statusOf(ctx, n); err == nil {
			sts = append(sts, st)
		}
	}
	var lead *bookdv1.GetStatusResponse
	for _, st := range sts {
		if st.State == "Leader" && (lead == nil || st.Term > lead.Term) {
			lead = st
		}
	}
	if lead == nil {
		return "", fmt.Sprintf("%d nodes answered, none leads", len(sts))
	}
	voters, agree := 0, 0
	for _, m := range lead.Members {
		if m.Voter {
			voters++
		}
	}
	// A follower's word counts while it hears from the leader: right after
	// a partition, followers still name the leader they no longer hear.
	fresh := c.o.HeartbeatTimeout
	if fresh == 0 {
		fresh = 300 * time.Millisecond // the server's default
	}
	for _, st := range sts {
		if st.LeaderId == lead.NodeId && st.Term == lead.Term &&
			(st.NodeId == lead.NodeId || time.Duration(st.LastContactMs)*time.Millisecond <= fresh) {
			agree++
		}
	}
	if agree < voters/2+1 {
		return "", fmt.Sprintf("%s leads term %d, %d of %d voters agree", lead.NodeId, lead.Term, agree, voters)
	}
	return lead.NodeId, ""
}

// WaitApplied waits until node id has applied the Raft log up to index.
func (c *Cluster) WaitApplied(ctx context.Context, id string, index uint64) error {
	n, err := c.Node(id)
	if err != nil {
		return err
	}
	var last uint64
	var lastErr error
	for {
		st, err := c.statusOf(ctx, n)
		if err == nil && st.AppliedIndex >= index {
			return nil
		}
		if err == nil {
			last = st.AppliedIndex
		}
		lastErr = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("procs: %s applied %d, waiting for %d (last error %v): %w", id, last, index, lastErr, ctx.Err())
		case <-time.After(pollEvery):
		}
	}
}

// WaitCaughtUp waits until node id has applied the last command the leader
// had applied when WaitCaughtUp was called (once there is a leader), and
// returns that index. It compares applied indexes, not the leader's commit
// index: GetStatus reports as applied the last command or configuration
// entry the state machine saw, and Raft's no-op and barrier entries never
// reach it, so a log that ends in one is committed beyond what any node
// reports as applied.
func (c *Cluster) WaitCaughtUp(ctx context.Context, id string) (uint64, error) {
	for {
		leader, err := c.Leader(ctx)
		if err != nil {
			return 0, err
		}
		st, err := c.statusByID(ctx, leader)
		if err != nil {
			if ctx.Err() != nil {
				return 0, err
			}
			continue // lost the leader meanwhile: ask again
		}
		return st.AppliedIndex, c.WaitApplied(ctx, id, st.AppliedIndex)
	}
}

// waitServing waits until n answers GetStatus, failing at once if its
// process exits.
func (c *Cluster) waitServing(ctx context.Context, n *Node) error {
	for {
		if n.State() == Exited {
			return fmt.Errorf("procs: %s exited while starting: %v%s", n.ID, n.ExitErr(), logTail(n, 20))
		}
		_, err := c.statusOf(ctx, n)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return errors.Join(fmt.Errorf("procs: %s does not answer: %w", n.ID, err), fmt.Errorf("%w%s", ctx.Err(), logTail(n, 20)))
		case <-time.After(pollEvery):
		}
	}
}
