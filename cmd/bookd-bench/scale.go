package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"connectrpc.com/connect"
	"github.com/bookd/bookd/cmd/bookd-chaos/procs"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/proto/bookd/v1/bookdv1connect"
	"github.com/bookd/bookd/rpc"
)

// scaleCmd measures how bookd's cost grows with the bookings it stores: it
// fills a cluster to each size in turn, and at each size measures the ga
// workload and the cold start of a follower (after SIGTERM and after
// SIGKILL): the time from starting `bookd server` to its first answer to a
// read that sees everything stored. Every stop comes right after a load (the
// ga run, or a burst of -burst bookings), so that the start finds what the
// load left unflushed; -coldstarts stops of each kind give min/median/max.
// Fills and bursts book through the Go client, or with -fill-batch in
// BatchWrite calls straight to the nodes, as a bulk loader would.
// It also counts leader elections during each load, from the Raft term
// before and after it.
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
	coldStarts := fs.Int("coldstarts", 1, "stops of each kind (SIGTERM, SIGKILL) at each size")
	burst := fs.Int64("burst", 100_000, "bookings stored right before each stop after the first two (a fill, as the first two follow the ga run)")
	fillBatch := fs.Int("fill-batch", 0, "fill and burst with BatchWrite calls of this many bookings (up to 1,000), from -fill-callers callers calling the nodes' API directly; 0: through the Go client, from -clients customers")
	fillCallers := fs.Int("fill-callers", 4, "concurrent BatchWrite callers of a -fill-batch fill")
	queues := fs.Int("queues", 0, "work queues, each taking every booking_confirmed, created first: every booking stored is also a message left in each")
	wf.duration = 10 * time.Second // each size's ga run
	fs.Lookup("duration").DefValue = wf.duration.String()
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := wf.check(); err != nil {
		return err
	}
	if *coldStarts < 1 || *burst < 0 {
		return fmt.Errorf("-coldstarts must be at least 1 and -burst not negative")
	}
	if *fillBatch < 0 || *fillBatch > rpc.MaxBatchWrites || *fillCallers < 1 {
		return fmt.Errorf("-fill-batch must be 0 to %d and -fill-callers at least 1", rpc.MaxBatchWrites)
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
	if err := createQueues(ctx, srv, *queues); err != nil {
		return err
	}
	stock, err := t.Prepare(ctx, Inventory{Name: "bench-stock", Capacity: maxCapacity})
	if err != nil {
		return err
	}

	fillTo := func(n int64, progress io.Writer) error { return fill(ctx, t, stock, n, *clients, progress) }
	if *fillBatch > 0 {
		direct, err := newConnectTarget(srv.(*bookdServers).endpoints(), bookdClientOptions{})
		if err != nil {
			return err
		}
		defer direct.Close()
		fillTo = func(n int64, progress io.Writer) error {
			return batchFill(ctx, direct, stock, n, *fillBatch, *fillCallers, progress)
		}
	}

	var rows []scaleRow
	var filled, stored int64
	for _, size := range targets {
		row := scaleRow{Stored: stored}
		if size > stored {
			elections, err := countElections(ctx, cluster, func() error {
				return fillTo(size-stored, os.Stderr)
			})
			if err != nil {
				return err
			}
			row.FillElections = elections
			filled += size - stored
			stored = size
		}
		row.Stored = stored
		cfg := runConfig{Workload: workloadGA, Clients: *clients, Duration: wf.duration, Timeout: wf.timeout,
			Seed: wf.seed, Progress: os.Stderr}
		var r result
		elections, err := countElections(ctx, cluster, func() error {
			var err error
			r, err = runOne(ctx, "bookd", srv, cfg, newGAVenue(maxCapacity))
			return err
		})
		if err != nil {
			return err
		}
		row.Run, row.RunElections = r, elections
		printResult(os.Stderr, r)
		stored += r.Bookings
		// Each stop comes right after a load, so that every start finds
		// the memtables a load left behind: the first two after the ga
		// run, each later one after a burst of -burst bookings. SIGTERM
		// and SIGKILL take turns, and neither kind always finds the same
		// follower: the one restarted last (cold caches, its key filter
		// still being built) falls behind in applying during the next
		// burst, so each kind must stop it as well as the other. Over
		// pairs p of stops, SIGTERM stops follower p%2 and SIGKILL
		// follower (p/2)%2: SIGKILL finds the one restarted last in
		// pairs 0, 3, 4, 7, 8, ..., SIGTERM in pairs 2, 3, 6, 7, ....
		restarted := ""
		for i := range *coldStarts * 2 {
			p := i / 2
			kill, follower := i%2 == 1, p%2
			if kill {
				follower = (p / 2) % 2
			}
			if i >= 2 && *burst > 0 {
				elections, err := countElections(ctx, cluster, func() error {
					return fillTo(*burst, io.Discard)
				})
				if err != nil {
					return err
				}
				row.BurstElections += elections
				filled += *burst
				stored += *burst
			}
			d, node, err := coldStart(ctx, cluster, stock, filled, follower, kill)
			if err != nil {
				return err
			}
			kind := "SIGTERM"
			if kill {
				kind = "SIGKILL"
				row.ColdStartsKillS = append(row.ColdStartsKillS, d.Seconds())
			} else {
				row.ColdStartsTermS = append(row.ColdStartsTermS, d.Seconds())
			}
			again := ""
			if node == restarted {
				again = " (the node restarted last)"
			}
			restarted = node
			fmt.Fprintf(os.Stderr, "cold start %d after %s of %s%s: %.3fs\n", i/2+1, kind, node, again, d.Seconds())
		}
		row.ColdStartS, row.ColdStartKillS = median(row.ColdStartsTermS), median(row.ColdStartsKillS)
		fmt.Fprintf(os.Stderr, "stored %d: %.0f bookings/s, p99 %.1f ms, cold start %s (SIGTERM) %s (SIGKILL), elections: %d fill, %d ga, %d bursts\n",
			row.Stored, r.BookingsPerS, r.P99Ms, spread(row.ColdStartsTermS), spread(row.ColdStartsKillS),
			row.FillElections, row.RunElections, row.BurstElections)
		rows = append(rows, row)
	}
	fmt.Printf("\n%-12s %12s %10s %22s %22s %10s\n", "stored", "bookings/s", "p99 ms", "cold start TERM s", "cold start KILL s", "elections")
	fmt.Printf("%-12s %12s %10s %22s %22s %10s\n", "", "", "", "min/median/max", "min/median/max", "fill/ga/burst")
	for _, r := range rows {
		fmt.Printf("%-12d %12.0f %10.1f %22s %22s %10s\n", r.Stored, r.Run.BookingsPerS, r.Run.P99Ms,
			spread(r.ColdStartsTermS), spread(r.ColdStartsKillS), fmt.Sprintf("%d/%d/%d", r.FillElections, r.RunElections, r.BurstElections))
	}
	if *jsonPath != "" {
		return writeJSON(*jsonPath, rows)
	}
	return nil
}

// countElections runs load and returns how many times the cluster's Raft
// term moved meanwhile: each move is an election (a leader lost, or
// thought lost, by some node).
func countElections(ctx context.Context, c *procs.Cluster, load func() error) (int, error) {
	before, err := clusterTerm(ctx, c)
	if err != nil {
		return 0, err
	}
	if err := load(); err != nil {
		return 0, err
	}
	after, err := clusterTerm(ctx, c)
	if err != nil {
		return 0, err
	}
	if after > before {
		fmt.Fprintf(os.Stderr, "elections: the term moved from %d to %d during the load\n", before, after)
	}
	return int(after - before), nil
}

// clusterTerm is the highest Raft term a running node reports.
func clusterTerm(ctx context.Context, c *procs.Cluster) (uint64, error) {
	var term uint64
	for _, n := range c.Running() {
		st, err := c.Status(ctx, n.ID)
		if err != nil {
			return 0, fmt.Errorf("term of %s: %w", n.ID, err)
		}
		term = max(term, st.GetTerm())
	}
	return term, nil
}

// median is the middle of xs (the mean of the middle two for an even count).
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// spread formats xs as min/median/max seconds.
func spread(xs []float64) string {
	if len(xs) == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f/%.2f/%.2f", slices.Min(xs), median(xs), slices.Max(xs))
}

// maxCapacity is the largest GA event bookd accepts (fsm.MaxCapacity).
const maxCapacity = 10_000_000

type scaleRow struct {
	Stored int64  `json:"stored_bookings"`
	Run    result `json:"ga"`
	// Medians of ColdStartsTermS and ColdStartsKillS.
	ColdStartS      float64   `json:"cold_start_sigterm_s"`
	ColdStartKillS  float64   `json:"cold_start_sigkill_s"`
	ColdStartsTermS []float64 `json:"cold_starts_sigterm_s"`
	ColdStartsKillS []float64 `json:"cold_starts_sigkill_s"`
	// Leader elections (Raft term moves) during the fill to this size,
	// the ga run, and the bursts before the later stops.
	FillElections  int `json:"fill_elections"`
	RunElections   int `json:"ga_elections"`
	BurstElections int `json:"burst_elections"`
}

// coldStart stops a follower, the one at position follower among them
// (SIGTERM, or SIGKILL when kill), starts it again and returns the time from
// starting it to its first stale read that sees all of event's booked
// tickets, and the node's id.
func coldStart(ctx context.Context, c *procs.Cluster, event string, booked int64, follower int, kill bool) (time.Duration, string, error) {
	leader, err := c.Leader(ctx)
	if err != nil {
		return 0, "", err
	}
	var followers []*procs.Node
	for _, n := range c.Nodes() {
		if n.ID != leader {
			followers = append(followers, n)
		}
	}
	if len(followers) == 0 {
		return 0, "", errors.New("cold start: the cluster has no follower")
	}
	node := followers[follower%len(followers)]
	if kill {
		err = c.Kill(node.ID)
	} else {
		err = c.Terminate(node.ID, 30*time.Second)
	}
	if err != nil {
		return 0, "", err
	}
	// A client of its own: a connection kept alive to the stopped process
	// must not answer for the new one.
	hc := &http.Client{Transport: &http.Transport{}}
	defer hc.CloseIdleConnections()
	rpc := bookdv1connect.NewBookingServiceClient(hc, "http://"+node.RPCAddr)
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
			return elapsed, node.ID, <-restarted
		}
		if ctx.Err() != nil {
			return 0, "", ctx.Err()
		}
		// Refused or cut connections (Unavailable, Unknown, Canceled) and
		// reads that outlast their second while the node starts are not
		// answers yet.
		if code := connect.CodeOf(err); err != nil && code != connect.CodeUnavailable && code != connect.CodeUnknown &&
			code != connect.CodeDeadlineExceeded && code != connect.CodeCanceled {
			return 0, "", fmt.Errorf("cold start: read from %s: %w", node.ID, err)
		}
		time.Sleep(2 * time.Millisecond)
	}
	return 0, "", fmt.Errorf("cold start: %s did not serve the stored bookings within 2 minutes", node.ID)
}
