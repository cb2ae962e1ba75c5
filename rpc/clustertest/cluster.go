// Package clustertest runs real bookd clusters inside a test: every node is
// a full server (Raft over loopback TCP, Pebble in a temporary directory,
// Connect over HTTP on a loopback port) that can be stopped and restarted.
package clustertest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/bookd/bookd/raftnode"
	"github.com/bookd/bookd/rpc"
)

// Options tune a test cluster.
type Options struct {
	// SnapshotThreshold and TrailingLogs as in raftnode.Config (0: defaults).
	SnapshotThreshold uint64
	TrailingLogs      uint64
	// FeedRetention and PurgeInterval as in raftnode.Config (0: defaults).
	FeedRetention time.Duration
	PurgeInterval time.Duration
	// Secure runs every node with TLS, mutual TLS between nodes and
	// tokens (see Cluster.Security).
	Secure bool
	// Log, when set, receives every node's log in JSON at debug level
	// (each line with the node's id); it must be safe for concurrent use.
	Log io.Writer
	// Configure, when set, may change each node's server configuration
	// before it starts (interceptors, say).
	Configure func(id string, cfg *rpc.ServerConfig)
	// Seed, when set, prepares each node's data directory before its
	// first start, given the cluster's members (see raftnode.SeedFromBackup).
	Seed func(dataDir string, peers []raftnode.Peer) error
	// Shed as in rpc.ServerConfig (zero: the defaults).
	Shed rpc.ShedConfig
}

// Cluster is a set of in-process bookd servers.
type Cluster struct {
	t     testing.TB
	opts  Options
	Nodes []*Node
	// Security is the CA and tokens of a cluster started with Secure.
	Security *Security
	// mu guards every Node's Server: clients ask for Endpoints while the
	// test stops and restarts nodes.
	mu sync.Mutex
}

// Node is one server of a Cluster.
type Node struct {
	ID       string
	RaftAddr string
	RPCAddr  string
	DataDir  string
	Server   *rpc.Server // nil while stopped
	// AppliedAtStop is the applied index when the node was last stopped.
	AppliedAtStop uint64

	peers []raftnode.Peer // initial cluster; nil for a joining node
	join  []string
}

// Start starts an n-node cluster and waits for it to elect a leader whose
// RPC address every node knows. The cluster is closed when the test ends.
func Start(t testing.TB, n int, opts Options) *Cluster {
	t.Helper()
	c := &Cluster{t: t, opts: opts}
	if opts.Secure {
		c.Security = newSecurity(t)
	}
	var peers []raftnode.Peer
	for i := range n {
		nd := c.newNode(fmt.Sprintf("n%d", i+1))
		peers = append(peers, raftnode.Peer{ID: nd.ID, RaftAddr: nd.RaftAddr})
	}
	for _, nd := range c.Nodes {
		nd.peers = peers
		if opts.Seed != nil {
			if err := opts.Seed(nd.DataDir, peers); err != nil {
				t.Fatalf("seed %s: %v", nd.ID, err)
			}
		}
		c.startNode(nd)
	}
	t.Cleanup(c.Close)
	c.WaitReady()
	return c
}

func (c *Cluster) newNode(id string) *Node {
	nd := &Node{ID: id, RaftAddr: freeAddr(c.t), RPCAddr: freeAddr(c.t), DataDir: filepath.Join(c.t.TempDir(), id)}
	c.Nodes = append(c.Nodes, nd)
	return nd
}

func (c *Cluster) startNode(nd *Node) {
	c.t.Helper()
	logger := slog.New(slog.NewTextHandler(testWriter{c.t, nd.ID}, &slog.HandlerOptions{Level: slog.LevelError}))
	if c.opts.Log != nil {
		logger = slog.New(slog.NewJSONHandler(c.opts.Log, &slog.HandlerOptions{Level: slog.LevelDebug})).With("node", nd.ID)
	}
	cfg := rpc.ServerConfig{
		Node: raftnode.Config{
			ID: nd.ID, DataDir: nd.DataDir, RaftAddr: nd.RaftAddr, RPCAddr: nd.RPCAddr,
			InitialCluster:    nd.peers,
			HeartbeatTimeout:  500 * time.Millisecond,
			ElectionTimeout:   500 * time.Millisecond,
			SweepInterval:     200 * time.Millisecond,
			SnapshotThreshold: c.opts.SnapshotThreshold,
			TrailingLogs:      c.opts.TrailingLogs,
			FeedRetention:     c.opts.FeedRetention,
			PurgeInterval:     c.opts.PurgeInterval,
		},
		Join:   nd.join,
		Logger: logger,
		Shed:   c.opts.Shed,
	}
	if c.Security != nil {
		if err := c.Security.apply(&cfg, nd.ID); err != nil {
			c.t.Fatalf("secure %s: %v", nd.ID, err)
		}
	}
	if c.opts.Configure != nil {
		c.opts.Configure(nd.ID, &cfg)
	}
	srv, err := rpc.StartServer(cfg)
	if err != nil {
		c.t.Fatalf("start %s: %v", nd.ID, err)
	}
	c.mu.Lock()
	nd.Server = srv
	c.mu.Unlock()
}

// Join starts a new node that joins the running cluster through its members.
func (c *Cluster) Join(id string) *Node {
	c.t.Helper()
	join := c.Endpoints()
	nd := c.newNode(id)
	nd.join = join
	c.startNode(nd)
	return nd
}

// Stop shuts a node down; its data stays for Restart.
func (c *Cluster) Stop(nd *Node) {
	c.t.Helper()
	if nd.Server == nil {
		return
	}
	nd.AppliedAtStop = nd.Server.Node().FSM().AppliedIndex()
	srv := nd.Server
	c.mu.Lock()
	nd.Server = nil
	c.mu.Unlock()
	if err := srv.Close(); err != nil {
		c.t.Logf("stop %s: %v", nd.ID, err)
	}
}

// Restart starts a stopped node on its old addresses and data.
func (c *Cluster) Restart(nd *Node) {
	c.t.Helper()
	c.startNode(nd)
}

// Move restarts a stopped node on a new Raft address (its data and RPC
// address kept), as an operator moving it would, and returns the address.
func (c *Cluster) Move(nd *Node) string {
	c.t.Helper()
	nd.RaftAddr = freeAddr(c.t)
	moved := append([]raftnode.Peer(nil), nd.peers...)
	for i := range moved {
		if moved[i].ID == nd.ID {
			moved[i].RaftAddr = nd.RaftAddr
		}
	}
	nd.peers = moved
	c.startNode(nd)
	return nd.RaftAddr
}

// Close stops every node.
func (c *Cluster) Close() {
	for _, nd := range c.Nodes {
		c.Stop(nd)
	}
}

// Endpoints are the RPC addresses of the running nodes.
func (c *Cluster) Endpoints() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var eps []string
	for _, nd := range c.Nodes {
		if nd.Server != nil {
			eps = append(eps, nd.RPCAddr)
		}
	}
	return eps
}

// Running are the nodes that are up.
func (c *Cluster) Running() []*Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	var up []*Node
	for _, nd := range c.Nodes {
		if nd.Server != nil {
			up = append(up, nd)
		}
	}
	return up
}

// WaitReady waits until some running node leads, every running node knows
// the leader's RPC address, and every running node's RPC address is
// registered; it returns the leader.
func (c *Cluster) WaitReady() *Node {
	c.t.Helper()
	var leader *Node
	c.Eventually(20*time.Second, func() error {
		leader = nil
		for _, nd := range c.Running() {
			if nd.Server.Node().IsLeader() {
				leader = nd
			}
		}
		if leader == nil {
			return fmt.Errorf("no leader")
		}
		for _, nd := range c.Running() {
			id, addr := nd.Server.Node().Leader()
			if id != leader.ID || addr != leader.RPCAddr {
				return fmt.Errorf("%s sees leader %q at %q, want %s at %s", nd.ID, id, addr, leader.ID, leader.RPCAddr)
			}
		}
		members, err := leader.Server.Node().FSM().Members()
		if err != nil {
			return err
		}
		registered := map[string]string{}
		for _, m := range members {
			registered[m.ID] = m.RPCAddress
		}
		for _, nd := range c.Running() {
			if registered[nd.ID] != nd.RPCAddr {
				return fmt.Errorf("%s has not registered its RPC address", nd.ID)
			}
		}
		return nil
	})
	return leader
}

// WaitConverged waits until every running node has applied the leader's
// last log entry and all hold identical state, and returns that digest.
// (Raft's no-op and barrier entries never reach the state machine, so the
// nodes' stored applied index may stay below the log's last index.)
func (c *Cluster) WaitConverged() []byte {
	c.t.Helper()
	var digest []byte
	c.Eventually(30*time.Second, func() error {
		leader := c.WaitReady()
		want := leader.Server.Node().Raft().LastIndex()
		for _, nd := range c.Running() {
			if got := nd.Server.Node().Raft().AppliedIndex(); got < want {
				return fmt.Errorf("%s applied %d of %d", nd.ID, got, want)
			}
		}
		digest = nil
		var at uint64
		for _, nd := range c.Running() {
			idx, sum, err := nd.Server.Node().FSM().Digest()
			if err != nil {
				return err
			}
			if digest != nil && (idx != at || !bytes.Equal(digest, sum)) {
				return fmt.Errorf("%s has digest %x at %d, others %x at %d", nd.ID, sum[:8], idx, digest[:8], at)
			}
			digest, at = sum, idx
		}
		return nil
	})
	return digest
}

// Eventually retries cond until it returns nil or the timeout passes.
func (c *Cluster) Eventually(timeout time.Duration, cond func() error) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		err := cond()
		if err == nil {
			return
		}
		select {
		case <-ctx.Done():
			c.t.Fatalf("condition not met after %s: %v", timeout, err)
		case <-tick.C:
		}
	}
}

func freeAddr(t testing.TB) string {
	addr, err := FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// testWriter sends a node's log lines to the test log.
type testWriter struct {
	t  testing.TB
	id string
}

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Logf("%s: %s", w.id, bytes.TrimRight(p, "\n"))
	return len(p), nil
}
