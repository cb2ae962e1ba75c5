package rpc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"connectrpc.com/connect"
	"github.com/bookd/bookd/client"
	"github.com/bookd/bookd/fsm"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/proto/bookd/v1/bookdv1connect"
	"github.com/bookd/bookd/raftnode"
	"github.com/bookd/bookd/rpc/errdetail"
	"google.golang.org/protobuf/proto"
)

const (
	// LeaderHeader is set on every response to the leader's RPC address.
	LeaderHeader = "Bookd-Leader"
	// forwardedHeader marks a request a follower forwarded to the leader.
	forwardedHeader = "Bookd-Forwarded-By"
)

// service is what both handlers share: the node and the way to the leader.
type service struct {
	node  *raftnode.Node
	peers *peers
	// stopping is closed when the server starts to shut down, to end streams.
	stopping chan struct{}
	// fresh tells a follower whether its state is fresh enough for a
	// bounded-stale read.
	fresh *freshness
	// writes runs single write calls in batches (singlewrites.go).
	writes *writeQueue
	// answers are the latest answers to hot reads (answers.go).
	answers answerCodec
}

// peer is a set of clients for another node.
type peer struct {
	booking bookdv1connect.BookingServiceClient
	cluster bookdv1connect.ClusterServiceClient
	queue   bookdv1connect.QueueServiceClient
}

// peers caches clients by RPC address.
type peers struct {
	http   *http.Client
	scheme string // "http://", or "https://" once secure
	opts   []connect.ClientOption
	mu     sync.Mutex
	byAd   map[string]*peer
}

// newPeers makes clients whose connections leave from local (nil: any
// address), so the other nodes see this node's address as the source.
func newPeers(local *net.TCPAddr) *peers {
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	if local != nil {
		dialer.LocalAddr = local
	}
	t := &http.Transport{
		DialContext:         dialer.DialContext,
		Protocols:           new(http.Protocols),
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     90 * time.Second,
	}
	t.Protocols.SetUnencryptedHTTP2(true)
	return &peers{http: &http.Client{Transport: t}, scheme: "http://", byAd: map[string]*peer{}}
}

func (p *peers) get(addr string) *peer {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.byAd[addr]; ok {
		return c
	}
	base := p.scheme + addr
	// No gzip between nodes: a LAN hop, where it costs more CPU than it saves.
	noGzip := connect.WithAcceptCompression("gzip", nil, nil)
	opts := append([]connect.ClientOption{noGzip}, p.opts...)
	c := &peer{
		booking: bookdv1connect.NewBookingServiceClient(p.http, base, opts...),
		cluster: bookdv1connect.NewClusterServiceClient(p.http, base, opts...),
		queue:   bookdv1connect.NewQueueServiceClient(p.http, base, opts...),
	}
	p.byAd[addr] = c
	return c
}

func (p *peers) close() { p.http.CloseIdleConnections() }

// leaderPeer returns clients for the leader and a context marking the call
// as forwarded. A request that was itself forwarded is not forwarded again.
func (s *service) leaderPeer(ctx context.Context) (context.Context, *peer, error) {
	if wasForwarded(ctx) {
		return nil, nil, errForwardedToFollower()
	}
	return s.leaderClient(ctx)
}

// errForwardedToFollower answers a call a node forwarded here, believing
// this node the leader, when it no longer is: forwarding it again could
// send it round in circles. A new error each time: interceptors add to its
// metadata.
func errForwardedToFollower() error {
	return connect.NewError(connect.CodeUnavailable, errors.New("forwarded to a node that is no longer the leader; retry"))
}

// wasForwarded reports whether the call being handled was forwarded by
// another node.
func wasForwarded(ctx context.Context) bool {
	info, ok := connect.CallInfoForHandlerContext(ctx)
	return ok && info.RequestHeader().Get(forwardedHeader) != ""
}

// leaderClient returns clients for the leader and a context, derived from
// ctx, that marks calls made with it as forwarded by this node.
func (s *service) leaderClient(ctx context.Context) (context.Context, *peer, error) {
	id, addr := s.node.Leader()
	switch {
	case id == "":
		return nil, nil, connect.NewError(connect.CodeUnavailable, errors.New("no leader: the cluster is electing one or has no quorum; retry"))
	case addr == "":
		return nil, nil, connect.NewError(connect.CodeUnavailable, fmt.Errorf("leader %s has not registered its RPC address yet; retry", id))
	}
	fctx, info := connect.NewClientContext(ctx)
	info.RequestHeader().Set(forwardedHeader, s.node.ID())
	if id := RequestID(ctx); id != "" {
		info.RequestHeader().Set(RequestIDHeader, id)
	}
	return fctx, s.peers.get(addr), nil
}

// toLeader forwards a call to the leader.
func toLeader[Resp any](ctx context.Context, s *service, forward func(context.Context, *peer) (Resp, error)) (Resp, error) {
	var zero Resp
	fctx, p, err := s.leaderPeer(ctx)
	if err != nil {
		return zero, err
	}
	resp, err := forward(fctx, p)
	if err != nil {
		return zero, relay(err)
	}
	return resp, nil
}

// relay rebuilds an error returned by the leader, keeping its code,
// message, reason, retry-after hint and details but none of the leader's
// transport headers. An error the leader
// did not send (the connection broke, or something other than a bookd
// node answered) leaves the outcome unknown: that is UNAVAILABLE, which
// clients retry with the same idempotency key.
func relay(err error) error {
	var ce *connect.Error
	if !errors.As(err, &ce) || !connect.IsWireError(ce) {
		return connect.NewError(connect.CodeUnavailable, fmt.Errorf("forward to leader (outcome unknown; retry with the same idempotency key): %w", err))
	}
	return errdetail.Copy(ce, relayedHeaders...)
}

// relayedHeaders are the headers of a refusal that a relayed one keeps.
var relayedHeaders = []string{ReasonHeader, client.RetryAfterHeader, "Retry-After"}

// mutate proposes cmd on the leader, forwarding from a follower, and returns
// the state machine's response.
func mutate[Resp proto.Message](ctx context.Context, s *service, req proto.Message, cmd *fsm.Command,
	forward func(context.Context, *peer) (Resp, error)) (Resp, error) {
	if !s.node.IsLeader() {
		return toLeader(ctx, s, forward)
	}
	cmd.RequestHash = fsm.RequestHash(req)
	return propose[Resp](ctx, s, cmd)
}

// propose proposes cmd, whose request hash is set, on this node (the
// leader) and returns the state machine's response.
func propose[Resp proto.Message](ctx context.Context, s *service, cmd *fsm.Command) (Resp, error) {
	var zero Resp
	res, err := s.node.Propose(ctx, cmd)
	if err != nil {
		return zero, toConnect(err)
	}
	if res.Err != nil {
		return zero, toConnect(res.Err)
	}
	resp, ok := res.Response.(Resp)
	if !ok {
		return zero, connect.NewError(connect.CodeInternal, fmt.Errorf("state machine answered %T", res.Response))
	}
	return resp, nil
}

// read serves a read at the consistency the request asks for: stale reads
// from this node's state, linearizable reads on the leader after a read
// barrier (a follower forwards them). A stale read that finds nothing on a
// follower asks the leader.
func read[Resp proto.Message](ctx context.Context, s *service, opts *bookdv1.ReadOptions,
	local func() (Resp, error), forward func(context.Context, *peer) (Resp, error)) (Resp, error) {
	var zero Resp
	switch opts.GetConsistency() {
	case bookdv1.Consistency_CONSISTENCY_STALE:
		if opts.MaxStaleness != nil {
			if !opts.MaxStaleness.IsValid() || opts.MaxStaleness.AsDuration() < 0 {
				return zero, invalidArgument("read.max_staleness: not a valid non-negative duration")
			}
			if max := opts.MaxStaleness.AsDuration(); max > 0 && !s.node.IsLeader() && !s.fresh.within(max) {
				// Not known to be fresh enough here (freshness.go): the
				// leader's state is fresh by definition.
				return toLeader(ctx, s, forward)
			}
		}
	case bookdv1.Consistency_CONSISTENCY_UNSPECIFIED, bookdv1.Consistency_CONSISTENCY_LINEARIZABLE:
		if !s.node.IsLeader() {
			return toLeader(ctx, s, forward)
		}
		if err := s.node.ReadBarrier(ctx); err != nil {
			return zero, toConnect(err)
		}
	default:
		return zero, invalidArgument("read.consistency: unknown value %d", opts.GetConsistency())
	}
	resp, err := local()
	if err != nil {
		err = toConnect(err)
		if connect.CodeOf(err) == connect.CodeNotFound && !s.node.IsLeader() {
			// Maybe created after this node's state: a client that just
			// created it must not be told it does not exist.
			return toLeader(ctx, s, forward)
		}
		return zero, err
	}
	return resp, nil
}
