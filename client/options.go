package client

import (
	"crypto/tls"
	"log/slog"
	"net/http"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
)

// An Option configures a Client.
type Option func(*config)

type config struct {
	httpClient     *http.Client
	maxAttempts    int
	attemptTimeout time.Duration
	backoffInitial time.Duration
	backoffMax     time.Duration
	logger         *slog.Logger
	batchWrites    int // 0: no batching
	token          string
	tls            *tls.Config
	ownHTTP        bool // httpClient is the Client's own, not WithHTTPClient's
}

func defaultConfig() config {
	return config{
		maxAttempts:    8,
		attemptTimeout: 5 * time.Second,
		backoffInitial: 50 * time.Millisecond,
		backoffMax:     2 * time.Second,
		logger:         slog.New(slog.DiscardHandler),
	}
}

// WithHTTPClient makes the Client send requests with hc instead of its own
// cleartext HTTP/2 client. Close then releases hc's idle connections.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) { c.httpClient = hc }
}

// WithMaxAttempts bounds how many times one call is sent, counting the first
// attempt (default 8). 1 disables retries.
func WithMaxAttempts(n int) Option {
	return func(c *config) { c.maxAttempts = n }
}

// WithAttemptTimeout bounds each attempt of a retried call (default 5s; 0
// means only the caller's context bounds it). A node that accepts
// connections but does not answer (paused, overloaded, cut off by a one-way
// partition) then costs one attempt, not the whole call. Calls limited to
// one attempt are bounded only by their context.
func WithAttemptTimeout(d time.Duration) Option {
	return func(c *config) { c.attemptTimeout = d }
}

// WithBackoff sets the wait before a retry: initial before the first, doubling
// up to max, each wait jittered to between half and all of its value
// (default 50ms to 2s). Zero retries at once.
func WithBackoff(initial, max time.Duration) Option {
	return func(c *config) { c.backoffInitial, c.backoffMax = initial, max }
}

// WithBatching makes the Client send the writes (Hold, Confirm, ReleaseHold,
// ExtendHold, Book, CancelBooking) that its callers make concurrently to a node together,
// up to maxWrites (at most 1,000) in one BatchWrite call. Each write keeps its
// own idempotency key, result, error and retries. A write goes at once when
// no batch is out to the node and otherwise leaves with the writes that
// arrive while it is (a full batch leaves anyway), so batching adds no delay
// when idle and raises throughput under load. 0 turns batching off (the
// default).
//
// A batched Hold or Book whose IdempotencyKey was left empty (so the Client
// made the key) and that is refused because its inventory is sold (a booked
// seat, GA tickets its bookings took) is not recorded under the key; the
// leader may answer it without the Raft log.
func WithBatching(maxWrites int) Option {
	return func(c *config) { c.batchWrites = maxWrites }
}

// WithLogger makes the Client log each retry at debug level to l
// (default: no logging).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l != nil {
			c.logger = l
		}
	}
}

// A ReadOption changes how fresh a read must be. Reads are linearizable by
// default.
type ReadOption func(*bookdv1.ReadOptions)

// Stale lets any node answer the read from its own applied state, which may
// lag the leader. With maxStaleness > 0 a node that has not heard from the
// leader for longer refuses with UNAVAILABLE (and the Client tries another);
// 0 means no bound. Stale reads stay on one node while it answers, so
// successive stale reads do not go back in time.
func Stale(maxStaleness time.Duration) ReadOption {
	return func(r *bookdv1.ReadOptions) {
		r.Consistency = bookdv1.Consistency_CONSISTENCY_STALE
		r.MaxStaleness = nil
		if maxStaleness > 0 {
			r.MaxStaleness = durationpb.New(maxStaleness)
		}
	}
}

// readOptions applies opts to fresh ReadOptions; nil when there are none.
func readOptions(opts []ReadOption) *bookdv1.ReadOptions {
	if len(opts) == 0 {
		return nil
	}
	r := &bookdv1.ReadOptions{}
	for _, o := range opts {
		if o != nil {
			o(r)
		}
	}
	return r
}

func isStale(r *bookdv1.ReadOptions) bool {
	return r.GetConsistency() == bookdv1.Consistency_CONSISTENCY_STALE
}
