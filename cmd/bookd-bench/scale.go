package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"connectrpc.com/connect"
	"github.com/bookd/bookd/cmd/bookd-chaos/procs"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/proto/bookd/v1/bookdv1connect"
)

// scaleCmd measures how bookd's cost grows with the bookings it stores: it
// fills a cluster to each size in turn, and at each size measures the ga
// workload and the cold start of a follower (after SIGTERM and after
// SIGKILL): the time from starting `bookd server` to its first answer to a
// read that sees everything stored.
func scaleCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("scale", flag.ContinueOnError)
	var wf workloadFlags
	var sf serverFlags
	wf.register(fs)
	sf.register(fs)
	sizes := fs.String("sizes", "10000,100000,1000000", "stored bookings to measure at, ascending, comma-separated")
	clients := fs.Int("clients", 512, "concurrent customers, for filling and for the ga runs")
	jsonPath := fs.String("json", "", "also write the results as JSON to this file")
	verbose := fs.Bool("v", false, "log what the servers do")
	wf.duration = 10 * time.Second // each size's ga run
	fs.Lookup("duration").DefValue = wf.duration.String()
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := wf.check(); err != nil {
		return err
	}
	var targets []int64
	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil || n < 1 || (len(targets) > 0 && n <= targets[len(targets)-1]) {
			return fmt.Errorf("-sizes: %q is not an ascending list of positive numbers", *sizes)
		}
		targets = append(targets, n)
	}
	session, err := openBookdSession(ctx, &sf, *verbose, *clients)
	if err != nil {
		return err
	}
	defer session.Close()
	srv, cluster, t := session.srv, session.cluster, session.target
	stock, err := t.Prepare(ctx, Inventory{Name: "bench-stock", Capacity: maxCapacity})
	if err != nil {
		return err
	}

	var rows []scaleRow
	var filled, stored int64
	for _, size := range targets {
		if size > stored {
			if err := fill(ctx, t, stock, size-stored, *clients, os.Stderr); err != nil {
				return err
			}
			filled += size - stored
			stored = size
		}
		row := scaleRow{Stored: stored}
		cfg := runConfig{Workload: workloadGA, Clients: *clients, Duration: wf.duration, Timeout: wf.timeout,
			Seed: wf.seed, Progress: os.Stderr}
		r, err := runOne(ctx, "bookd", srv, cfg, newGAVenue(maxCapacity))
		if err != nil {
			return err
		}
		row.Run = r
		printResult(os.Stderr, r)
		stored += r.Bookings
		// Each follower stops once, right after the load, so that both
		// starts find the memtables the load left behind.
		for follower, kill := range []bool{false, true} {
			d, err := coldStart(ctx, cluster, stock, filled, follower, kill)
			if err != nil {
				return err
			}
			if kill {
				row.ColdStartKillS = d.Seconds()
			} else {
				row.ColdStartS = d.Seconds()
			}
		}
		fmt.Fprintf(os.Stderr, "stored %d: %.0f bookings/s, p99 %.1f ms, cold start %.2fs (SIGTERM) %.2fs (SIGKILL)\n",
			row.Stored, r.BookingsPerS, r.P99Ms, row.ColdStartS, row.ColdStartKillS)
		rows = append(rows, row)
	}
	fmt.Printf("\n%-12s %12s %10s %18s %18s\n", "stored", "bookings/s", "p99 ms", "cold start TERM s", "cold start KILL s")
	for _, r := range rows {
		fmt.Printf("%-12d %12.0f %10.1f %18.2f %18.2f\n", r.Stored, r.Run.BookingsPerS, r.Run.P99Ms, r.ColdStartS, r.ColdStartKillS)
	}
	if *jsonPath != "" {
		return writeJSON(*jsonPath, rows)
	}
	return nil
}

// maxCapacity is the largest GA event bookd accepts (fsm.MaxCapacity).
const maxCapacity = 10_000_000

type scaleRow struct {
	Stored         int64   `json:"stored_bookings"`
	Run            result  `json:"ga"`
	ColdStartS     float64 `json:"cold_start_sigterm_s"`
	ColdStartKillS float64 `json:"cold_start_sigkill_s"`
}

// coldStart stops a follower, the one at position follower among them
// (SIGTERM, or SIGKILL when kill), starts it again and returns the time from
// starting it to its first stale read that sees all of event's booked
// tickets.
func coldStart(ctx context.Context, c *procs.Cluster, event string, booked int64, follower int, kill bool) (time.Duration, error) {
	leader, err := c.Leader(ctx)
	if err != nil {
		return 0, err
	}
	var followers []*procs.Node
	for _, n := range c.Nodes() {
		if n.ID != leader {
			followers = append(followers, n)
		}
	}
	if len(followers) == 0 {
		return 0, errors.New("cold start: the cluster has no follower")
	}
	node := followers[follower%len(followers)]
	if kill {
		err = c.Kill(node.ID)
	} else {
		err = c.Terminate(node.ID, 30*time.Second)
	}
	if err != nil {
		return 0, err
	}
	rpc := bookdv1connect.NewBookingServiceClient(http.DefaultClient, "http://"+node.RPCAddr)
	req := &bookdv1.GetAvailabilityRequest{EventId: event, Read: &bookdv1.ReadOptions{Consistency: bookdv1.Consistency_CONSISTENCY_STALE}}
	start := time.Now()
	restarted := make(chan error, 1)
	go func() { restarted <- c.Restart(ctx, node.ID) }()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		rctx, cancel := context.WithTimeout(ctx, time.Second)
		av, err := rpc.GetAvailability(rctx, req)
		cancel()
		if err == nil && av.GetBookedQuantity() >= booked {
			elapsed := time.Since(start)
			return elapsed, <-restarted
		}
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		if err != nil && connect.CodeOf(err) != connect.CodeUnavailable && connect.CodeOf(err) != connect.CodeUnknown {
			return 0, fmt.Errorf("cold start: read from %s: %w", node.ID, err)
		}
		time.Sleep(2 * time.Millisecond)
	}
	return 0, fmt.Errorf("cold start: %s did not serve the stored bookings within 2 minutes", node.ID)
}
