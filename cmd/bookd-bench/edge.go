package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"

	"github.com/bookd/bookd/client"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/proto/bookd/v1/bookdv1connect"
	"github.com/bookd/bookd/rpc/edge"
	"github.com/bookd/bookd/rpc/edge/identity"
)

// edgeOptions put an edge (`bookd edge`, run in the load generator's
// process) between the customers and the cluster.
type edgeOptions struct {
	Enabled    bool
	EventRate  float64       // holds a second the edge forwards per event (0: no limit)
	MaxHolds   int           // holds the edge forwards at once (0: no bound)
	ClientRate float64       // calls a second per client IP (0: no limit)
	Staleness  time.Duration // the edge's availability cache (0: its default)
	Batch      int           // the edge's client batches writes to the cluster (client.WithBatching)
	Report     io.Writer     // where the edge target prints its refusals' latencies
}

// shippedEdgeOptions are `bookd edge` as a user starts it, with no flags
// (cmd/bookd/edge.go, defaults in rpc/edge): its client batching up to 256 writes a call
// (--batch-writes), the default staleness, 100 calls a second per client
// IP (--client-rate), at most 1,024 holds in flight
// (--max-holds-in-flight), no event rate. The
// customers' calls come from one address, the load generator's, which
// plays the load balancer: each call names its customer's own address in
// X-Forwarded-For, as a trusted proxy's would, so that the per-IP limit
// applies per customer.
func shippedEdgeOptions(report io.Writer) edgeOptions {
	return edgeOptions{Enabled: true, ClientRate: edge.DefaultClientRate, MaxHolds: edge.DefaultMaxHoldsInFlight,
		Batch: edge.DefaultBatchWrites, Report: report}
}

// edgeServers are bookd servers reached through an edge.
type edgeServers struct {
	Servers
	endpoints []string
	opts      edgeOptions
}

// withEdge puts an edge in front of a bookd cluster.
func withEdge(srv Servers, o edgeOptions) (Servers, error) {
	var eps []string
	switch s := srv.(type) {
	case *bookdServers:
		eps = s.endpoints()
	case *externalBookd:
		eps = s.endpoints
	default:
		return nil, fmt.Errorf("-edge works with -target bookd only")
	}
	return &edgeServers{Servers: srv, endpoints: eps, opts: o}, nil
}

// loadBalancer is the address the edge trusts to name its clients' own.
var loadBalancer = netip.MustParsePrefix("127.0.0.1/32")

func (s *edgeServers) Connect(_ context.Context, clients int) (Target, error) {
	var opts []client.Option
	if s.opts.Batch > 0 {
		opts = append(opts, client.WithBatching(s.opts.Batch))
	}
	cluster, err := client.New(s.endpoints, opts...)
	if err != nil {
		return nil, err
	}
	// The customers are a portal's: each call carries the portal's token
	// for its customer, as a portal's back end or page would send it.
	portal := newPortal()
	ident, err := identity.New(identity.Config{HMACKey: portal.key, SessionKey: portal.sessionKey})
	if err != nil {
		cluster.Close()
		return nil, err
	}
	srv, err := edge.New(edge.Config{Cluster: cluster, Staleness: s.opts.Staleness, EventRate: s.opts.EventRate,
		MaxHoldsInFlight: s.opts.MaxHolds, ClientRate: s.opts.ClientRate, TrustedProxies: []netip.Prefix{loadBalancer},
		Logger: slog.New(slog.DiscardHandler), Identity: ident}, "")
	if err != nil {
		cluster.Close()
		return nil, err
	}
	run, err := edge.Start("127.0.0.1:0", srv)
	if err != nil {
		cluster.Close()
		return nil, err
	}
	t := &edgeTarget{cluster: cluster, run: run, report: s.opts.Report, portal: portal}
	// Customers come over many connections, as browsers would, not all
	// multiplexed over one.
	for range max(1, min(edgeConns, clients)) {
		tr := &http.Transport{Protocols: new(http.Protocols)}
		tr.Protocols.SetUnencryptedHTTP2(true)
		hc := &http.Client{Transport: tr}
		t.hcs = append(t.hcs, hc)
		t.edges = append(t.edges, bookdv1connect.NewBookingServiceClient(hc, "http://"+run.Addr()))
	}
	return t, nil
}

// edgeConns is how many connections the customers share to the edge.
const edgeConns = 64

// edgeTarget books as the web page does, through an edge: Hold, then
// Confirm. Setting up and auditing the event go to the cluster directly.
type edgeTarget struct {
	cluster *client.Client
	run     *edge.Running
	hcs     []*http.Client
	edges   []bookdv1connect.BookingServiceClient
	portal  *portal
	report  io.Writer
	// nextBrowse spreads browse reads over the connections.
	nextBrowse atomic.Uint64
	// shed counts the calls the edge or a node refused as overloaded.
	shed histogram
	// probe times a linearizable read of the cluster every 100 ms, to show
	// whether the cluster itself stays responsive.
	probe     histogram
	stopProbe context.CancelFunc
	probed    chan struct{}
}

// startProbe reads the event's availability from the leader until Close.
func (t *edgeTarget) startProbe(event string) {
	ctx, cancel := context.WithCancel(context.Background())
	t.stopProbe, t.probed = cancel, make(chan struct{})
	go func() {
		defer close(t.probed)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			began := time.Now()
			rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
			_, err := t.cluster.Availability(rctx, event)
			rcancel()
			if err == nil {
				t.probe.add(time.Since(began))
			}
		}
	}()
}

func (t *edgeTarget) Name() string { return "bookd via edge" }

func (t *edgeTarget) Prepare(ctx context.Context, inv Inventory) (string, error) {
	event, err := (&bookdTarget{clients: []*client.Client{t.cluster}}).Prepare(ctx, inv)
	if err == nil && t.stopProbe == nil {
		t.startProbe(event)
	}
	return event, err
}

func (t *edgeTarget) Audit(ctx context.Context, event string, inv Inventory) (Audit, error) {
	return (&bookdTarget{clients: []*client.Client{t.cluster}}).Audit(ctx, event, inv)
}

func (t *edgeTarget) Book(ctx context.Context, event string, a Attempt) error {
	hold, err := t.Hold(ctx, event, a)
	if err != nil {
		return err
	}
	return t.Confirm(ctx, event, hold, a)
}

func (t *edgeTarget) Hold(ctx context.Context, event string, a Attempt) (string, error) {
	began := time.Now()
	res, err := t.edge(a.Customer).Hold(t.as(ctx, a.Customer), &bookdv1.HoldRequest{
		EventId: eventOf(event, a), Quantity: a.Quantity, Seats: a.Seats, IdempotencyKey: a.Key + "-hold",
		Items: itemsOf(a), VoucherCode: a.Voucher,
	})
	if err != nil {
		if a.Voucher != "" && client.Reason(err) == client.ReasonVoucherNotValid {
			// An edge answers every refused code alike, used up included
			// (rpc/edge/vouchers.go); the run's codes are valid for its
			// events, so it is the limited one, used up.
			err = fmt.Errorf("%w: %w: %v", ErrConflict, errVoucherUsedUp, err)
		}
		return "", t.note(began, conflictOrErr(err))
	}
	return res.GetHold().GetId(), nil
}

func (t *edgeTarget) Confirm(ctx context.Context, event, hold string, a Attempt) error {
	began := time.Now()
	_, err := t.edge(a.Customer).Confirm(t.as(ctx, a.Customer), &bookdv1.ConfirmRequest{HoldId: hold, PaymentRef: paymentRef(a.Key), IdempotencyKey: a.Key + "-confirm"})
	return t.note(began, err)
}

// errEdgeStaleOnly refuses a linearizable browse through an edge, which
// serves availability from its cache.
var errEdgeStaleOnly = errors.New("an edge serves availability from its cache only; read linearizably from a node")

// Browse reads availability as a page does, from the edge's cache, over
// the connections in turn.
func (t *edgeTarget) Browse(ctx context.Context, event string, linearizable bool) error {
	if linearizable {
		return errEdgeStaleOnly
	}
	c := t.edges[t.nextBrowse.Add(1)%uint64(len(t.edges))]
	_, err := c.GetAvailability(t.as(ctx, fmt.Sprint("browser-", t.nextBrowse.Load()%1024)), &bookdv1.GetAvailabilityRequest{EventId: event})
	return err
}

// edge picks the connection of a customer: always the same one.
func (t *edgeTarget) edge(customer string) bookdv1connect.BookingServiceClient {
	return t.edges[fnv32(customer)%uint32(len(t.edges))]
}

// as is ctx for a call made for customer: it carries their token and, as
// the load balancer would add it, their own address.
func (t *edgeTarget) as(ctx context.Context, customer string) context.Context {
	ctx, info := connect.NewClientContext(ctx)
	info.RequestHeader().Set("Authorization", "Bearer "+t.portal.token(customer, time.Now().Add(time.Hour)))
	h := fnv32(customer)
	info.RequestHeader().Set("X-Forwarded-For", fmt.Sprintf("10.%d.%d.%d", h>>16&0xff, h>>8&0xff, h&0xff))
	return ctx
}

// fnv32 is the FNV-1a hash of s.
func fnv32(s string) uint32 {
	var h uint32 = 2166136261
	for i := 0; i < len(s); i++ {
		h = (h ^ uint32(s[i])) * 16777619
	}
	return h
}

// note times refusals for overload, which should come back at once.
func (t *edgeTarget) note(began time.Time, err error) error {
	if connect.CodeOf(err) == connect.CodeResourceExhausted {
		t.shed.add(time.Since(began))
	}
	return err
}

func (t *edgeTarget) Close() error {
	if t.stopProbe != nil {
		t.stopProbe()
		<-t.probed
		if c := t.probe.snapshot(); c.total() > 0 && t.report != nil {
			fmt.Fprintf(t.report, "cluster: %d linearizable reads, one every 100 ms, answered in p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
				c.total(), ms(c.quantile(0.5)), ms(c.quantile(0.99)), ms(c.quantile(1)))
		}
	}
	if c := t.shed.snapshot(); c.total() > 0 && t.report != nil {
		fmt.Fprintf(t.report, "edge: %d calls refused as overloaded (RESOURCE_EXHAUSTED), answered in p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
			c.total(), ms(c.quantile(0.5)), ms(c.quantile(0.99)), ms(c.quantile(1)))
	}
	for _, hc := range t.hcs {
		hc.CloseIdleConnections()
	}
	return errors.Join(t.run.Close(), t.cluster.Close())
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
