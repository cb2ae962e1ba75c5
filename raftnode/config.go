package raftnode

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/bookd/bookd/fsm"
)

// Peer is a member of the initial cluster.
type Peer struct {
	ID       string
	RaftAddr string
}

// Config describes one node.
type Config struct {
	ID       string
	DataDir  string
	RaftAddr string // address Raft listens on
	RPCAddr  string // address the RPC server listens on

	// The addresses the other nodes dial, when they differ from the listen
	// addresses (behind NAT or a proxy). Empty: the listen address.
	RaftAdvertise string
	RPCAdvertise  string

	// InitialCluster bootstraps a new cluster when the node has no state.
	// Leave it empty for a node that joins a running cluster.
	InitialCluster []Peer

	// ClockOffset is added to this node's clock when it stamps commands (for
	// fault tests of a skewed leader).
	ClockOffset time.Duration
	// MaxClockOffset bounds clock trouble (default 500ms): a leader stamps
	// no command more than this past replicated time plus the real time
	// elapsed, and a node whose clock is further than this from the
	// majority's does not lead (see ClockStatus).
	MaxClockOffset time.Duration
	// NoClockGuard is for fault testing only: stamps follow the node's
	// clock unbounded and the node leads whatever its clock offset, as
	// before the guard, so a test can show what the guard prevents. The
	// offset is still measured and reported.
	NoClockGuard bool

	// Timing. Zero values take the defaults below.
	HeartbeatTimeout  time.Duration // default 1s
	ElectionTimeout   time.Duration // default 1s
	SnapshotInterval  time.Duration // default 2m
	SnapshotThreshold uint64        // default 8192 entries
	TrailingLogs      uint64        // default 10240 entries
	SweepInterval     time.Duration // default 250ms: how often the leader checks for due holds
	// FeedRetention is how long change-feed records are kept (default 72h);
	// a watcher whose cursor is older gets OUT_OF_RANGE. Idempotency records
	// are kept fsm.IdempotencyRetention (24h).
	FeedRetention time.Duration
	PurgeInterval time.Duration // default 1m: how often the leader checks for records to purge

	// TLS, when set, makes every Raft connection mutual TLS with this
	// configuration (certificate, CA, RequireAndVerifyClientCert).
	TLS *tls.Config

	Logger *slog.Logger
}

func (c *Config) setDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.HeartbeatTimeout, time.Second)
	def(&c.ElectionTimeout, time.Second)
	def(&c.SnapshotInterval, 2*time.Minute)
	def(&c.SweepInterval, 250*time.Millisecond)
	def(&c.FeedRetention, 72*time.Hour)
	def(&c.PurgeInterval, time.Minute)
	def(&c.MaxClockOffset, 500*time.Millisecond)
	if c.SnapshotThreshold == 0 {
		c.SnapshotThreshold = 8192
	}
	if c.TrailingLogs == 0 {
		c.TrailingLogs = 10240
	}
	if c.RaftAdvertise == "" {
		c.RaftAdvertise = c.RaftAddr
	}
	if c.RPCAdvertise == "" {
		c.RPCAdvertise = c.RPCAddr
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

func (c *Config) validate() error {
	if c.ID == "" {
		return fmt.Errorf("raftnode: --id is required")
	}
	if err := fsm.ValidateMember(c.ID, ""); err != nil {
		return fmt.Errorf("raftnode: --%s", err.Message) // an id it could never register under
	}
	if c.DataDir == "" {
		return fmt.Errorf("raftnode: --data-dir is required")
	}
	if c.MaxClockOffset < 0 {
		return fmt.Errorf("raftnode: --max-clock-offset %s: must be positive", c.MaxClockOffset)
	}
	if err := checkListen("--raft", c.RaftAddr, c.RaftAdvertise); err != nil {
		return err
	}
	if err := checkListen("--rpc", c.RPCAddr, c.RPCAdvertise); err != nil {
		return err
	}
	if len(c.InitialCluster) > 0 {
		found := false
		for _, p := range c.InitialCluster {
			if p.ID == c.ID {
				found = true
				if p.RaftAddr != c.RaftAdvertise {
					flag := "--raft-addr"
					if c.RaftAdvertise != c.RaftAddr {
						flag = "--raft-advertise"
					}
					return fmt.Errorf("raftnode: --initial-cluster gives %s address %s but %s is %s", p.ID, p.RaftAddr, flag, c.RaftAdvertise)
				}
			}
		}
		if !found {
			return fmt.Errorf("raftnode: --initial-cluster does not name this node (%s)", c.ID)
		}
	}
	return nil
}

// checkListen checks a listen address and the address advertised for it:
// the listen address may be a wildcard only when another address is
// advertised.
func checkListen(flag, listen, advertise string) error {
	if listen == advertise {
		return checkRoutable(flag+"-addr", listen)
	}
	if _, _, err := net.SplitHostPort(listen); err != nil {
		return fmt.Errorf("raftnode: %s-addr %q: %v", flag, listen, err)
	}
	return checkRoutable(flag+"-advertise", advertise)
}

// checkRoutable refuses addresses other nodes cannot dial, like ":7001" or "0.0.0.0:7001".
func checkRoutable(flag, addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("raftnode: %s %q: %v", flag, addr, err)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return fmt.Errorf("raftnode: %s %q: needs a fixed port between 1 and 65535", flag, addr)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		return fmt.Errorf("raftnode: %s %q: must be an address other nodes can reach, not a wildcard", flag, addr)
	}
	return nil
}

// ParsePeers parses "n1=127.0.0.1:7001,n2=127.0.0.1:7002".
func ParsePeers(s string) ([]Peer, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var peers []Peer
	seen := map[string]bool{}
	for _, part := range strings.Split(s, ",") {
		id, addr, ok := strings.Cut(part, "=")
		id, addr = strings.TrimSpace(id), strings.TrimSpace(addr)
		if !ok || id == "" || addr == "" {
			return nil, fmt.Errorf("raftnode: --initial-cluster entry %q: want id=host:port", part)
		}
		if seen[id] {
			return nil, fmt.Errorf("raftnode: --initial-cluster names %s twice", id)
		}
		if err := checkRoutable("--initial-cluster", addr); err != nil {
			return nil, err
		}
		seen[id] = true
		peers = append(peers, Peer{ID: id, RaftAddr: addr})
	}
	sort.Slice(peers, func(i, j int) bool { return peers[i].ID < peers[j].ID })
	return peers, nil
}
