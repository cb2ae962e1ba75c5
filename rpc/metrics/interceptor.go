package metrics

import (
	"context"
	"strings"
	"time"

	"connectrpc.com/connect"
)

// ForwardedHeader is the header a node sets on a call it forwards to the
// leader (rpc's forwarding marks calls with it).
const ForwardedHeader = "Bookd-Forwarded-By"

// Interceptor times every call, unary or streaming, into
// bookd_rpc_duration_seconds.
func (m *Metrics) Interceptor() connect.Interceptor { return interceptor{m} }

type interceptor struct{ m *Metrics }

func (i interceptor) observe(procedure string, forwarded bool, start time.Time, err error) {
	code := "ok"
	if err != nil {
		code = connect.CodeOf(err).String()
	}
	fw := "false"
	if forwarded {
		fw = "true"
	}
	i.m.rpc.WithLabelValues(strings.TrimPrefix(procedure, "/"), code, fw).Observe(time.Since(start).Seconds())
}

func (i interceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		start := time.Now()
		resp, err := next(ctx, req)
		if !req.Spec().IsClient {
			i.observe(req.Spec().Procedure, req.Header().Get(ForwardedHeader) != "", start, err)
		}
		return resp, err
	}
}

func (i interceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (i interceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		start := time.Now()
		err := next(ctx, conn)
		i.observe(conn.Spec().Procedure, conn.RequestHeader().Get(ForwardedHeader) != "", start, err)
		return err
	}
}
