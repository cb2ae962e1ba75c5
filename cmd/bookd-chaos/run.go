package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/bookd/bookd/cmd/bookd-chaos/history"
	"github.com/bookd/bookd/cmd/bookd-chaos/procs"
)

// config is one chaos run.
type config struct {
	Seed         uint64
	Duration     time.Duration
	Nodes        int
	Clients      int
	Binary       string // bookd executable; built when empty
	Dir          string // data, logs, and on failure the history and its visualization
	Election     time.Duration
	MaxSkew      time.Duration
	Faults       map[string]bool // kinds to inject
	Queues       bool            // run queue consumers beside the clients (queues.go)
	CheckTimeout time.Duration
	Out          io.Writer
	Logger       *slog.Logger
}

// report is what a run found.
type report struct {
	Ops        int
	Unresolved int
	Resolved   int
	Faults     map[string]int
	Failed     map[string]int
	Changes    int
	Verdict    history.Verdict
	Paths      paths
	Queues     []queueSummary
	Anomalies  []string
}

// run starts a cluster, runs the workload under the nemesis for the
// configured duration, heals everything, and checks the history and the
// invariants. The error is about the harness; anomalies are in the report.
func run(ctx context.Context, cfg config) (*report, error) {
	if cfg.Binary == "" {
		bin, err := procs.BuildBinary(cfg.Dir)
		if err != nil {
			return nil, err
		}
		cfg.Binary = bin
	}
	cluster, err := procs.Start(ctx, procs.Options{
		Binary: cfg.Binary, Dir: cfg.Dir, Nodes: cfg.Nodes, Seed: int64(cfg.Seed),
		HeartbeatTimeout: cfg.Election, ElectionTimeout: cfg.Election,
		// Frequent small snapshots, so that restarted and new nodes catch up
		// by installing one.
		SnapshotThreshold: 128, TrailingLogs: 32, SnapshotInterval: time.Second,
		LogLevel: "warn", Logger: cfg.Logger,
	})
	if err != nil {
		return nil, err
	}
	defer cluster.Stop()
	nc := newNodeClients()
	rec := &recorder{}
	w := &workload{rec: rec, nc: nc, clients: cfg.Clients, epochLen: 10 * time.Second, nodes: func() []string {
		var out []string
		for _, n := range cluster.Nodes() {
			out = append(out, n.RPCAddr)
		}
		return out
	}}
	nem := newNemesis(cluster, nc, cfg.Logger, cfg.Election, cfg.MaxSkew, cfg.Faults)
	var queues *queueRun
	if cfg.Queues {
		queues = newQueueRun(nc, w.nodes)
		if err := queues.create(ctx, cfg.Seed); err != nil {
			return nil, err
		}
	}

	runCtx, stop := context.WithTimeout(ctx, cfg.Duration)
	defer stop()
	werr := make(chan error, 1)
	go func() { werr <- w.run(runCtx, cfg.Seed) }()
	consumed := make(chan struct{})
	go func() {
		defer close(consumed)
		if queues != nil {
			queues.consume(runCtx, cfg.Seed)
		}
	}()
	nem.run(runCtx, cfg.Seed)
	<-consumed
	if err := <-werr; err != nil {
		return nil, err
	}
	if err := nem.harnessBug(); err != nil {
		return nil, err
	}

	fmt.Fprintln(cfg.Out, "healing")
	if err := heal(ctx, cluster); err != nil {
		return nil, err
	}
	rep := &report{}
	rep.Faults, rep.Failed = nem.summary()
	rep.Resolved, rep.Unresolved = w.resolve(ctx)
	// Let every hold expire and the leader's sweeper record it, so that the
	// replicas stop changing.
	sleep(ctx, 3*time.Second)
	if queues != nil {
		rep.Anomalies = append(rep.Anomalies, queues.drain(ctx, time.Minute)...)
	}
	nodes := w.nodes()
	if _, _, err := converge(ctx, nc, nodes, time.Minute); err != nil {
		rep.Anomalies = append(rep.Anomalies, err.Error())
	}
	ops := rec.history()
	rep.Ops = len(ops)
	a := acknowledged(ops)
	rep.Anomalies = append(rep.Anomalies, rec.unexpected...)
	rep.Anomalies = append(rep.Anomalies, nem.leapAnomalies()...)
	rep.Anomalies = append(rep.Anomalies, checkBookings(ctx, nc, nodes, a, w.allEvents())...)

	var dirs []string
	for _, n := range cluster.Nodes() {
		dirs = append(dirs, n.DataDir)
	}
	if err := cluster.Stop(); err != nil {
		return nil, err
	}
	var feedProblems, keyProblems []string
	rep.Changes, feedProblems = checkFeeds(dirs, a)
	rep.Anomalies = append(rep.Anomalies, feedProblems...)
	rep.Paths = countPaths(ops, w.batches.Load())
	rep.Paths.Early, keyProblems = checkClaimKeys(dirs, gaEvent(w.allEvents()), ops)
	rep.Anomalies = append(rep.Anomalies, keyProblems...)
	if queues != nil {
		feed, finals, err := readQueueStore(dirs[0])
		if err != nil {
			return nil, err
		}
		var queueProblems []string
		rep.Queues, queueProblems = checkQueues(&queues.rec, feed, finals)
		rep.Anomalies = append(rep.Anomalies, queueProblems...)
	}

	lo, hi := nem.offsets()
	clocks := history.Clocks{MinOffset: int64(lo), MaxOffset: int64(hi), Slack: int64(5 * time.Millisecond)}
	viz := filepath.Join(cfg.Dir, "history.html")
	rep.Verdict, err = history.Check(ops, clocks, cfg.CheckTimeout, viz)
	if err != nil {
		return nil, err
	}
	switch rep.Verdict.Result {
	case porcupine.Illegal:
		rep.Anomalies = append(rep.Anomalies, "history is not linearizable: see "+viz)
	case porcupine.Unknown:
		rep.Anomalies = append(rep.Anomalies, "linearizability check timed out: see "+viz)
	}
	if len(rep.Anomalies) > 0 {
		sort.Strings(rep.Anomalies)
		list := strings.Join(rep.Anomalies, "\n") + "\n"
		err := errors.Join(history.Save(ops, filepath.Join(cfg.Dir, "history.txt")),
			os.WriteFile(filepath.Join(cfg.Dir, "anomalies.txt"), []byte(list), 0o644))
		if queues != nil {
			err = errors.Join(err, queues.rec.save(filepath.Join(cfg.Dir, "queues.txt")))
		}
		if err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// heal ends every fault: the network is whole and every node runs.
func heal(ctx context.Context, c *procs.Cluster) error {
	c.Net().Heal()
	var errs []error
	for _, n := range c.Nodes() {
		switch n.State() {
		case procs.Paused:
			errs = append(errs, c.Resume(n.ID))
		case procs.Running:
		default:
			errs = append(errs, c.Restart(ctx, n.ID))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	_, err := c.Leader(lctx)
	return err
}

func (r *report) print(w io.Writer, cfg config) {
	fmt.Fprintf(w, "seed %d, %d nodes, %s, %d clients\n", cfg.Seed, cfg.Nodes, cfg.Duration, cfg.Clients)
	fmt.Fprintf(w, "operations: %d recorded (%d unknown outcomes resolved by retrying their idempotency key, %d left unknown)\n", r.Ops, r.Resolved, r.Unresolved)
	kinds := append([]string(nil), faultKinds...)
	kinds = append(kinds, "skewed-leader")
	total := 0
	for _, k := range faultKinds {
		total += r.Faults[k]
	}
	fmt.Fprintf(w, "faults: %d\n", total)
	for _, k := range kinds {
		fmt.Fprintf(w, "  %-14s %5d  (%d attempts failed)\n", k, r.Faults[k], r.Failed[k])
	}
	r.Paths.print(w)
	fmt.Fprintf(w, "change feed: %d changes checked on every node\n", r.Changes)
	for _, q := range r.Queues {
		q.print(w)
	}
	fmt.Fprintf(w, "linearizability: %s (%d operations on %d counters, checked in %s)\n", r.Verdict.Result, r.Verdict.Operations, r.Verdict.Counters, r.Verdict.Elapsed.Round(time.Millisecond))
	fmt.Fprintf(w, "anomalies: %d\n", len(r.Anomalies))
	for i, a := range r.Anomalies {
		if i == 20 {
			fmt.Fprintf(w, "  ... %d more\n", len(r.Anomalies)-20)
			break
		}
		fmt.Fprintln(w, "  "+strings.TrimSpace(a))
	}
}
