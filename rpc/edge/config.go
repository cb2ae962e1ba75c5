package edge

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"github.com/bookd/bookd/client"
	"github.com/bookd/bookd/rpc/edge/identity"
	"github.com/bookd/bookd/rpc/waitroom"
)

// Config configures an edge Server.
type Config struct {
	// Cluster is the client the edge forwards calls through. Required.
	Cluster *client.Client
	// Staleness bounds how old a cached availability, event or event list
	// may be when it is served (default DefaultStaleness). A hold or
	// confirmation made through this edge drops the event's cached
	// availability at once.
	Staleness time.Duration
	// NodeStaleness bounds how long the node answering one of the edge's
	// reads may have gone without hearing from the leader (default
	// DefaultNodeStaleness); a node past it refuses, and the client asks
	// another. What a page shows is thus at most about Staleness +
	// NodeStaleness old. Holds and confirmations always go to the leader.
	NodeStaleness time.Duration
	// ClientRate and ClientBurst limit the API calls of one client (by
	// remote IP) per second; a rate of 0 means no limit.
	ClientRate  float64
	ClientBurst int
	// EventRate and EventBurst limit the holds this edge forwards for one
	// event per second; a rate of 0 means no limit.
	EventRate  float64
	EventBurst int
	// MaxHoldsInFlight bounds the holds this edge has forwarded and not yet
	// had answered; past it a hold is refused at once (RESOURCE_EXHAUSTED
	// with a retry-after hint) instead of queueing behind the others. 0
	// means no bound. Confirmations and releases are never refused here:
	// shoppers already holding inventory finish their purchase.
	MaxHoldsInFlight int
	// Rooms, when set, gates holds on the events that have a waiting room
	// and serves the rooms' JSON API under /waitroom/.
	Rooms *waitroom.Rooms
	// CallTimeout bounds one forwarded call (default 10s).
	CallTimeout time.Duration
	Logger      *slog.Logger
	// Identity tells who each call acts for: a customer token signed by
	// the portal, or the edge's guest session. Nil: guests only, with a
	// session key drawn at start (sessions then last as long as this
	// process and do not carry over to other edges).
	Identity *identity.Verifier
	// CORSOrigins are the origins of pages elsewhere that may call this
	// edge from a browser (none: only the edge's own page).
	CORSOrigins []string
	// TrustedProxies are the load balancers in front of the edge: a call
	// from one of them is counted against the client address it appended
	// to X-Forwarded-For. X-Forwarded-For from anyone else is ignored.
	TrustedProxies []netip.Prefix
	// MaxWatchers bounds the live-update streams (WatchChanges) the edge
	// serves at once (default DefaultMaxWatchers).
	MaxWatchers int
	// VoucherRefusals is how many voucher codes one client (by remote IP,
	// as ClientRate counts) may have refused per VoucherWindow; past it, its
	// holds naming a code are refused with RESOURCE_EXHAUSTED and a
	// RetryInfo until the window lets another through (default
	// DefaultVoucherRefusals, at most MaxVoucherRefusals). Codes are
	// secrets a stranger could otherwise guess at the rate limit.
	VoucherRefusals int
	// VoucherWindow is the window of VoucherRefusals (default
	// DefaultVoucherWindow, from a minute to a day).
	VoucherWindow time.Duration
}

// DefaultStaleness is how old cached availability may be by default: well
// under a second, so a page shows what is free, yet a thousand page views a
// second cost the cluster a handful of reads.
const DefaultStaleness = 250 * time.Millisecond

// Defaults of `bookd edge` as shipped (its flags), named here so that the
// load generator runs the edge a user gets.
const (
	// DefaultClientRate is the API calls a second allowed per client IP.
	DefaultClientRate = 100
	// DefaultMaxHoldsInFlight is the holds an edge forwards at once.
	DefaultMaxHoldsInFlight = 1024
	// DefaultBatchWrites is the most writes an edge sends in one
	// BatchWrite call. An edge serves many customers at once, each making
	// one write at a time, so it batches them (client.WithBatching): a
	// lone write still leaves at once.
	DefaultBatchWrites = 256
)

// Defaults and bounds of the voucher guessing limit: ten codes refused in
// ten minutes is more than a shopper mistyping one, and caps a guesser at
// 1,440 codes a day per address.
const (
	DefaultVoucherRefusals = 10
	DefaultVoucherWindow   = 10 * time.Minute
	MaxVoucherRefusals     = 1000
)

// DefaultNodeStaleness is how far behind the leader a node serving the
// edge's reads may be by default: a few heartbeats.
const DefaultNodeStaleness = 500 * time.Millisecond

func (c *Config) setDefaults() {
	if c.Staleness == 0 {
		c.Staleness = DefaultStaleness
	}
	if c.NodeStaleness == 0 {
		c.NodeStaleness = DefaultNodeStaleness
	}
	if c.CallTimeout == 0 {
		c.CallTimeout = 10 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.ClientBurst == 0 {
		c.ClientBurst = max(1, int(2*c.ClientRate))
	}
	if c.EventBurst == 0 {
		c.EventBurst = max(1, int(c.EventRate))
	}
	if c.MaxWatchers == 0 {
		c.MaxWatchers = DefaultMaxWatchers
	}
	if c.VoucherRefusals == 0 {
		c.VoucherRefusals = DefaultVoucherRefusals
	}
	if c.VoucherWindow == 0 {
		c.VoucherWindow = DefaultVoucherWindow
	}
}

func (c *Config) validate() error {
	switch {
	case c.Cluster == nil:
		return errors.New("edge: Config.Cluster is required")
	case c.Staleness < 0 || c.NodeStaleness < 0:
		return errors.New("edge: Config.Staleness or NodeStaleness is negative")
	case c.ClientRate < 0 || c.ClientBurst < 0:
		return errors.New("edge: Config.ClientRate or ClientBurst is negative")
	case c.EventRate < 0 || c.EventBurst < 0:
		return errors.New("edge: Config.EventRate or EventBurst is negative")
	case c.MaxHoldsInFlight < 0:
		return errors.New("edge: Config.MaxHoldsInFlight is negative")
	case c.CallTimeout < 0:
		return errors.New("edge: Config.CallTimeout is negative")
	case c.VoucherRefusals < 1 || c.VoucherRefusals > MaxVoucherRefusals:
		return fmt.Errorf("edge: Config.VoucherRefusals must be between 1 and %d, got %d", MaxVoucherRefusals, c.VoucherRefusals)
	case c.VoucherWindow < time.Minute || c.VoucherWindow > 24*time.Hour:
		return fmt.Errorf("edge: Config.VoucherWindow must be between 1m and 24h, got %v", c.VoucherWindow)
	}
	return nil
}
