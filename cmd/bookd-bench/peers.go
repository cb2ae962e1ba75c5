package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/bookd/bookd/cmd/bookd-chaos/procs"
)

// column is one system as the side-by-side table shows it: servers of one
// kind, started fresh for it, and how the load generator calls them.
type column struct {
	system string // the servers to start: bookd, etcd or postgres
	name   string // short, for progress lines and JSON: "bookd/connect"
	mode   string // bookd's client mode
	pgPool int    // PostgreSQL's pool size
}

// peersCmd runs every workload at every client count against PostgreSQL,
// bookd in each client mode and etcd, one column at a time on fresh
// servers on the same machine, audits every run, and prints one table per
// client count with bookd's ratios to PostgreSQL.
func peersCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("peers", flag.ContinueOnError)
	var wf workloadFlags
	var sf serverFlags
	wf.register(fs)
	sf.register(fs)
	systems := fs.String("systems", "postgres,bookd,etcd", "systems to run, comma-separated")
	modes := fs.String("modes", strings.Join(bookdModes, ","), "bookd client modes, each a column: connect (connect-go, one Book per call, round-robin), client (client.New), batch (client.WithBatching(-batch)), edge (bookd edge as shipped)")
	pools := fs.String("pg-pools", "", "PostgreSQL pgx pool sizes, comma-separated, each a column (0: one connection per client; default: -pg-pool)")
	loads := fs.String("workloads", strings.Join(workloads, ","), "workloads to run, comma-separated; also order (bookd's columns only)")
	clientList := fs.String("clients", "64,512", "client counts, comma-separated")
	jsonPath := fs.String("json", "", "also write every result as JSON to this file")
	verbose := fs.Bool("v", false, "log what the servers do")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := wf.check(); err != nil {
		return err
	}
	counts, err := positiveList("-clients", *clientList, 1)
	if err != nil {
		return err
	}
	if *pools == "" {
		*pools = strconv.Itoa(sf.pgPool)
	}
	poolSizes, err := positiveList("-pg-pools", *pools, 0)
	if err != nil {
		return err
	}
	cols, err := peerColumns(splitList(*systems), splitList(*modes), poolSizes)
	if err != nil {
		return err
	}
	dir, cleanup, err := sf.workDir()
	if err != nil {
		return err
	}
	defer cleanup()
	logger := newLogger(*verbose)
	if sf.bookdBin == "" && slices.ContainsFunc(cols, func(c column) bool { return c.system == "bookd" }) {
		// One build for every bookd column: each starts a fresh cluster.
		if sf.bookdBin, err = procs.BuildBinary(dir); err != nil {
			return err
		}
	}

	var results []result
	for i, col := range cols {
		fmt.Fprintf(os.Stderr, "starting %s\n", col.name)
		sf.pgPool = col.pgPool
		srv, err := sf.start(ctx, col.system, fmt.Sprintf("%s/%d", dir, i), logger)
		if err != nil {
			return fmt.Errorf("start %s: %w", col.name, err)
		}
		rs, err := runColumn(ctx, col, srv, splitList(*loads), counts, wf, sf.client.Batch)
		results = append(results, rs...)
		if stopErr := srv.Stop(); err == nil && stopErr != nil {
			err = fmt.Errorf("stop %s: %w", col.name, stopErr)
		}
		if err != nil {
			return err
		}
	}
	fmt.Println()
	printTables(os.Stdout, results)
	if *jsonPath != "" {
		if err := writeJSON(*jsonPath, results); err != nil {
			return err
		}
	}
	var failed []string
	for _, r := range results {
		if r.auditFailed() {
			failed = append(failed, fmt.Sprintf("%s %s, %d clients: %s", r.Target, r.Workload, r.Clients, r.auditText()))
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("AUDIT FAILED:\n  %s", strings.Join(failed, "\n  "))
	}
	return nil
}

// peerColumns lists the table's columns: PostgreSQL at each pool size, bookd
// in each mode, etcd, in the order systems names them.
func peerColumns(systems, modes []string, pools []int) ([]column, error) {
	var cols []column
	for _, s := range systems {
		switch s {
		case "postgres":
			for _, p := range pools {
				cols = append(cols, column{system: s, name: fmt.Sprintf("postgres/pool=%d", p), pgPool: p})
			}
		case "bookd":
			for _, m := range modes {
				cols = append(cols, column{system: s, name: "bookd/" + m, mode: m})
			}
		case "etcd":
			cols = append(cols, column{system: s, name: s})
		default:
			return nil, fmt.Errorf("-systems: unknown system %q, want some of postgres,bookd,etcd", s)
		}
	}
	return cols, nil
}

// runColumn runs every workload at every client count against the servers
// of col, started already.
func runColumn(ctx context.Context, col column, srv Servers, loads []string, counts []int, wf workloadFlags, batch int) ([]result, error) {
	title := columnTitle(col)
	if col.system == "bookd" {
		var err error
		if srv, title, err = bookdMode(srv.(*bookdServers), col.mode, batch); err != nil {
			return nil, err
		}
	}
	var results []result
	for _, w := range loads {
		if modeSkips(col.mode, w) || (col.system != "bookd" && bookdOnly(w)) {
			continue
		}
		for _, c := range counts {
			cfg := runConfig{Workload: w, Clients: c, Duration: wf.duration, Timeout: wf.timeout, Seed: wf.seed, Progress: os.Stderr}
			if err := checkRun(cfg); err != nil {
				return results, err
			}
			r, err := runCounted(ctx, col, srv, cfg, wf.venue(w))
			if err != nil {
				return results, err
			}
			r.Config = title
			printResult(os.Stderr, r)
			results = append(results, r)
		}
	}
	return results, nil
}

// runCounted runs one workload; on bookd it also counts the elections the
// run caused, from the Raft term before and after.
func runCounted(ctx context.Context, col column, srv Servers, cfg runConfig, v *venue) (result, error) {
	c := clusterOf(srv)
	if c == nil {
		return runOne(ctx, col.name, srv, cfg, v)
	}
	var r result
	elections, err := countElections(ctx, c, func() (err error) {
		r, err = runOne(ctx, col.name, srv, cfg, v)
		return err
	})
	if err != nil {
		return r, err
	}
	r.Elections = &elections
	return r, nil
}

// clusterOf is the bookd cluster srv started, behind an edge or not; nil
// for other systems.
func clusterOf(srv Servers) *procs.Cluster {
	switch s := srv.(type) {
	case *bookdServers:
		return s.c
	case *edgeServers:
		return clusterOf(s.Servers)
	}
	return nil
}

// columnTitle names the configuration of a column other than bookd's.
func columnTitle(col column) string {
	switch {
	case col.system == "postgres" && col.pgPool == 0:
		return "PostgreSQL, one connection per client"
	case col.system == "postgres":
		return fmt.Sprintf("PostgreSQL, pgx pool of %d", col.pgPool)
	case col.system == "etcd":
		return "etcd, one compare-and-swap transaction per booking"
	}
	return col.name
}

// positiveList parses a comma-separated list of numbers of at least least.
func positiveList(flag, s string, least int) ([]int, error) {
	var out []int
	for _, part := range splitList(s) {
		n, err := strconv.Atoi(part)
		if err != nil || n < least {
			return nil, fmt.Errorf("%s: %q is not a number of at least %d", flag, part, least)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: none given", flag)
	}
	return out, nil
}

// splitList splits a comma-separated flag, dropping blanks.
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || unicode.IsSpace(r) })
}
