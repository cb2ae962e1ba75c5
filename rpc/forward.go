package rpc

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"connectrpc.com/connect"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/rpc/coalesce"
	"google.golang.org/protobuf/proto"
)

// Writes a follower forwards. Sent one call each, a frontend that books
// one booking per call (most do: the edge, a TypeScript page, a gRPC
// service) costs the leader an HTTP/2 call per booking when it happens to
// reach a follower. Instead a follower keeps one BatchWrite call out to the
// leader at a time; the writes that arrive while it is out leave together in
// the next (package coalesce), so a write sent alone costs the leader about
// what it costs inside a batch, and an idle follower adds no delay.
//
// What a single call loses on the way: its request id and trace context
// (the batch carries the forwarding node's), and the first-attempt mark a
// BatchWrite element may carry (a single call has none, so the leader lets
// the log answer it, as it would the single call).
const (
	// forwardBatchWrites bounds the writes of one forwarded batch.
	forwardBatchWrites = 512
	// forwardsInFlight is how many batches a follower keeps out to the
	// leader before writes wait to leave together.
	forwardsInFlight = 1
	// forwardTimeout bounds a forwarded batch whose callers set no deadline.
	forwardTimeout = 30 * time.Second
)

// writeForwarder sends a follower's writes to the leader in batches.
type writeForwarder = coalesce.Batcher[*bookdv1.Write, *bookdv1.WriteResult]

func newWriteForwarder(s *service) *writeForwarder {
	cfg := coalesce.Config{MaxItems: forwardBatchWrites, MaxInFlight: forwardsInFlight, Timeout: forwardTimeout}
	return coalesce.New(cfg, s.forwardWrites)
}

// forwardWrites sends writes to the leader as one BatchWrite call.
func (s *service) forwardWrites(ctx context.Context, writes []*bookdv1.Write) ([]*bookdv1.WriteResult, error) {
	fctx, p, err := s.leaderClient(ctx)
	if err != nil {
		return nil, shared(err)
	}
	resp, err := p.booking.BatchWrite(fctx, &bookdv1.BatchWriteRequest{Writes: writes})
	if err != nil {
		return nil, shared(relay(err))
	}
	return resp.GetResults(), nil
}

// shared readies an error that every write of a batch gets, and that each
// call copies (ownError) at once: connect allocates an error's metadata
// when it is first asked for, a write that must not happen while the
// calls read it.
func shared(err error) error {
	var ce *connect.Error
	if errors.As(err, &ce) {
		ce.Meta()
	}
	return err
}

// single runs one write call as a BatchWrite element: on the leader
// through writeBatch, from a follower with the other writes of the moment
// (after refusing bad input itself). pick selects the call's response from
// the result. A call marked as a first attempt (FirstAttemptHeader) is one,
// as a BatchWrite element may be.
func single[Resp proto.Message](ctx context.Context, s *service, w *bookdv1.Write, pick func(*bookdv1.WriteResult) Resp) (Resp, error) {
	var zero Resp
	w.FirstAttempt = markedFirstAttempt(ctx)
	var res *bookdv1.WriteResult
	if s.node.IsLeader() {
		res = s.writeBatch(ctx, []*bookdv1.Write{w}, false)[0]
	} else {
		if _, err := writeCommand(w); err != nil {
			return zero, toConnect(err)
		}
		if wasForwarded(ctx) {
			return zero, errForwardedToFollower()
		}
		var err error
		if res, err = s.forward.Do(ctx, w); err != nil {
			return zero, forwardError(ctx, err)
		}
	}
	if e := res.GetError(); e != nil {
		return zero, resultError(e)
	}
	resp := pick(res)
	if !resp.ProtoReflect().IsValid() {
		return zero, connect.NewError(connect.CodeInternal, fmt.Errorf("leader answered a %T for a %T", res.GetResult(), w.GetOp()))
	}
	return resp, nil
}

// forwardError is the error a call gets when its forwarded batch failed as
// a whole, or when the call's ctx ended first.
func forwardError(ctx context.Context, err error) error {
	var count *coalesce.CountError
	switch {
	case ctx.Err() != nil && errors.Is(err, ctx.Err()):
		return connect.NewError(contextCode(err), err)
	case errors.As(err, &count):
		return connect.NewError(connect.CodeInternal, fmt.Errorf("forward to leader: %w", err))
	}
	// Every write of the batch got this error: each call gets its own
	// copy, since interceptors add to an error's metadata.
	return ownError(err)
}

// resultError is a BatchWrite result's error as the single call returns it.
func resultError(e *bookdv1.WriteError) error {
	var code connect.Code
	if err := code.UnmarshalText([]byte(e.GetCode())); err != nil {
		code = connect.CodeInternal
	}
	out := connect.NewError(code, errors.New(e.GetMessage()))
	if e.GetReason() != "" {
		out.Meta().Set(ReasonHeader, e.GetReason())
	}
	return out
}

// ownError copies a *connect.Error, metadata included.
func ownError(err error) error {
	var ce *connect.Error
	if !errors.As(err, &ce) {
		return err
	}
	out := connect.NewError(ce.Code(), errors.New(ce.Message()))
	for k, v := range ce.Meta() {
		out.Meta()[k] = slices.Clone(v)
	}
	return out
}

func contextCode(err error) connect.Code {
	if errors.Is(err, context.DeadlineExceeded) {
		return connect.CodeDeadlineExceeded
	}
	return connect.CodeCanceled
}
