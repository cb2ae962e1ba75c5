package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// peersCmd runs every workload at every client count against bookd, etcd
// and PostgreSQL, one system at a time on the same machine, and prints one
// side-by-side table with bookd's ratio to each peer.
func peersCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("peers", flag.ContinueOnError)
	var wf workloadFlags
	var sf serverFlags
	wf.register(fs)
	sf.register(fs)
	systems := fs.String("systems", "bookd,etcd,postgres", "systems to run, comma-separated")
	loads := fs.String("workloads", strings.Join(workloads, ","), "workloads to run, comma-separated")
	clientList := fs.String("clients", "64,512", "client counts, comma-separated")
	jsonPath := fs.String("json", "", "also write every result as JSON to this file")
	verbose := fs.Bool("v", false, "log what the servers do")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := wf.check(); err != nil {
		return err
	}
	var counts []int
	for _, c := range strings.Split(*clientList, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(c))
		if err != nil || n < 1 {
			return fmt.Errorf("-clients: %q is not a positive number", c)
		}
		counts = append(counts, n)
	}
	dir, cleanup, err := sf.workDir()
	if err != nil {
		return err
	}
	defer cleanup()
	logger := newLogger(*verbose)

	var results []result
	for _, name := range strings.Split(*systems, ",") {
		name = strings.TrimSpace(name)
		fmt.Fprintf(os.Stderr, "starting %s\n", name)
		srv, err := sf.start(ctx, name, dir, logger)
		if err != nil {
			return fmt.Errorf("start %s: %w", name, err)
		}
		for _, w := range strings.Split(*loads, ",") {
			for _, c := range counts {
				cfg := runConfig{Workload: strings.TrimSpace(w), Clients: c, Duration: wf.duration,
					Timeout: wf.timeout, Seed: wf.seed, Progress: os.Stderr}
				if err = checkRun(cfg); err != nil {
					break
				}
				var r result
				if r, err = runOne(ctx, name, srv, cfg, wf.venue(cfg.Workload)); err != nil {
					break
				}
				printResult(os.Stderr, r)
				results = append(results, r)
			}
			if err != nil {
				break
			}
		}
		if stopErr := srv.Stop(); err == nil && stopErr != nil {
			err = fmt.Errorf("stop %s: %w", name, stopErr)
		}
		if err != nil {
			return err
		}
	}
	fmt.Println()
	printSideBySide(os.Stdout, results)
	if *jsonPath != "" {
		if err := writeJSON(*jsonPath, results); err != nil {
			return err
		}
	}
	for _, r := range results {
		if r.auditFailed() {
			return fmt.Errorf("AUDIT FAILED: %s %s, %d clients: %s", r.Target, r.Workload, r.Clients, r.auditText())
		}
	}
	return nil
}

// printSideBySide prints one line per workload and client count with each
// system's rate, p99 and CPU per 1,000, and bookd's ratio to the others.
func printSideBySide(w io.Writer, results []result) {
	type key struct {
		workload string
		clients  int
	}
	var order []key
	by := map[key]map[string]result{}
	var systems []string
	seen := map[string]bool{}
	for _, r := range results {
		k := key{r.Workload, r.Clients}
		if by[k] == nil {
			by[k] = map[string]result{}
			order = append(order, k)
		}
		by[k][r.Target] = r
		if !seen[r.Target] {
			seen[r.Target] = true
			systems = append(systems, r.Target)
		}
	}
	fmt.Fprintf(w, "%-13s %7s", "workload", "clients")
	for _, s := range systems {
		fmt.Fprintf(w, " | %-30s", s+" ok/s  p99ms  cpu-s/1k")
	}
	for _, s := range systems {
		if s != "bookd" && seen["bookd"] {
			fmt.Fprintf(w, " | %-10s", "×"+s)
		}
	}
	fmt.Fprintln(w)
	for _, k := range order {
		fmt.Fprintf(w, "%-13s %7d", k.workload, k.clients)
		for _, s := range systems {
			r, ok := by[k][s]
			if !ok {
				fmt.Fprintf(w, " | %-30s", "-")
				continue
			}
			cell := fmt.Sprintf("%8.0f %7.1f %8.3f", r.rate(), r.P99Ms, r.CPUPer1000)
			if r.auditFailed() {
				cell += " !AUDIT"
			}
			fmt.Fprintf(w, " | %-30s", cell)
		}
		b, hasBookd := by[k]["bookd"]
		for _, s := range systems {
			if s == "bookd" || !seen["bookd"] {
				continue
			}
			r, ok := by[k][s]
			if !ok || !hasBookd || r.rate() == 0 {
				fmt.Fprintf(w, " | %-10s", "-")
				continue
			}
			fmt.Fprintf(w, " | %-10s", fmt.Sprintf("%.1f×", b.rate()/r.rate()))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "\nok/s: bookings/s (reads/s for browse); cpu-s/1k: server CPU seconds per 1,000; measured %s\n",
		time.Now().UTC().Format(time.DateOnly))
}
