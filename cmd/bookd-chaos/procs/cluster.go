package procs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/bookd/bookd/cmd/bookd-chaos/netproxy"
)

// ErrStopped is returned by operations on a cluster after Stop.
var ErrStopped = errors.New("procs: cluster stopped")

// ErrSlotInUse means the harness was about to start a node in a slot where
// another node's process may still run: a bug in procs, never a fault of
// the cluster under test.
var ErrSlotInUse = errors.New("procs: slot still in use")

// Cluster is a running set of bookd server processes behind a netproxy
// network. Its methods are safe for concurrent use, though operations on
// one node are meant to come one at a time.
type Cluster struct {
	o     Options
	log   *slog.Logger
	net   *netproxy.Network
	http  *http.Client   // for ClusterService calls to one node at a time
	procs sync.WaitGroup // process reapers

	replacing sync.Mutex // held by Replace

	mu        sync.Mutex
	nodes     []*Node // current members, in slot order
	nextID    int
	leftovers []*Node // members Replace replaced but has not removed yet
	spare     *slot   // the slot the next replacement takes
	stopped   bool
}

// Start starts o.Nodes servers that bootstrap one cluster, and waits until
// one of them leads with a quorum behind it. On failure it stops whatever
// it started and returns an error that quotes the nodes' logs.
func Start(ctx context.Context, o Options) (*Cluster, error) {
	if err := o.setDefaults(); err != nil {
		return nil, err
	}
	if _, err := os.Stat(o.Binary); err != nil {
		return nil, fmt.Errorf("procs: binary: %w", err)
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("procs: %w", err)
	}
	c := &Cluster{
		o:      o,
		log:    o.Logger.With("component", "procs"),
		net:    netproxy.New(o.Logger, o.Seed),
		http:   newHTTPClient(),
		nextID: o.Nodes + 1,
	}
	subnet := pickSubnet()
	var initial []string
	for i := range o.Nodes {
		s, err := newSlot(subnet, i)
		if err != nil {
			c.Stop()
			return nil, err
		}
		n := c.newNode(fmt.Sprintf("n%d", i+1), s)
		if err := c.attach(n); err != nil {
			c.Stop()
			return nil, err
		}
		c.nodes = append(c.nodes, n)
		initial = append(initial, n.ID+"="+n.RaftAdvertise)
	}
	for _, n := range c.nodes {
		n.boot = []string{"--initial-cluster", strings.Join(initial, ",")}
		if err := n.start(&c.procs, c.exited); err != nil {
			c.Stop()
			return nil, err
		}
	}
	spare, err := newSlot(subnet, o.Nodes)
	if err != nil {
		c.Stop()
		return nil, err
	}
	c.spare = spare
	c.log.Info("started cluster", "nodes", o.Nodes, "subnet", subnet+"0/24", "dir", o.Dir)
	ctx, cancel := c.startDeadline(ctx)
	defer cancel()
	if _, err := c.Leader(ctx); err != nil {
		err = fmt.Errorf("procs: no leader after start: %w%s", err, c.logTails())
		c.Stop()
		return nil, err
	}
	return c, nil
}

// newNode describes node id in slot s; it does not start it.
func (c *Cluster) newNode(id string, s *slot) *Node {
	dataDir := filepath.Join(c.o.Dir, id)
	n := &Node{
		ID: id, IP: s.ip,
		RaftAddr: s.raftBind, RPCAddr: s.rpcBind,
		RaftAdvertise: s.raftProxy, RPCAdvertise: s.rpcProxy,
		DataDir: dataDir, LogPath: filepath.Join(c.o.Dir, id+".log"),
		slot: s, bin: c.o.Binary,
	}
	if c.o.Direct {
		n.RaftAdvertise, n.RPCAdvertise = n.RaftAddr, n.RPCAddr
	}
	n.base = baseArgs(n, &c.o)
	s.nodes = append(s.nodes, n)
	return n
}

// attach registers n with the network and starts its proxies.
func (c *Cluster) attach(n *Node) error {
	if c.o.Direct {
		return nil
	}
	c.net.AddNode(n.ID, n.IP)
	if _, err := c.net.Listen(n.ID, n.RaftAdvertise, n.RaftAddr); err != nil {
		return err
	}
	if _, err := c.net.Listen(n.ID, n.RPCAdvertise, n.RPCAddr); err != nil {
		c.net.Unlisten(n.RaftAdvertise)
		return err
	}
	return nil
}

// detach stops n's proxies and forgets it in the network.
func (c *Cluster) detach(n *Node) error {
	if c.o.Direct {
		return nil
	}
	err := errors.Join(c.net.Unlisten(n.RaftAdvertise), c.net.Unlisten(n.RPCAdvertise))
	c.net.RemoveNode(n.ID)
	return err
}

// exited logs a process that ended unasked.
func (c *Cluster) exited(n *Node, err error) {
	c.log.Warn("node exited unasked", "node", n.ID, "err", err, "log", n.LogPath)
}

// Net is the network between the nodes; fault it with SetFault, Partition
// and Heal, naming nodes by ID.
func (c *Cluster) Net() *netproxy.Network { return c.net }

// Nodes returns the current members in slot order, whatever their state. A
// node Replace removed is no longer listed.
func (c *Cluster) Nodes() []*Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*Node(nil), c.nodes...)
}

// Node returns the member with the given id.
func (c *Cluster) Node(id string) (*Node, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return nil, ErrStopped
	}
	for _, n := range c.nodes {
		if n.ID == id {
			return n, nil
		}
	}
	return nil, fmt.Errorf("procs: no node %q", id)
}

// Running returns the members whose process runs (not paused, not stopped).
func (c *Cluster) Running() []*Node {
	var out []*Node
	for _, n := range c.Nodes() {
		if n.State() == Running {
			out = append(out, n)
		}
	}
	return out
}

// Crashed returns the members whose process ended without being asked to.
func (c *Cluster) Crashed() []*Node {
	var out []*Node
	for _, n := range c.Nodes() {
		if n.State() == Exited {
			out = append(out, n)
		}
	}
	return out
}

// Kill ends node id's process with SIGKILL and waits until it is gone. A
// node that does not run is left alone.
func (c *Cluster) Kill(id string) error {
	n, err := c.Node(id)
	if err != nil {
		return err
	}
	c.log.Info("kill", "node", id)
	return n.kill()
}

// Terminate asks node id's process to shut down with SIGTERM and waits,
// killing it if it has not ended within grace.
func (c *Cluster) Terminate(id string, grace time.Duration) error {
	n, err := c.Node(id)
	if err != nil {
		return err
	}
	c.log.Info("terminate", "node", id)
	return n.terminate(grace)
}

// Pause stops node id's process with SIGSTOP: it keeps its sockets but
// neither reads nor answers, like a long GC pause or a hung VM.
func (c *Cluster) Pause(id string) error {
	n, err := c.Node(id)
	if err != nil {
		return err
	}
	c.log.Info("pause", "node", id)
	return n.pause()
}

// Resume continues node id's paused process with SIGCONT.
func (c *Cluster) Resume(id string) error {
	n, err := c.Node(id)
	if err != nil {
		return err
	}
	c.log.Info("resume", "node", id)
	return n.resume()
}

// Restart starts node id again, with the same data directory, addresses and
// flags, once it has been killed, terminated or has exited. It waits until
// the new process answers GetStatus (not until it has caught up; see
// WaitCaughtUp) and fails, quoting its log, if it exits first.
func (c *Cluster) Restart(ctx context.Context, id string, opts ...RestartOption) error {
	n, err := c.Node(id)
	if err != nil {
		return err
	}
	var rc restartConfig
	for _, o := range opts {
		o(&rc)
	}
	n.mu.Lock()
	if rc.clockOffset != nil {
		n.clockOffset = *rc.clockOffset
	}
	n.mu.Unlock()
	c.log.Info("restart", "node", id, "clock_offset", n.ClockOffset())
	if err := n.start(&c.procs, c.exited); err != nil {
		return err
	}
	ctx, cancel := c.startDeadline(ctx)
	defer cancel()
	return c.waitServing(ctx, n)
}

// Stop shuts every process down (SIGTERM, then SIGKILL after 10s), stops
// the network and waits for everything the cluster started. Data and logs
// stay in Options.Dir. Stop may be called more than once.
func (c *Cluster) Stop() error {
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return nil
	}
	c.stopped = true
	nodes := append([]*Node(nil), c.nodes...)
	c.mu.Unlock()

	errs := make([]error, len(nodes))
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = n.terminate(10 * time.Second)
		}()
	}
	wg.Wait()
	c.procs.Wait()
	c.http.CloseIdleConnections()
	errs = append(errs, c.net.Close())
	c.log.Info("stopped cluster")
	return errors.Join(errs...)
}

// startDeadline bounds ctx by Options.StartTimeout.
func (c *Cluster) startDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, c.o.StartTimeout)
}
