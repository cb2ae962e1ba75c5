package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/bookd/bookd/client"
	"github.com/bookd/bookd/rpc"
	"github.com/bookd/bookd/rpc/edge"
	"github.com/bookd/bookd/rpc/waitroom"
	"github.com/spf13/cobra"
)

// edgeOptions are `bookd edge`'s settings, shared with `bookd dev`.
type edgeOptions struct {
	listen      string
	staleness   time.Duration
	nodeStale   time.Duration
	clientRate  float64
	clientBurst int
	eventRate   float64
	eventBurst  int
	maxHolds    int
	secret      string
	adminToken  string
	rooms       []string
	identity    edgeIdentityOptions
	corsOrigins []string
	proxies     []string
	batchWrites int
	// voucherRefusals and voucherWindow bound guessing of voucher codes.
	voucherRefusals int
	voucherWindow   time.Duration
}

func (o *edgeOptions) register(cmd *cobra.Command, listen string) {
	f := cmd.Flags()
	f.StringVar(&o.listen, "listen", listen, "HOST:PORT the edge serves the web page and API on")
	f.DurationVar(&o.staleness, "staleness", edge.DefaultStaleness, "how old cached availability and events may be")
	f.DurationVar(&o.nodeStale, "node-staleness", edge.DefaultNodeStaleness, "how long a node answering the edge's reads may have gone without hearing from the leader")
	f.Float64Var(&o.clientRate, "client-rate", edge.DefaultClientRate, "API calls a second allowed per client IP (0: no limit)")
	f.IntVar(&o.clientBurst, "client-burst", 0, "burst of API calls per client IP (default: twice --client-rate)")
	f.Float64Var(&o.eventRate, "event-rate", 0, "holds a second this edge forwards per event (0: no limit)")
	f.IntVar(&o.eventBurst, "event-burst", 0, "burst of holds per event (default: --event-rate)")
	f.IntVar(&o.maxHolds, "max-holds-in-flight", edge.DefaultMaxHoldsInFlight, "holds this edge forwards at once; past it holds are refused at once with RESOURCE_EXHAUSTED (0: no bound)")
	f.StringVar(&o.secret, "secret", "", "shared secret (16+ bytes) that signs waiting-room admission tokens; set the same on every edge (BOOKD_SECRET)")
	f.StringVar(&o.adminToken, "admin-token", "", "bearer token for the waiting-room operator API (PUT/DELETE /waitroom/v1/rooms/EVENT); empty: API off")
	f.StringArrayVar(&o.rooms, "room", nil, "waiting room EVENT,RATE[,MAX_ACTIVE[,ON_SALE]] (repeatable; needs --secret)")
	f.StringArrayVar(&o.corsOrigins, "cors-origin", nil, "origin (scheme://host[:port]) of a page elsewhere that may call this edge from a browser (repeatable; none by default)")
	f.StringArrayVar(&o.proxies, "trusted-proxy", nil, "CIDR of a load balancer in front of the edge whose X-Forwarded-For is believed for rate limits (repeatable; none by default)")
	f.IntVar(&o.batchWrites, "batch-writes", edge.DefaultBatchWrites, "most writes the edge sends the cluster in one BatchWrite call; the writes its customers make while a call is out leave together in the next (0: one call per write)")
	f.IntVar(&o.voucherRefusals, "voucher-refusals", edge.DefaultVoucherRefusals, fmt.Sprintf("voucher codes one client IP may have refused per --voucher-window before its holds naming a code are refused (1 to %d)", edge.MaxVoucherRefusals))
	f.DurationVar(&o.voucherWindow, "voucher-window", edge.DefaultVoucherWindow, "the window --voucher-refusals counts in (1m to 24h)")
	o.identity.register(f)
}

// clientOptions are the options of the client an edge calls the cluster
// through.
func (o *edgeOptions) clientOptions(logger *slog.Logger) []client.Option {
	return []client.Option{client.WithLogger(logger), client.WithBatching(o.batchWrites)}
}

// start serves an edge that forwards calls through cl; stop closes both.
// The edge owns cl from here: start closes it when it fails.
func (o *edgeOptions) start(cl *client.Client, logger *slog.Logger) (*edge.Running, func() error, error) {
	srv, err := o.server(cl, logger)
	if err != nil {
		cl.Close()
		return nil, nil, err
	}
	return serveEdge(o.listen, srv, cl)
}

// server is the edge the flags describe, forwarding calls through cl. It
// checks every flag and touches no network.
func (o *edgeOptions) server(cl *client.Client, logger *slog.Logger) (*edge.Server, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	ident, err := o.identity.verifier(o.secret, logger)
	if err != nil {
		return nil, err
	}
	proxies, err := parsePrefixes("--trusted-proxy", o.proxies)
	if err != nil {
		return nil, err
	}
	origins, err := corsOriginList(o.corsOrigins)
	if err != nil {
		return nil, err
	}
	cfg := edge.Config{
		Cluster: cl, Staleness: o.staleness, NodeStaleness: o.nodeStale,
		ClientRate: o.clientRate, ClientBurst: o.clientBurst,
		EventRate: o.eventRate, EventBurst: o.eventBurst, MaxHoldsInFlight: o.maxHolds,
		Logger: logger, Identity: ident, CORSOrigins: origins, TrustedProxies: proxies,
		VoucherRefusals: o.voucherRefusals, VoucherWindow: o.voucherWindow,
	}
	var srv *edge.Server
	if o.secret != "" || len(o.rooms) > 0 || o.adminToken != "" {
		signer, err := waitroom.NewSigner([]byte(o.secret))
		if err != nil {
			return nil, usagef("--secret: %v", err)
		}
		cfg.Rooms = waitroom.New(signer, func(ctx context.Context, id string) (bool, error) { return srv.SoldOut(ctx, id) })
		for _, spec := range o.rooms {
			rc, err := waitroom.ParseSpec(spec)
			if err == nil {
				err = cfg.Rooms.Configure(rc)
			}
			if err != nil {
				return nil, usagef("--room: %v", err)
			}
		}
	}
	srv, err = edge.New(cfg, o.adminToken)
	if err != nil {
		return nil, usageError{err}
	}
	return srv, nil
}

// serveEdge serves srv on listen; stop closes it and cl, the client srv
// forwards through. It closes cl when it fails.
func serveEdge(listen string, srv *edge.Server, cl *client.Client) (*edge.Running, func() error, error) {
	run, err := edge.Start(listen, srv)
	if err != nil {
		cl.Close()
		return nil, nil, err
	}
	return run, func() error { return errors.Join(run.Close(), cl.Close()) }, nil
}

// check names the first flag with a value out of range.
func (o *edgeOptions) check() error {
	for _, f := range []struct {
		name string
		bad  bool
	}{
		{"--staleness", o.staleness < 0}, {"--node-staleness", o.nodeStale < 0},
		{"--client-rate", o.clientRate < 0}, {"--client-burst", o.clientBurst < 0},
		{"--event-rate", o.eventRate < 0}, {"--event-burst", o.eventBurst < 0},
		{"--max-holds-in-flight", o.maxHolds < 0},
		{"--voucher-refusals", o.voucherRefusals < 1 || o.voucherRefusals > edge.MaxVoucherRefusals},
		{"--voucher-window", o.voucherWindow < time.Minute || o.voucherWindow > 24*time.Hour},
		{"--batch-writes", o.batchWrites < 0 || o.batchWrites > rpc.MaxBatchWrites},
	} {
		if f.bad {
			return usagef("%s is out of range", f.name)
		}
	}
	return nil
}

func newEdgeCmd(g *globals) *cobra.Command {
	var o edgeOptions
	var logLevel, logFormat string
	cmd := &cobra.Command{
		Use:   "edge [--listen HOST:PORT] [--endpoints ...] [--ca-file CA --token T] [--room EVENT,RATE,MAX_ACTIVE --secret S]",
		Short: "Run a stateless edge: the web booking page and a caching, rate-limiting API front",
		Long: `bookd edge serves the web booking page and forwards customers' calls to the
cluster named by --endpoints. It keeps no booking state: run as many as you
like, anywhere, and kill any of them. Availability is cached for --staleness.
Per-client and per-event rate limits refuse excess calls with
RESOURCE_EXHAUSTED and a retry-after hint. --room puts a hot event behind a
waiting room; every edge and node that shares --secret accepts its tokens.

In front of a secured cluster give the edge --ca-file (the CA certificate
that signed the nodes') and a booker token as --token (better BOOKD_TOKEN):
the edge holds and books on its customers' behalf. At start it checks them
against the nodes and refuses to start, naming the flag, when the nodes
serve TLS and --ca-file is missing or does not trust them, when they check
tokens and --token is missing or unknown, or when the token's role may not
book (exit 7), and when --ca-file is given for nodes without TLS (exit 2).
A cluster it cannot reach yet gets a warning, not a refusal: an edge may
start before its cluster.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			logger, err := newLogger(logLevel, logFormat)
			if err != nil {
				return err
			}
			if err := o.check(); err != nil {
				return err
			}
			cl, err := g.newClient(o.clientOptions(logger)...)
			if err != nil {
				return err
			}
			srv, err := o.server(cl, logger)
			if err == nil {
				err = checkEdgeCredentials(cmd.Context(), g, cl, logger)
			}
			if err != nil {
				cl.Close()
				return err
			}
			run, stop, err := serveEdge(o.listen, srv, cl)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "bookd edge: open %s (cluster %s)\n", run.URL(), g.endpoints)
			return waitForSignal(logger, stop)
		},
	}
	o.register(cmd, "127.0.0.1:8080")
	cmd.Flags().StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	cmd.Flags().StringVar(&logFormat, "log-format", "text", "text or json")
	return cmd
}

// splitList splits a comma-separated flag, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, e := range strings.Split(s, ",") {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}
