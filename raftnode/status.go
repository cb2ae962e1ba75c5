package raftnode

import (
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// Status is a node's view of the cluster.
type Status struct {
	NodeID       string
	State        string
	LeaderID     string
	LeaderRPC    string
	Term         uint64
	CommitIndex  uint64
	AppliedIndex uint64
	LastLogIndex uint64
	LastContact  time.Duration
	Members      []MemberStatus
}

// MemberStatus is one member of the Raft configuration.
type MemberStatus struct {
	ID       string
	RaftAddr string
	RPCAddr  string
	Voter    bool
	Leader   bool
}

// Status reports this node's view of the cluster.
func (n *Node) Status() (Status, error) {
	_, leaderID := n.raft.LeaderWithID()
	st := Status{
		NodeID:       n.cfg.ID,
		State:        n.raft.State().String(),
		LeaderID:     string(leaderID),
		Term:         n.raft.CurrentTerm(),
		CommitIndex:  n.raft.CommitIndex(),
		AppliedIndex: n.appliedIndex(),
		LastLogIndex: n.raft.LastIndex(),
	}
	if n.raft.State() != raft.Leader {
		if lc := n.raft.LastContact(); !lc.IsZero() {
			st.LastContact = time.Since(lc)
		}
	}
	cf := n.raft.GetConfiguration()
	if err := cf.Error(); err != nil {
		return st, proposeError(err)
	}
	rpcAddrs, err := n.rpcAddrs()
	if err != nil {
		return st, err
	}
	st.LeaderRPC = rpcAddrs[st.LeaderID]
	for _, s := range cf.Configuration().Servers {
		st.Members = append(st.Members, MemberStatus{
			ID:       string(s.ID),
			RaftAddr: hostport(s.Address),
			RPCAddr:  rpcAddrs[string(s.ID)],
			Voter:    s.Suffrage == raft.Voter,
			Leader:   s.ID == leaderID,
		})
	}
	return st, nil
}

// rpcAddrs maps member ids to their registered RPC addresses (tombstones left out).
func (n *Node) rpcAddrs() (map[string]string, error) {
	addrs, _, err := n.memberRecords()
	return addrs, err
}

// Leader returns the leader's id and RPC address, empty when unknown.
// Every request asks, so the address is cached for a short while.
func (n *Node) Leader() (id, rpcAddr string) {
	_, lid := n.raft.LeaderWithID()
	id = string(lid)
	switch id {
	case "":
		return "", ""
	case n.cfg.ID:
		return id, n.cfg.RPCAdvertise
	}
	return id, n.leaderAddr.lookup(id, n.rpcAddrs)
}

// addrCache remembers one member's RPC address for up to a second.
type addrCache struct {
	mu   sync.Mutex
	id   string
	addr string
	at   time.Time
}

func (c *addrCache) lookup(id string, load func() (map[string]string, error)) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.id == id && c.addr != "" && time.Since(c.at) < time.Second {
		return c.addr
	}
	addrs, err := load()
	if err != nil {
		return ""
	}
	c.id, c.addr, c.at = id, addrs[id], time.Now()
	return c.addr
}

// IsLeader reports whether this node believes it leads.
func (n *Node) IsLeader() bool { return n.raft.State() == raft.Leader }

// LastContact is how long since this node heard from the leader (0 on the leader).
func (n *Node) LastContact() time.Duration {
	if n.IsLeader() {
		return 0
	}
	lc := n.raft.LastContact()
	if lc.IsZero() {
		return time.Duration(1<<63 - 1)
	}
	return time.Since(lc)
}

// FirstLogIndex is the oldest entry still in this node's Raft log.
func (n *Node) FirstLogIndex() (uint64, error) { return n.store.FirstIndex() }

// hostport is the host:port part of a Raft address.
func hostport(a raft.ServerAddress) string {
	_, hp := splitServerAddress(a)
	return hp
}
