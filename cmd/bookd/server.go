package main

import (
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/bookd/bookd/raftnode"
	"github.com/bookd/bookd/rpc"
	"github.com/bookd/bookd/rpc/cors"
	"github.com/bookd/bookd/rpc/metrics"
	"github.com/spf13/cobra"
)

// defaultRaftTimeout is the Raft heartbeat and election timeout of a bookd
// server, and so its leader lease. A leader's SIGKILL costs one to three
// of it before a follower stands, and a second round (1-2x) when the first
// candidate's pre-vote met a follower that had not timed out yet. At 300 ms
// that pattern took 3 of 38 kills past 1 s; at 200 ms 60 of 60 were within
// 768 ms. The price: on two cores shared by three nodes and the load, 2 of
// 126 write bursts cost an election at 200 ms (the lease ran out while both
// followers' answers were late), none of 144 at 300 ms, and no 10^6 fill
// or bench-peers run did at either (BENCHMARKS.md, "Failover at 200 ms
// timeouts"). A 150 ms lease made busy leaders step down.
const defaultRaftTimeout = 200 * time.Millisecond

func newServerCmd() *cobra.Command {
	var cfg raftnode.Config
	var initial, join, logLevel, logFormat, debugAddr string
	var sec securityFlags
	var nonvoter bool
	var gcPercent int
	var traces tracingFlags
	var corsFlag []string
	cmd := &cobra.Command{
		Use:   "server --id n1 --data-dir DIR --raft-addr HOST:PORT --rpc-addr HOST:PORT (--initial-cluster n1=HOST:PORT,... | --join HOST:PORT)",
		Short: "Run one bookd node",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			logger, err := newLogger(logLevel, logFormat)
			if err != nil {
				return err
			}
			corsOrigins, err := corsOriginList(corsFlag)
			if err != nil {
				return err
			}
			peers, err := raftnode.ParsePeers(initial)
			if err != nil {
				return usageError{err}
			}
			cfg.InitialCluster = peers
			var joinList []string
			for _, j := range strings.Split(join, ",") {
				if j = strings.TrimSpace(j); j != "" {
					joinList = append(joinList, j)
				}
			}
			if len(peers) > 0 && len(joinList) > 0 {
				return usagef("give --initial-cluster or --join, not both")
			}
			if len(peers) == 0 && len(joinList) == 0 {
				logger.Warn("neither --initial-cluster nor --join given: unless this node has state, it waits to be added with `bookd cluster add`")
			}
			cfg.Logger = logger
			if cmd.Flags().Changed("gc-percent") || os.Getenv("GOGC") == "" {
				debug.SetGCPercent(gcPercent)
			}
			scfg := rpc.ServerConfig{Node: cfg, Join: joinList, JoinAsNonvoter: nonvoter, Logger: logger, CORSOrigins: corsOrigins}
			if err := sec.apply(&scfg, map[string]string{"--rpc-addr": cfg.RPCAddr, "--raft-addr": cfg.RaftAddr, "--debug-addr": debugAddr}); err != nil {
				return err
			}
			logger.Info("security", "settings", sec.describe())
			m := metrics.New()
			if debugAddr != "" {
				stopDebug, err := startDebugServer(debugAddr, logger, m, scfg.Auth, scfg.TLS)
				if err != nil {
					return fmt.Errorf("--debug-addr: %w", err)
				}
				defer stopDebug()
				scfg.Interceptors = append(scfg.Interceptors, m.Interceptor())
			}
			stopTraces, err := traces.start(&scfg, logger)
			if err != nil {
				return fmt.Errorf("--otlp-endpoint: %w", err)
			}
			if stopTraces != nil {
				defer stopTraces()
			}
			srv, err := rpc.StartServer(scfg)
			if err != nil {
				return err
			}
			m.Watch(srv.Node())
			return waitForSignal(logger, srv.Close)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.ID, "id", "", "this node's id, unique in the cluster")
	f.StringVar(&cfg.DataDir, "data-dir", "", "directory for the Raft log, snapshots and state")
	f.StringVar(&cfg.RaftAddr, "raft-addr", "", "address for Raft traffic, routable by the other nodes")
	f.StringVar(&cfg.RPCAddr, "rpc-addr", "", "address to serve Connect, gRPC and gRPC-Web on")
	f.StringVar(&cfg.RaftAdvertise, "raft-advertise", "", "Raft address the other nodes dial, if not --raft-addr (NAT, proxies)")
	f.StringVar(&cfg.RPCAdvertise, "rpc-advertise", "", "RPC address the other nodes and clients are sent to, if not --rpc-addr")
	f.StringVar(&initial, "initial-cluster", "", "bootstrap members: n1=HOST:PORT,n2=HOST:PORT,... (ignored once the node has state)")
	f.StringVar(&join, "join", "", "RPC endpoints of a running cluster to join, comma-separated")
	f.BoolVar(&nonvoter, "nonvoter", false, "with --join: join as a non-voting read replica (serves stale reads)")
	f.DurationVar(&cfg.ClockOffset, "clock-offset", 0, "add this to the node's clock (fault testing only)")
	f.DurationVar(&cfg.MaxClockOffset, "max-clock-offset", 500*time.Millisecond, "largest clock offset tolerated: a node whose clock is further than this from the majority's does not lead, and a leader stamps no command more than this past replicated time plus the real time elapsed")
	f.DurationVar(&cfg.HeartbeatTimeout, "heartbeat-timeout", defaultRaftTimeout, "Raft heartbeat timeout: a follower that hears nothing from the leader for 1-2x this starts an election (raise it across data centres)")
	f.DurationVar(&cfg.ElectionTimeout, "election-timeout", defaultRaftTimeout, "Raft election timeout: a candidate without a majority for 1-2x this tries again")
	f.Uint64Var(&cfg.SnapshotThreshold, "snapshot-threshold", 8192, "Raft entries between snapshots")
	f.DurationVar(&cfg.SnapshotInterval, "snapshot-interval", 2*time.Minute, "how often Raft checks whether --snapshot-threshold entries were written since the last snapshot")
	f.Uint64Var(&cfg.TrailingLogs, "trailing-logs", 10240, "Raft entries kept behind a snapshot for slow followers")
	f.DurationVar(&cfg.FeedRetention, "feed-retention", 72*time.Hour, "how long change-feed records are kept; older cursors get OUT_OF_RANGE")
	f.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	f.StringVar(&logFormat, "log-format", "text", "text or json")
	f.IntVar(&gcPercent, "gc-percent", 400, "Go garbage collector target (as GOGC): the heap may grow this many percent past what is live before a collection. The state lives in Pebble, off the Go heap, so the heap is small and collections cost CPU, not memory; -1 turns the collector off. Without the flag, GOGC from the environment wins")
	f.StringVar(&debugAddr, "debug-addr", "", "admin listener: Prometheus /metrics, Go profiles (/debug/pprof/) and Raft timings (/debug/metrics); keep it private")
	f.StringArrayVar(&corsFlag, "cors-origin", nil, "`ORIGIN` (scheme://host[:port]) whose web pages may call this node from a browser (repeatable, or comma-separated; default none: no cross-origin calls)")
	sec.register(f)
	traces.register(f)
	return cmd
}

// corsOriginList flattens --cors-origin values (each may list several,
// comma-separated, as BOOKD_CORS_ORIGIN and a config file line do) and
// checks them: a bad one is a usage error naming it.
func corsOriginList(values []string) ([]string, error) {
	var origins []string
	for _, v := range values {
		for o := range strings.SplitSeq(v, ",") {
			if o = strings.TrimSpace(o); o != "" {
				origins = append(origins, o)
			}
		}
	}
	if _, err := cors.New(cors.Config{Origins: origins}); err != nil {
		return nil, usagef("--cors-origin: %v", err)
	}
	return origins, nil
}

func newLogger(level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, usagef("--log-level: %v", err)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	}
	return nil, usagef("--log-format must be text or json, not %q", format)
}

// waitForSignal blocks until SIGINT or SIGTERM, then runs stop.
func waitForSignal(logger *slog.Logger, stop func() error) error {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	s := <-sig
	logger.Info("shutting down", "signal", s.String())
	if err := stop(); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}
