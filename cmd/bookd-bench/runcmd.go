package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bookd/bookd/rpc/edge"
)

// workloadFlags shape the inventory and the customers of a run.
type workloadFlags struct {
	capacity int64
	rows     int
	perRow   int
	zipf     float64
	duration time.Duration
	timeout  time.Duration
	seed     uint64
	stopAt   float64
	tours    int
}

func (w *workloadFlags) register(fs *flag.FlagSet) {
	fs.Int64Var(&w.capacity, "capacity", 100_000, "tickets of the GA event (ga, hold-confirm, browse), or of each event of a tour (order)")
	fs.IntVar(&w.tours, "tours", 4, "tours of the order workload, each of two events an order buys tickets of both")
	fs.IntVar(&w.rows, "rows", 200, "rows of the seated event")
	fs.IntVar(&w.perRow, "seats-per-row", 250, "seats per row of the seated event")
	fs.Float64Var(&w.zipf, "zipf", 1.1, "skew of customers toward the front rows (> 1)")
	fs.DurationVar(&w.duration, "duration", 30*time.Second, "longest a run lasts; it ends sooner at its -sell-through")
	fs.Float64Var(&w.stopAt, "sell-through", 1, "share of the inventory whose sale ends a run (1: sell out, the tail included)")
	fs.DurationVar(&w.timeout, "timeout", 10*time.Second, "per attempt")
	fs.Uint64Var(&w.seed, "seed", 0, "random seed of the customers (0: random)")
}

func (w *workloadFlags) venue(workload string) *venue {
	v := newGAVenue(w.capacity)
	switch workload {
	case workloadSeats:
		v = newSeatedVenue(w.rows, w.perRow, w.zipf)
	case workloadOrder:
		v = newOrderVenue(w.tours, w.capacity)
	}
	v.stopAt = w.stopAt
	return v
}

func (w *workloadFlags) check() error {
	switch {
	case w.capacity < 1:
		return fmt.Errorf("-capacity must be at least 1")
	case w.rows < 1 || w.perRow < 1:
		return fmt.Errorf("-rows and -seats-per-row must be at least 1")
	case w.zipf <= 1:
		return fmt.Errorf("-zipf must be above 1")
	case w.duration <= 0 || w.timeout <= 0:
		return fmt.Errorf("-duration and -timeout must be positive")
	case w.stopAt <= 0 || w.stopAt > 1:
		return fmt.Errorf("-sell-through must be above 0 and at most 1")
	case w.tours < 1 || w.tours > maxTours:
		return fmt.Errorf("-tours must be between 1 and %d", maxTours)
	}
	if w.seed == 0 {
		w.seed = rand.Uint64()
	}
	return nil
}

// serverFlags say which servers to run against, or to start.
type serverFlags struct {
	dir       string
	nodes     int
	bookdBin  string
	bookdArgs string
	client    bookdClientOptions
	pgPool    int
}

func (s *serverFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&s.dir, "dir", "", "directory for the servers' data and logs (default: a new temporary one, removed after)")
	fs.IntVar(&s.nodes, "nodes", 3, "replicas of bookd and etcd")
	fs.StringVar(&s.bookdBin, "bookd", "", "bookd binary to start (default: build ./cmd/bookd)")
	fs.StringVar(&s.bookdArgs, "bookd-args", "", "more `bookd server` flags, space-separated")
	fs.IntVar(&s.pgPool, "pg-pool", pgBestPool, "PostgreSQL connections (pgx pool) shared by the clients; 0: one per client")
	fs.BoolVar(&s.client.HTTP1, "http1", false, "bookd clients use HTTP/1.1 connections instead of HTTP/2")
	fs.IntVar(&s.client.Edges, "edges", 1, "bookd clients (edge servers) the customers are spread over")
	fs.BoolVar(&s.client.Connect, "connect", false, "bookd: plain connect-go clients, one call per write, round-robin over the nodes (as peers' connect mode); -batch is then ignored")
	fs.IntVar(&s.client.Batch, "batch", 256, "bookd clients batch up to this many concurrent writes per call (client.WithBatching); 0: one call per write")
	fs.DurationVar(&s.client.BrowseStale, "browse-stale", edge.DefaultNodeStaleness, "staleness bookd's browse reads may have, served by any node, as the edge's (0: no bound); browse-lin reads linearizably")
}

// workDir returns the directory to use and a function that cleans it up.
func (s *serverFlags) workDir() (string, func(), error) {
	if s.dir != "" {
		return s.dir, func() {}, os.MkdirAll(s.dir, 0o755)
	}
	d, err := os.MkdirTemp("", "bookd-bench-")
	return d, func() { os.RemoveAll(d) }, err
}

// start starts the servers of target under dir.
func (s *serverFlags) start(ctx context.Context, target, dir string, logger *slog.Logger) (Servers, error) {
	sub := dir + "/" + target
	switch target {
	case "bookd":
		return startBookd(ctx, sub, bookdOptions{
			Binary: s.bookdBin, Nodes: s.nodes, ExtraArgs: strings.Fields(s.bookdArgs), Client: s.client,
		}, logger)
	case "etcd":
		return startEtcd(ctx, sub, s.nodes, logf(logger))
	case "postgres":
		srv, err := startPostgres(ctx, sub, logf(logger))
		if err == nil {
			srv.(*pgServers).pool = s.pgPool
		}
		return srv, err
	}
	return nil, fmt.Errorf("unknown target %q: want bookd, etcd or postgres", target)
}

func logf(l *slog.Logger) func(string, ...any) {
	return func(format string, args ...any) { l.Info(fmt.Sprintf(format, args...)) }
}

func runCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	var wf workloadFlags
	var sf serverFlags
	wf.register(fs)
	sf.register(fs)
	target := fs.String("target", "bookd", "system to load: bookd, etcd or postgres")
	endpoints := fs.String("endpoints", "", "RPC endpoints of a running bookd cluster, comma-separated (default: start one)")
	workload := fs.String("workload", workloadGA, "ga, seats, hold-confirm, browse, browse-lin, or order (bookd only)")
	clients := fs.Int("clients", 64, "concurrent customers (closed loop), or most in flight (open loop)")
	profile := fs.String("profile", "", "open loop: arrival rates, e.g. 50:10s,500:10s,5000:10s")
	jsonPath := fs.String("json", "", "also write the result as JSON to this file")
	pids := fs.String("server-pids", "", "with -endpoints: server process ids to measure CPU of, comma-separated")
	verbose := fs.Bool("v", false, "log what the servers do")
	cpuProfile := fs.String("cpuprofile", "", "write the load generator's own CPU profile to this file")
	queues := fs.Int("queues", 0, "bookd: work queues, each taking every booking_confirmed, created before the load (what queues cost the booking path)")
	eo := edgeOptions{Report: os.Stdout}
	fs.BoolVar(&eo.Enabled, "edge", false, "customers go through an edge (bookd edge, in this process) as the web page does: hold, then confirm")
	fs.Float64Var(&eo.EventRate, "edge-event-rate", 0, "with -edge: holds a second the edge forwards for the event (0: no limit)")
	fs.IntVar(&eo.MaxHolds, "edge-max-holds", 256, "with -edge: holds the edge forwards at once; past it it refuses them (0: no bound)")
	fs.DurationVar(&eo.Staleness, "edge-staleness", 0, "with -edge: the edge's availability cache (0: its default)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := wf.check(); err != nil {
		return err
	}
	if *cpuProfile != "" {
		stop, err := startCPUProfile(*cpuProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	cfg := runConfig{Workload: *workload, Clients: *clients, Duration: wf.duration, Timeout: wf.timeout,
		Seed: wf.seed, Progress: os.Stderr}
	if err := checkRun(cfg); err != nil {
		return err
	}
	if bookdOnly(cfg.Workload) && *target != "bookd" {
		return fmt.Errorf("-workload %s runs against bookd only", cfg.Workload)
	}
	if *profile != "" {
		p, err := parseProfile(*profile)
		if err != nil {
			return err
		}
		cfg.Profile = p
		cfg.Duration = 0
		for _, s := range p {
			cfg.Duration += s.Len
		}
	}
	logger := newLogger(*verbose)
	var srv Servers
	if *endpoints != "" {
		if *target != "bookd" {
			return fmt.Errorf("-endpoints works with -target bookd only")
		}
		ext, err := newExternalBookd(strings.Split(*endpoints, ","), *pids, sf.client)
		if err != nil {
			return err
		}
		srv = ext
	} else {
		dir, cleanup, err := sf.workDir()
		if err != nil {
			return err
		}
		defer cleanup()
		if srv, err = sf.start(ctx, *target, dir, logger); err != nil {
			return err
		}
		defer srv.Stop()
	}
	if *queues > 0 {
		if err := createQueues(ctx, srv, *queues); err != nil {
			return err
		}
	}
	name := *target
	if eo.Enabled {
		eo.Batch = sf.client.Batch
		wrapped, err := withEdge(srv, eo)
		if err != nil {
			return err
		}
		srv = wrapped
		name += "+edge"
	}
	r, err := runOne(ctx, name, srv, cfg, wf.venue(cfg.Workload))
	if err != nil {
		return err
	}
	printResult(os.Stdout, r)
	if *jsonPath != "" {
		if err := writeJSON(*jsonPath, r); err != nil {
			return err
		}
	}
	if r.auditFailed() {
		return fmt.Errorf("AUDIT FAILED: %s", r.auditText())
	}
	return nil
}

func checkRun(cfg runConfig) error {
	all := append(slices.Clone(workloads), bookdWorkloads...)
	if !slices.Contains(all, cfg.Workload) {
		return fmt.Errorf("-workload %q: want one of %s", cfg.Workload, strings.Join(all, ", "))
	}
	if cfg.Clients < 1 {
		return fmt.Errorf("-clients must be at least 1")
	}
	return nil
}

// runOne connects, prepares a fresh event, warms the connections up, runs
// the load while measuring the servers' CPU, and audits what got stored.
func runOne(ctx context.Context, name string, srv Servers, cfg runConfig, v *venue) (result, error) {
	cfg.Label = fmt.Sprintf("%s %s c=%d", name, cfg.Workload, cfg.Clients)
	t, err := srv.Connect(ctx, cfg.Clients)
	if err != nil {
		return result{}, fmt.Errorf("%s: connect: %w", name, err)
	}
	defer t.Close()
	var event string
	if v.tours != nil {
		event, err = v.tours.prepare(ctx, t)
	} else {
		event, err = t.Prepare(ctx, v.inv)
	}
	if err != nil {
		return result{}, fmt.Errorf("%s: prepare: %w", name, err)
	}
	warm := cfg.Clients
	if v.seated() {
		warm = 4 // a seated event's browse is its whole seat map: a few open the connections
	}
	warmUp(ctx, t, event, warm)
	cpu0 := cpuTime(srv.PIDs())
	st := load(ctx, t, event, v, cfg)
	cpu := cpuTime(srv.PIDs()) - cpu0
	if err := ctx.Err(); err != nil {
		return result{}, err
	}
	r := newResult(name, cfg, st, v, cpu)
	if !isRead(cfg.Workload) {
		actx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		var a Audit
		if v.tours != nil {
			a, r.Orders, err = v.tours.audit(actx, t)
		} else {
			a, err = t.Audit(actx, event, v.inv)
		}
		cancel()
		if err != nil {
			r.AuditErr = err.Error()
		} else {
			r.Audit = &a
			rec := st.ledger.reconcile(a.Keys)
			r.Reconcile = &rec
		}
	}
	return r, nil
}

// warmUp makes every customer's connection exist before the clock starts.
func warmUp(ctx context.Context, t Target, event string, clients int) {
	var wg sync.WaitGroup
	for range min(clients, 512) {
		wg.Go(func() {
			wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			t.Browse(wctx, event, false)
		})
	}
	wg.Wait()
}

func parseProfile(s string) ([]step, error) {
	var p []step
	for _, part := range strings.Split(s, ",") {
		rate, length, ok := strings.Cut(strings.TrimSpace(part), ":")
		r, err1 := strconv.ParseFloat(rate, 64)
		d, err2 := time.ParseDuration(length)
		if !ok || err1 != nil || err2 != nil || r <= 0 || d <= 0 {
			return nil, fmt.Errorf("-profile: %q is not RATE:DURATION (e.g. 500:10s)", part)
		}
		p = append(p, step{Rate: r, Len: d})
	}
	return p, nil
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

func newLogger(verbose bool) *slog.Logger {
	if !verbose {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, nil))
}

func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
