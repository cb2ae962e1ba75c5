package client

import (
	"fmt"
	"sync"
	"time"

	"connectrpc.com/connect"

	"github.com/bookd/bookd/proto/bookd/v1/bookdv1connect"
)

// Client calls a bookd cluster. It is safe for concurrent use; share one per
// cluster rather than creating one per call.
type Client struct {
	cfg  config
	eps  *endpoints
	http *leaderSniffer

	mu    sync.Mutex
	conns map[string]*conn // by base URL
}

// conn holds the generated clients for one node.
type conn struct {
	bookdv1connect.BookingServiceClient
	bookdv1connect.ClusterServiceClient
	bookdv1connect.QueueServiceClient
	batch *batcher // nil unless WithBatching
}

// New returns a Client for the cluster whose nodes serve RPCs at endpoints,
// each "host:port" or "http://host:port". It needs at least one reachable
// node, not all of them, and learns the leader as it goes; New itself makes
// no network calls.
func New(endpoints []string, opts ...Option) (*Client, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if cfg.maxAttempts < 1 {
		return nil, fmt.Errorf("client: max attempts %d is less than 1", cfg.maxAttempts)
	}
	if cfg.batchWrites < 0 || cfg.batchWrites > maxBatchWrites {
		return nil, fmt.Errorf("client: batch of %d writes is not between 0 and %d", cfg.batchWrites, maxBatchWrites)
	}
	if cfg.backoffInitial < 0 || cfg.backoffMax < cfg.backoffInitial {
		return nil, fmt.Errorf("client: backoff %v..%v is not a range of non-negative durations", cfg.backoffInitial, cfg.backoffMax)
	}
	if cfg.httpClient == nil {
		cfg.httpClient, cfg.ownHTTP = defaultHTTPClient(), true
	}
	cfg.secure()
	schemed := make([]string, len(endpoints))
	for i, e := range endpoints {
		schemed[i] = cfg.withScheme(e)
	}
	eps, err := newEndpoints(schemed)
	if err != nil {
		return nil, err
	}
	return &Client{
		cfg:   cfg,
		eps:   eps,
		http:  &leaderSniffer{next: cfg.httpClient, eps: eps},
		conns: make(map[string]*conn),
	}, nil
}

// Close releases the Client's idle connections. Calls in flight are not
// interrupted; the Client should not be used afterwards.
func (c *Client) Close() error {
	c.cfg.httpClient.CloseIdleConnections()
	return nil
}

// Leader returns the RPC address ("host:port") of the node the Client
// currently believes leads the cluster, or "" when it knows none.
func (c *Client) Leader() string {
	return c.eps.leaderAddr()
}

// conn returns the clients for the node at base, creating them on first use.
func (c *Client) conn(base string) *conn {
	c.mu.Lock()
	defer c.mu.Unlock()
	cn, ok := c.conns[base]
	if !ok {
		cn = &conn{
			BookingServiceClient: bookdv1connect.NewBookingServiceClient(c.http, base, noCompression),
			ClusterServiceClient: bookdv1connect.NewClusterServiceClient(c.http, base, noCompression),
			QueueServiceClient:   bookdv1connect.NewQueueServiceClient(c.http, base, noCompression),
		}
		if c.cfg.batchWrites > 0 {
			cn.batch = newBatcher(cn.BatchWrite, c.cfg.batchWrites, batchesInFlight, c.batchTimeout())
		}
		c.conns[base] = cn
	}
	return cn
}

// batchesInFlight is how many BatchWrite calls a Client keeps out to one
// node before writes start waiting to leave together (a full batch leaves
// anyway). One: while a call is out, the writes that arrive form the next
// batch, which the node proposes as one log entry — group commit. With 512
// customers on a 3-node cluster (bookd-bench, ga then seats), 1 call in
// flight cost 0.041-0.051 / 0.081-0.100 server CPU seconds per 1,000
// bookings, 2 calls 0.047-0.049 / 0.095-0.104, 4 calls 0.050-0.057 /
// 0.097-0.110 and 8 calls 0.056-0.058 / 0.118-0.127, at the same or better
// throughput and p99; with 64 customers 1 and 4 were alike.
const batchesInFlight = 1

// batchTimeout bounds one BatchWrite call: the attempt timeout, or a
// generous bound when attempts have none, since the call serves many callers.
func (c *Client) batchTimeout() time.Duration {
	if c.cfg.attemptTimeout > 0 {
		return c.cfg.attemptTimeout
	}
	return time.Minute
}

// noCompression turns gzip off: nodes are a LAN hop away, where compressing
// a batch's answer costs more CPU than the bytes it saves.
var noCompression = connect.WithAcceptCompression("gzip", nil, nil)
