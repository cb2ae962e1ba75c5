// Command bookd-chaos runs a bookd cluster of real processes on loopback
// under a nemesis (crashes, pauses, partitions, lossy links, membership
// changes, clock jumps, torn writes) while clients book through it, then
// heals the cluster and checks the recorded history for linearizability
// with porcupine, and the replicas for the invariants a booking database
// promises: no seat sold twice, nothing oversold, every acknowledged booking
// on every node, identical replicas, and a change feed without gaps or
// repeats. Queue consumers work beside the clients; after the run the
// queues are drained and every committed change of their kinds must have
// been delivered, and acked exactly once or dead-lettered (queuecheck.go).
// It exits 1 when it finds an anomaly.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"
)

func main() {
	cfg := config{Out: os.Stdout}
	var keep, verbose bool
	var faults string
	flag.Uint64Var(&cfg.Seed, "seed", uint64(time.Now().UnixNano()), "random seed (printed; give it again to replay the same fault and operation schedule)")
	flag.DurationVar(&cfg.Duration, "duration", time.Minute, "how long to inject faults")
	flag.IntVar(&cfg.Nodes, "nodes", 3, "cluster size")
	flag.IntVar(&cfg.Clients, "clients", 16, "concurrent clients")
	flag.StringVar(&cfg.Binary, "binary", "", "bookd executable (default: build ./cmd/bookd)")
	flag.StringVar(&cfg.Dir, "dir", "", "directory for data, logs and, on failure, the history (default: a new temporary directory)")
	flag.DurationVar(&cfg.Election, "election-timeout", 500*time.Millisecond, "the nodes' Raft election and heartbeat timeout")
	flag.DurationVar(&cfg.MaxSkew, "max-skew", 2*time.Second, "largest clock offset a clock jump gives a node")
	flag.DurationVar(&cfg.CheckTimeout, "check-timeout", 5*time.Minute, "how long porcupine may take")
	flag.BoolVar(&keep, "keep", false, "keep the directory even when the run passes")
	flag.StringVar(&faults, "faults", strings.Join(faultKinds, ","), "fault kinds to inject, comma-separated (empty: none)")
	flag.BoolVar(&verbose, "v", false, "log every fault")
	flag.BoolVar(&cfg.Queues, "queues", true, "run queue consumers beside the clients and check the queues after the run")
	flag.Parse()
	level := slog.LevelWarn
	if verbose {
		level = slog.LevelInfo
	}
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	cfg.Faults = map[string]bool{}
	for _, f := range strings.Split(faults, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		if !slices.Contains(faultKinds, f) {
			fmt.Fprintf(os.Stderr, "bookd-chaos: -faults: unknown kind %q (kinds: %s)\n", f, strings.Join(faultKinds, ", "))
			os.Exit(2)
		}
		cfg.Faults[f] = true
	}
	os.Exit(mainErr(cfg, keep))
}

func mainErr(cfg config, keep bool) int {
	if cfg.Dir == "" {
		dir, err := os.MkdirTemp("", "bookd-chaos-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		cfg.Dir = dir
	}
	fmt.Printf("bookd-chaos: seed %d, %d nodes, %s, data in %s\n", cfg.Seed, cfg.Nodes, cfg.Duration, cfg.Dir)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := run(ctx, cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "bookd-chaos: %v (logs in %s)\n", err, cfg.Dir)
		return 2
	}
	rep.print(os.Stdout, cfg)
	if len(rep.Anomalies) > 0 {
		fmt.Printf("FAILED: history and logs in %s (rerun with -seed %d)\n", cfg.Dir, cfg.Seed)
		return 1
	}
	if !keep {
		os.RemoveAll(cfg.Dir)
	}
	fmt.Println("PASSED")
	return 0
}
