package netproxy

import (
	"errors"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync"
	"time"
)

// ErrClosed is returned by Listen after Close.
var ErrClosed = errors.New("netproxy: network closed")

// Network is a set of fault-injecting proxies and the faults they apply. All
// methods are safe for concurrent use.
type Network struct {
	log         *slog.Logger
	holeTimeout time.Duration
	dialTimeout time.Duration

	mu        sync.Mutex
	rng       *rand.Rand        // under mu
	nodes     map[string]string // name → IP
	byIP      map[string]string // IP → name
	faults    map[link]Fault
	listeners map[string]*listener // by listen address
	pipes     map[*pipe]struct{}
	holes     map[*hole]struct{}
	closed    bool

	stats counters
	wg    sync.WaitGroup // every goroutine the network started
}

// link is a directed link: the bytes node from sends towards node to.
type link struct{ from, to string }

// Option configures a Network.
type Option func(*Network)

// WithBlackholeTimeout sets how long a connection accepted across a blocked
// link is held (and its bytes discarded) before it is reset, if the block
// has not lifted by then. The default is 20s, longer than Raft's 10s I/O
// timeout, so a caller notices the partition by its own timeout first.
func WithBlackholeTimeout(d time.Duration) Option {
	return func(n *Network) { n.holeTimeout = d }
}

// WithDialTimeout bounds how long a proxy waits to connect to its target.
// The default is 5s.
func WithDialTimeout(d time.Duration) Option {
	return func(n *Network) { n.dialTimeout = d }
}

// New returns a network with no nodes, proxies or faults. All its random
// choices (drops, jitter) come from seed.
func New(logger *slog.Logger, seed int64, opts ...Option) *Network {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	n := &Network{
		log:         logger.With("component", "netproxy"),
		holeTimeout: 20 * time.Second,
		dialTimeout: 5 * time.Second,
		rng:         rand.New(rand.NewPCG(uint64(seed), uint64(seed)^0x9e3779b97f4a7c15)),
		nodes:       map[string]string{},
		byIP:        map[string]string{},
		faults:      map[link]Fault{},
		listeners:   map[string]*listener{},
		pipes:       map[*pipe]struct{}{},
		holes:       map[*hole]struct{}{},
	}
	for _, o := range opts {
		o(n)
	}
	return n
}

// AddNode registers the source IP of node name's outgoing connections. A
// name registered again moves to the new IP; an IP that belonged to another
// node now belongs to name.
func (n *Network) AddNode(name, ip string) {
	ip = canonicalIP(ip)
	n.mu.Lock()
	defer n.mu.Unlock()
	if old, ok := n.nodes[name]; ok {
		delete(n.byIP, old)
	}
	if other, ok := n.byIP[ip]; ok {
		delete(n.nodes, other)
	}
	n.nodes[name] = ip
	n.byIP[ip] = name
}

// RemoveNode forgets node name and every fault on its links. Its IP then
// counts as no node: connections from it pass unfaulted.
func (n *Network) RemoveNode(name string) {
	n.mu.Lock()
	if ip, ok := n.nodes[name]; ok {
		delete(n.byIP, ip)
		delete(n.nodes, name)
	}
	for l := range n.faults {
		if l.from == name || l.to == name {
			delete(n.faults, l)
		}
	}
	resets, releases := n.enforceLocked()
	n.mu.Unlock()
	n.act(resets, releases)
}

// Nodes returns the registered node names and their IPs.
func (n *Network) Nodes() map[string]string {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make(map[string]string, len(n.nodes))
	for k, v := range n.nodes {
		out[k] = v
	}
	return out
}

// Close stops every proxy, resets every connection and waits for all the
// network's goroutines to end. The network cannot be used afterwards.
func (n *Network) Close() error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	var errs []error
	for addr, l := range n.listeners {
		if err := l.ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
		delete(n.listeners, addr)
	}
	var pipes []*pipe
	for p := range n.pipes {
		pipes = append(pipes, p)
	}
	var holes []*hole
	for h := range n.holes {
		holes = append(holes, h)
	}
	n.mu.Unlock()
	for _, p := range pipes {
		p.reset(resetClose)
	}
	for _, h := range holes {
		h.release()
	}
	n.wg.Wait()
	return errors.Join(errs...)
}

// sourceOf names the node a connection comes from, or "" if its source IP
// is no node's.
func (n *Network) sourceOf(c net.Conn) string {
	addr, ok := c.RemoteAddr().(*net.TCPAddr)
	if !ok {
		return ""
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.byIP[addr.IP.String()]
}

func canonicalIP(ip string) string {
	if p := net.ParseIP(ip); p != nil {
		return p.String()
	}
	return ip
}
