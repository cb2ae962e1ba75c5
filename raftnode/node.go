package raftnode

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bookd/bookd/fsm"
	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
)

// Node is one running member of the Raft group.
type Node struct {
	cfg       Config
	log       *slog.Logger
	raft      *raft.Raft
	fsm       *fsm.FSM
	transport *raft.NetworkTransport
	store     *raftboltdb.BoltStore
	logs      raft.LogStore // store, behind a cache of recent entries

	clock      stampClock
	guard      clockGuard
	leaderAddr addrCache
	reads      *readGate
	packer     *packer
	stopCh     chan struct{}
	stopped    sync.WaitGroup
	closeMu    sync.Mutex
	membership sync.Mutex // one membership change at a time on the leader
	closed     bool
	start      startup
	served     atomic.Bool
	pauses     pauseLog
}

// Open starts a node: it opens the stores, starts Raft, and bootstraps the
// cluster from cfg.InitialCluster when the node has no Raft state yet.
func Open(cfg Config) (*Node, error) {
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("raftnode: create data dir: %w", err)
	}
	n := &Node{cfg: cfg, log: cfg.Logger.With("node", cfg.ID), stopCh: make(chan struct{})}
	n.start.s.Started = time.Now()
	n.clock.offset = cfg.ClockOffset
	if !cfg.NoClockGuard {
		n.clock.bound = cfg.MaxClockOffset
	}
	n.guard.init(ClockStatus{MaxOffset: cfg.MaxClockOffset, Guard: !cfg.NoClockGuard})
	if err := n.open(); err != nil {
		n.closeStores()
		return nil, err
	}
	n.start.mark(func(s *Startup) *time.Time { return &s.Opened })
	n.log.Info("opened", "after", time.Since(n.start.s.Started).Round(time.Millisecond))
	return n, nil
}

func (n *Node) open() error {
	var err error
	began := time.Now()
	if n.fsm, err = fsm.Open(filepath.Join(n.cfg.DataDir, "fsm"), n.log); err != nil {
		return err
	}
	n.log.Info("state machine store open", "took", time.Since(began).Round(time.Millisecond), "applied_index", n.fsm.AppliedIndex())
	// The stored clock counts as applied now: a node that leads before it
	// applies an entry anchors its term there, not at the term's start
	// (see stampClock). When Raft replayed the whole log at start, the
	// replay did this; starting from the store, nothing is replayed, and a
	// restarted leader set replicated time back by the time it took to win
	// (a chaos run saw holds expire early after such a start).
	n.clock.applied(n.fsm.AppliedClock(), time.Now())
	if n.store, err = raftboltdb.New(raftboltdb.Options{Path: filepath.Join(n.cfg.DataDir, "raft.db")}); err != nil {
		return fmt.Errorf("raftnode: open log store: %w", err)
	}
	if n.logs, err = raft.NewLogCache(1024, n.store); err != nil {
		return err
	}
	raftLog := raftLogWriter(n.log)
	files, err := raft.NewFileSnapshotStore(n.cfg.DataDir, 2, raftLog)
	if err != nil {
		return fmt.Errorf("raftnode: open snapshot store: %w", err)
	}
	hlog := hclog.New(&hclog.LoggerOptions{Name: "raft", Level: hclog.Warn, Output: raftLog})
	if n.transport, err = newTransport(n.cfg.ID, n.cfg.RaftAddr, n.cfg.RaftAdvertise, n.cfg.TLS, n.log, hlog); err != nil {
		return err
	}
	snaps := &storeSnapshots{SnapshotStore: files, fsm: n.fsm, logs: n.logs, trans: noPipeline{n.transport}, log: n.log}

	leaderCh := make(chan bool, 16)
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(n.cfg.ID)
	rc.HeartbeatTimeout = n.cfg.HeartbeatTimeout
	rc.ElectionTimeout = n.cfg.ElectionTimeout
	// A leader that has not heard from a quorum for the lease steps down.
	// At half the heartbeat timeout (150 ms, when bookd server's default
	// was 300 ms) a busy leader on two cores stepped down in the middle of
	// a 10^6-booking fill, while its followers still rejected pre-votes
	// "since we have a leader": the lease, not a lost leader, caused those
	// elections. It is the heartbeat timeout now (the most hashicorp/raft
	// allows), which changes nothing when a leader dies (followers time out
	// on their own clock) and nothing for reads (they confirm leadership
	// with a heartbeat round, not by lease).
	rc.LeaderLeaseTimeout = n.cfg.HeartbeatTimeout
	// An append every CommitTimeout even with nothing new tells followers
	// the commit index; under load new entries carry it sooner. At 5 ms an
	// idle 3-node cluster spent 14% of a core on it, at 50 ms 4%.
	rc.CommitTimeout = 50 * time.Millisecond
	rc.SnapshotInterval = n.cfg.SnapshotInterval
	rc.SnapshotThreshold = n.cfg.SnapshotThreshold
	rc.TrailingLogs = n.cfg.TrailingLogs
	rc.MaxAppendEntries = 1024
	rc.BatchApplyCh = true
	rc.NotifyCh = leaderCh
	rc.Logger = hlog

	existing, err := raft.HasExistingState(n.logs, n.store, snaps)
	if err != nil {
		return fmt.Errorf("raftnode: read raft state: %w", err)
	}
	if !existing && len(n.cfg.InitialCluster) > 0 {
		var servers []raft.Server
		for _, p := range n.cfg.InitialCluster {
			servers = append(servers, raft.Server{Suffrage: raft.Voter, ID: raft.ServerID(p.ID), Address: serverAddress(p.ID, p.RaftAddr)})
		}
		if err := raft.BootstrapCluster(rc, n.logs, n.store, snaps, noPipeline{n.transport}, raft.Configuration{Servers: servers}); err != nil {
			return fmt.Errorf("raftnode: bootstrap: %w", err)
		}
		n.log.Info("bootstrapped new cluster", "members", len(servers))
	}
	began = time.Now()
	from, err := snaps.offer()
	if err != nil {
		return err
	}
	n.raft, err = raft.NewRaft(rc, timedFSM{n.fsm, &n.clock}, n.logs, n.store, snaps, noPipeline{n.transport})
	snaps.started()
	if err != nil {
		return fmt.Errorf("raftnode: start raft: %w", err)
	}
	n.log.Info("raft started", "took", time.Since(began).Round(time.Millisecond), "from_index", from, "last_index", n.raft.LastIndex())
	n.packer = &packer{raft: n.raft, clock: &n.clock}
	n.reads = newReadGate(n)
	n.stopped.Add(6)
	go n.watchPauses()
	go n.watchStateComplete()
	go n.watchLeadership(leaderCh)
	go n.watchClock()
	go n.whileLeading(n.cfg.SweepInterval, n.sweepHolds)
	go n.whileLeading(n.cfg.PurgeInterval, n.purgeOld)
	return nil
}

// watchLeadership drains Raft's leadership notifications. A new leader
// has its clock judged (it hands leadership over if the clock is off) and
// registers its RPC address so followers can forward to it.
func (n *Node) watchLeadership(ch <-chan bool) {
	defer n.stopped.Done()
	for {
		select {
		case <-n.stopCh:
			return
		case leader := <-ch:
			if leader {
				n.log.Info("became leader")
				n.requestClockProbe() // a clock found off hands leadership over
				n.kickClock()
				go n.registerSelf()
			}
		}
	}
}

// registerSelf records this node's RPC address in the replicated state.
// Like any membership change on this leader it runs alone, from a state
// that holds every committed change: a tombstone the previous leader
// committed just before this node won is seen, and kept.
func (n *Node) registerSelf() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n.membership.Lock()
	defer n.membership.Unlock()
	if err := n.ReadBarrier(ctx); err != nil {
		if !errors.Is(err, ErrNotLeader) {
			n.log.Warn("register rpc address", "err", err)
		}
		return // the node's register loop asks again
	}
	if removed, err := n.Removed(n.cfg.ID); err != nil || removed {
		return // an operator is removing this node: keep its tombstone
	}
	if err := n.RegisterMember(n.cfg.ID, n.cfg.RPCAdvertise); err != nil && !errors.Is(err, ErrNotLeader) {
		n.log.Warn("register rpc address", "err", err)
	}
}

// Close stops Raft and closes the stores. It is safe to call twice.
func (n *Node) Close() error {
	n.closeMu.Lock()
	defer n.closeMu.Unlock()
	if n.closed {
		return nil
	}
	n.closed = true
	close(n.stopCh)
	var errs []error
	if n.raft != nil {
		errs = append(errs, n.raft.Shutdown().Error())
	}
	n.stopped.Wait()
	errs = append(errs, n.closeStores())
	return errors.Join(errs...)
}

func (n *Node) closeStores() error {
	var errs []error
	if n.transport != nil {
		errs = append(errs, n.transport.Close())
	}
	if n.store != nil {
		errs = append(errs, n.store.Close())
	}
	if n.fsm != nil {
		errs = append(errs, n.fsm.Close())
	}
	return errors.Join(errs...)
}

// ID is this node's Raft server id.
func (n *Node) ID() string { return n.cfg.ID }

// RPCAddr is the RPC address this node advertises to the others.
func (n *Node) RPCAddr() string { return n.cfg.RPCAdvertise }

// FSM is the node's state machine, for reads.
func (n *Node) FSM() *fsm.FSM { return n.fsm }

// Raft exposes the Raft instance to tests and the status report.
func (n *Node) Raft() *raft.Raft { return n.raft }

// raftLogWriter sends hashicorp/raft's text log lines to slog.
func raftLogWriter(l *slog.Logger) io.Writer { return slogWriter{l.With("component", "raft")} }

type slogWriter struct{ l *slog.Logger }

func (w slogWriter) Write(p []byte) (int, error) {
	msg := string(p)
	if len(msg) > 0 && msg[len(msg)-1] == '\n' {
		msg = msg[:len(msg)-1]
	}
	w.l.Warn(msg)
	return len(p), nil
}

// RaftAddr is the Raft address this node advertises to the others.
func (n *Node) RaftAddr() string { return n.cfg.RaftAdvertise }
