package procs

import (
	"errors"
	"log/slog"
	"time"
)

// Options describes a cluster to start.
type Options struct {
	// Binary is the bookd executable (see BuildBinary). Required.
	Binary string
	// Dir holds every node's data directory (<Dir>/<id>) and log file
	// (<Dir>/<id>.log). Required; created if missing.
	Dir string
	// Nodes is the number of voters to bootstrap (default 3).
	Nodes int
	// Seed drives the network's random faults (see netproxy.New).
	Seed int64
	// Direct leaves the proxies out: nodes advertise the addresses they
	// listen on and the network's faults do not reach them. For benchmarks.
	Direct bool
	// ExtraArgs are more flags for every `bookd server` run.
	ExtraArgs []string

	// Raft settings passed to every server; zero leaves the server's default.
	HeartbeatTimeout, ElectionTimeout time.Duration
	SnapshotThreshold, TrailingLogs   uint64
	SnapshotInterval                  time.Duration

	// LogLevel of the servers: debug, info (default), warn or error.
	LogLevel string
	// StartTimeout bounds how long Start waits for a leader and Restart and
	// Replace wait for a node to answer (default 30s) when their context has
	// no earlier deadline.
	StartTimeout time.Duration
	// Logger receives the cluster's and the network's own log lines.
	Logger *slog.Logger
}

func (o *Options) setDefaults() error {
	if o.Binary == "" {
		return errors.New("procs: Options.Binary is required")
	}
	if o.Dir == "" {
		return errors.New("procs: Options.Dir is required")
	}
	if o.Nodes == 0 {
		o.Nodes = 3
	}
	if o.Nodes < 1 || o.Nodes > 200 {
		return errors.New("procs: Options.Nodes must be between 1 and 200")
	}
	if o.LogLevel == "" {
		o.LogLevel = "info"
	}
	if o.StartTimeout == 0 {
		o.StartTimeout = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// RestartOption changes how Restart starts a node again.
type RestartOption func(*restartConfig)

type restartConfig struct {
	clockOffset *time.Duration
}

// WithClockOffset starts the node with --clock-offset d (its stamping clock
// runs d ahead, or behind if d is negative). The offset sticks to the node
// for later restarts until changed again; WithClockOffset(0) clears it.
func WithClockOffset(d time.Duration) RestartOption {
	return func(c *restartConfig) { c.clockOffset = &d }
}
