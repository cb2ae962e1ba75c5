package raftnode_test

import (
	"context"
	"fmt"
	"github.com/bookd/bookd/rpc/clustertest"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bookd/bookd/fsm"
	fsmv1 "github.com/bookd/bookd/proto/bookd/fsm/v1"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/raftnode"
)

// Timing used by every test node: short enough for quick elections, long
// enough that a loaded machine running -race does not hold spurious ones.
const (
	testHeartbeat = 500 * time.Millisecond
	testElection  = 500 * time.Millisecond
	// waitLong bounds every wait for the cluster to settle.
	waitLong = 20 * time.Second
)

// freeAddr returns a loopback address whose port was free a moment ago.
func freeAddr(t testing.TB) string {
	t.Helper()
	addr, err := clustertest.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// nodeConfig is a valid configuration for a node with its own data
// directory and fresh loopback addresses, and no initial cluster.
func nodeConfig(t testing.TB, id string) raftnode.Config {
	t.Helper()
	return raftnode.Config{
		ID:               id,
		DataDir:          filepath.Join(t.TempDir(), id),
		RaftAddr:         freeAddr(t),
		RPCAddr:          freeAddr(t),
		HeartbeatTimeout: testHeartbeat,
		ElectionTimeout:  testElection,
		SweepInterval:    100 * time.Millisecond,
		Logger:           slog.New(slog.DiscardHandler),
	}
}

// openNode opens a node and closes it when the test ends.
func openNode(t testing.TB, cfg raftnode.Config) *raftnode.Node {
	t.Helper()
	n, err := raftnode.Open(cfg)
	if err != nil {
		t.Fatalf("open %s: %v", cfg.ID, err)
	}
	t.Cleanup(func() {
		if err := n.Close(); err != nil {
			t.Logf("close %s: %v", cfg.ID, err)
		}
	})
	return n
}

// singleNode opens a one-node cluster and waits until it leads and has
// registered its RPC address.
func singleNode(t *testing.T, cfg raftnode.Config) *raftnode.Node {
	t.Helper()
	cfg.InitialCluster = []raftnode.Peer{{ID: cfg.ID, RaftAddr: cfg.RaftAddr}}
	n := openNode(t, cfg)
	waitReady(t, []*raftnode.Node{n})
	return n
}

// startCluster opens size nodes, n1..n<size>, bootstrapped together.
func startCluster(t testing.TB, size int) ([]*raftnode.Node, []raftnode.Config) {
	t.Helper()
	var cfgs []raftnode.Config
	var peers []raftnode.Peer
	for i := range size {
		cfg := nodeConfig(t, fmt.Sprintf("n%d", i+1))
		cfgs = append(cfgs, cfg)
		peers = append(peers, raftnode.Peer{ID: cfg.ID, RaftAddr: cfg.RaftAddr})
	}
	var nodes []*raftnode.Node
	for i := range cfgs {
		cfgs[i].InitialCluster = peers
		nodes = append(nodes, openNode(t, cfgs[i]))
	}
	return nodes, cfgs
}

// waitFor retries cond until it returns nil, and fails the test with the
// last error when timeout passes first.
func waitFor(t testing.TB, timeout time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met after %s: %v", timeout, err)
		}
		<-tick.C
	}
}

// waitReady waits until exactly one of nodes leads, every node names it as
// leader, and the leader has registered its RPC address; it returns the
// leader.
func waitReady(t testing.TB, nodes []*raftnode.Node) *raftnode.Node {
	t.Helper()
	var leader *raftnode.Node
	waitFor(t, waitLong, func() error {
		leader = nil
		var leaders []string
		for _, n := range nodes {
			if n.IsLeader() {
				leader = n
				leaders = append(leaders, n.ID())
			}
		}
		if len(leaders) != 1 {
			return fmt.Errorf("want one leader, have %v", leaders)
		}
		for _, n := range nodes {
			if id, _ := n.Leader(); id != leader.ID() {
				return fmt.Errorf("%s sees leader %q, want %s", n.ID(), id, leader.ID())
			}
		}
		return registered(leader, leader.ID(), leader.RPCAddr())
	})
	return leader
}

// registered reports whether n's state machine records id at rpcAddr.
func registered(n *raftnode.Node, id, rpcAddr string) error {
	members, err := n.FSM().Members()
	if err != nil {
		return err
	}
	for _, m := range members {
		if m.ID == id && m.RPCAddress == rpcAddr {
			return nil
		}
	}
	return fmt.Errorf("%s: %s not registered at %s (members %v)", n.ID(), id, rpcAddr, members)
}

// others are the nodes other than skip.
func others(nodes []*raftnode.Node, skip *raftnode.Node) []*raftnode.Node {
	var out []*raftnode.Node
	for _, n := range nodes {
		if n != skip {
			out = append(out, n)
		}
	}
	return out
}

func createEventCmd(name string, capacity int64) *fsm.Command {
	return &fsm.Command{Op: &fsmv1.Command_CreateEvent{CreateEvent: &bookdv1.CreateEventRequest{Name: name, Capacity: capacity}}}
}

// createEvent proposes a new GA event on n and returns it.
func createEvent(t *testing.T, n *raftnode.Node, name string, capacity int64) *bookdv1.Event {
	t.Helper()
	res, err := n.Propose(context.Background(), createEventCmd(name, capacity))
	if err != nil {
		t.Fatalf("propose create event %q on %s: %v", name, n.ID(), err)
	}
	if res.Err != nil {
		t.Fatalf("create event %q: %v", name, res.Err)
	}
	resp, ok := res.Response.(*bookdv1.CreateEventResponse)
	if !ok {
		t.Fatalf("create event %q answered %T, want *bookdv1.CreateEventResponse", name, res.Response)
	}
	return resp.GetEvent()
}

// indexOf is the Raft index that created an object: the state machine
// derives identifiers such as "ev_12" from it.
func indexOf(t *testing.T, id string) uint64 {
	t.Helper()
	_, num, ok := strings.Cut(id, "_")
	if !ok {
		t.Fatalf("id %q has no index", id)
	}
	num, _, _ = strings.Cut(num, "-") // the command's place in a shared entry
	idx, err := strconv.ParseUint(num, 10, 64)
	if err != nil {
		t.Fatalf("id %q: %v", id, err)
	}
	return idx
}

// waitApplied waits until n's state machine has applied index.
func waitApplied(t *testing.T, n *raftnode.Node, index uint64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	if err := n.WaitApplied(ctx, index); err != nil {
		t.Fatalf("%s: %v (applied %d)", n.ID(), err, n.FSM().AppliedIndex())
	}
}

// waitSameDigest waits until a and b hold the same state at the same index.
func waitSameDigest(t *testing.T, a, b *raftnode.Node) {
	t.Helper()
	waitFor(t, waitLong, func() error {
		at1, sum1, err := a.FSM().Digest()
		if err != nil {
			return err
		}
		at2, sum2, err := b.FSM().Digest()
		if err != nil {
			return err
		}
		if at1 != at2 || string(sum1) != string(sum2) {
			return fmt.Errorf("%s at %d has digest %x, %s at %d has %x", a.ID(), at1, sum1[:8], b.ID(), at2, sum2[:8])
		}
		return nil
	})
}
