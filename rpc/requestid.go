package rpc

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"time"

	"connectrpc.com/connect"
	"github.com/bookd/bookd/rpc/auth"
)

// RequestIDHeader carries a request's id. A client may send one (up to 128
// printable ASCII characters); otherwise the node that receives the call
// makes one. It is echoed in the response, sent along when the call is
// forwarded to the leader, and logged with every line about the request
// on both nodes.
const RequestIDHeader = "X-Request-Id"

const maxRequestIDLen = 128

type requestIDKey struct{}

// RequestID is the id of the request ctx belongs to, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// requestIDFrom takes the caller's id if it is acceptable, or makes one.
func requestIDFrom(sent string) string {
	if validRequestID(sent) {
		return sent
	}
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func validRequestID(s string) bool {
	if s == "" || len(s) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// requestIDs gives every call, unary or streaming, a request id, echoes it,
// and logs the call at debug level (with the caller's name, never a token).
func requestIDs(logger *slog.Logger) connect.Interceptor { return reqIDInterceptor{logger} }

type reqIDInterceptor struct{ log *slog.Logger }

func (i reqIDInterceptor) begin(ctx context.Context, sent string) (context.Context, string) {
	id := requestIDFrom(sent)
	return context.WithValue(ctx, requestIDKey{}, id), id
}

func (i reqIDInterceptor) done(ctx context.Context, procedure, forwardedBy string, start time.Time, err error) {
	if !i.log.Enabled(ctx, slog.LevelDebug) {
		return
	}
	attrs := []any{"request_id", RequestID(ctx), "procedure", procedure, "duration", time.Since(start)}
	if forwardedBy != "" {
		attrs = append(attrs, "forwarded_by", forwardedBy)
	}
	if p, ok := auth.PrincipalFrom(ctx); ok && p.Name != "" {
		attrs = append(attrs, "caller", p.Name)
	}
	code := "ok"
	if err != nil {
		code = connect.CodeOf(err).String()
	}
	i.log.Debug("request", append(attrs, "code", code)...)
}

func (i reqIDInterceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if req.Spec().IsClient {
			return next(ctx, req)
		}
		start := time.Now()
		ctx, id := i.begin(ctx, req.Header().Get(RequestIDHeader))
		resp, err := next(ctx, req)
		i.done(ctx, req.Spec().Procedure, req.Header().Get(forwardedHeader), start, err)
		switch {
		case resp != nil:
			resp.Header().Set(RequestIDHeader, id)
		case err != nil:
			if ce := asConnectError(err); ce != nil {
				ce.Meta().Set(RequestIDHeader, id)
			}
		}
		return resp, err
	}
}

func (i reqIDInterceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (i reqIDInterceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		start := time.Now()
		ctx, id := i.begin(ctx, conn.RequestHeader().Get(RequestIDHeader))
		conn.ResponseHeader().Set(RequestIDHeader, id)
		err := next(ctx, conn)
		i.done(ctx, conn.Spec().Procedure, conn.RequestHeader().Get(forwardedHeader), start, err)
		return err
	}
}

func asConnectError(err error) *connect.Error {
	ce, ok := err.(*connect.Error)
	if !ok {
		return nil
	}
	return ce
}
