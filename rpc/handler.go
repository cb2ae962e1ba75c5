package rpc

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"slices"
	"strconv"

	"connectrpc.com/connect"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/proto/bookd/v1/bookdv1connect"
	"github.com/bookd/bookd/raftnode"
)

// MaxRequestBytes bounds a request message; larger ones get RESOURCE_EXHAUSTED.
const MaxRequestBytes = 4 << 20

// newHandler returns the HTTP handler serving both services, gRPC health
// and gRPC reflection for node, and the state the handlers share. Calls to
// other nodes leave from local.
func newHandler(node *raftnode.Node, logger *slog.Logger, local *net.TCPAddr, shed ShedConfig, extra ...connect.Interceptor) (http.Handler, *service) {
	s := &service{node: node, peers: newPeers(local), stopping: make(chan struct{})}
	s.fresh = newFreshness(s)
	s.writes = newWriteQueue(s)
	s.answers = answerCodec{availability: newAnswerCache[*bookdv1.GetAvailabilityResponse](), events: newAnswerCache[*bookdv1.GetEventResponse]()}
	opts := []connect.HandlerOption{
		connect.WithReadMaxBytes(MaxRequestBytes),
		connect.WithCodec(s.answers),
		// Most answers are a few hundred bytes: gzip costs more than it saves.
		connect.WithCompressMinBytes(4 << 10),
		connect.WithRecover(func(ctx context.Context, spec connect.Spec, _ http.Header, p any) error {
			logger.Error("handler panic", "procedure", spec.Procedure, "panic", p, "stack", string(debug.Stack()))
			return connect.NewError(connect.CodeInternal, errors.New("internal error"))
		}),
		connect.WithInterceptors(slices.Concat(extra, []connect.Interceptor{requestIDs(logger), logErrors(logger), newShedder(shed, leaderLag(node)).interceptor()})...),
	}
	mux := http.NewServeMux()
	mux.Handle(bookdv1connect.NewBookingServiceHandler(&BookingHandler{s: s}, opts...))
	mux.Handle(bookdv1connect.NewClusterServiceHandler(statusWithClock{&ClusterHandler{s: s}}, opts...))
	mux.Handle(bookdv1connect.NewQueueServiceHandler(&QueueHandler{s: s}, opts...))
	services := []string{bookdv1connect.BookingServiceName, bookdv1connect.ClusterServiceName, bookdv1connect.QueueServiceName}
	serveDiscovery(mux, services...)
	return withLeaderHeader(node, mux), s
}

// withLeaderHeader tells every caller where the leader is, and what time
// this node's clock reads (the other nodes measure their offsets by it);
// it also notes the node's first answered call (GetStatus first_served_at).
func withLeaderHeader(node *raftnode.Node, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, addr := node.Leader(); addr != "" {
			w.Header().Set(LeaderHeader, addr)
		}
		w.Header().Set(ClockHeader, strconv.FormatInt(node.Now(), 10))
		next.ServeHTTP(w, r)
		node.MarkServed()
	})
}

// logErrors logs calls that fail for a reason other than the caller's.
func logErrors(logger *slog.Logger) connect.UnaryInterceptorFunc {
	return func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			resp, err := next(ctx, req)
			if err != nil && ctx.Err() == nil { // not merely a caller that left
				switch code := connect.CodeOf(err); code {
				case connect.CodeInternal, connect.CodeUnknown, connect.CodeDataLoss:
					logger.Error("call failed", "request_id", RequestID(ctx), "procedure", req.Spec().Procedure, "code", code, "err", err)
				case connect.CodeUnavailable:
					logger.Debug("call unavailable", "request_id", RequestID(ctx), "procedure", req.Spec().Procedure, "err", err)
				}
			}
			return resp, err
		}
	}
}
