package client

import (
	"context"
	"errors"
	"fmt"
	"time"

	"connectrpc.com/connect"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/rpc/coalesce"
	"github.com/bookd/bookd/rpc/errdetail"
)

// batcher sends the writes queued for one node in BatchWrite calls (see
// package coalesce): a lone write goes at once, and under load batches grow
// with the load, with no timer and no added latency.
type batcher = coalesce.Batcher[*bookdv1.Write, *bookdv1.WriteResult]

// newBatcher sends a node's writes through send, up to maxWrites a call and
// maxInFlight calls at once; a call whose writes have no deadline lasts at
// most timeout.
func newBatcher(send func(context.Context, *bookdv1.BatchWriteRequest) (*bookdv1.BatchWriteResponse, error),
	maxWrites, maxInFlight int, timeout time.Duration) *batcher {
	cfg := coalesce.Config{MaxItems: maxWrites, MaxInFlight: maxInFlight, Timeout: timeout}
	return coalesce.New(cfg, func(ctx context.Context, ws []*bookdv1.Write) ([]*bookdv1.WriteResult, error) {
		resp, err := send(ctx, &bookdv1.BatchWriteRequest{Writes: ws})
		if err != nil {
			return nil, err
		}
		return resp.GetResults(), nil
	})
}

// maxBatchWrites is the server's limit on writes per BatchWrite call.
const maxBatchWrites = 1000

// batchWrite queues w and waits for its result. A per-write error comes back
// as the *connect.Error the single call would have returned.
func batchWrite(ctx context.Context, b *batcher, w *bookdv1.Write) (*bookdv1.WriteResult, error) {
	res, err := b.Do(ctx, w)
	var count *coalesce.CountError
	switch {
	case err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()):
		// As connect reports an attempt cut off by its context, so the
		// retry loop treats both paths alike.
		return nil, connect.NewError(contextCode(err), err)
	case errors.As(err, &count):
		return nil, connect.NewError(connect.CodeInternal, fmt.Errorf("client: BatchWrite: %w", err))
	case err != nil:
		return nil, err
	}
	if e := res.GetError(); e != nil {
		return nil, writeError(e)
	}
	return res, nil
}

func contextCode(err error) connect.Code {
	if errors.Is(err, context.DeadlineExceeded) {
		return connect.CodeDeadlineExceeded
	}
	return connect.CodeCanceled
}

// writeError rebuilds a write's error as the node would have sent it for a
// single call: a wire error with its code and reason.
func writeError(e *bookdv1.WriteError) error {
	var code connect.Code
	if err := code.UnmarshalText([]byte(e.GetCode())); err != nil {
		code = connect.CodeUnknown
	}
	return errdetail.Describe(connect.NewWireError(code, errors.New(e.GetMessage())), e.GetReason(), e.GetMetadata())
}

// batched sends one write through the node's batcher and returns its typed
// response; pick selects it from the result.
func batched[Res any](ctx context.Context, cn *conn, w *bookdv1.Write, pick func(*bookdv1.WriteResult) *Res) (*Res, error) {
	// A first attempt may be refused without the log; a retry must not be,
	// as the earlier attempt may still be applied.
	w.FirstAttempt = firstAttempt(ctx)
	res, err := batchWrite(ctx, cn.batch, w)
	if err != nil {
		return nil, err
	}
	if r := pick(res); r != nil {
		return r, nil
	}
	return nil, connect.NewError(connect.CodeInternal, fmt.Errorf("client: BatchWrite answered a %T for a %T", res.GetResult(), w.GetOp()))
}

func (cn *conn) batchedHold(ctx context.Context, req *bookdv1.HoldRequest) (*bookdv1.HoldResponse, error) {
	return batched(ctx, cn, &bookdv1.Write{Op: &bookdv1.Write_Hold{Hold: req}}, (*bookdv1.WriteResult).GetHold)
}

func (cn *conn) batchedConfirm(ctx context.Context, req *bookdv1.ConfirmRequest) (*bookdv1.ConfirmResponse, error) {
	return batched(ctx, cn, &bookdv1.Write{Op: &bookdv1.Write_Confirm{Confirm: req}}, (*bookdv1.WriteResult).GetConfirm)
}

func (cn *conn) batchedReleaseHold(ctx context.Context, req *bookdv1.ReleaseHoldRequest) (*bookdv1.ReleaseHoldResponse, error) {
	return batched(ctx, cn, &bookdv1.Write{Op: &bookdv1.Write_ReleaseHold{ReleaseHold: req}}, (*bookdv1.WriteResult).GetReleaseHold)
}

func (cn *conn) batchedBook(ctx context.Context, req *bookdv1.BookRequest) (*bookdv1.BookResponse, error) {
	return batched(ctx, cn, &bookdv1.Write{Op: &bookdv1.Write_Book{Book: req}}, (*bookdv1.WriteResult).GetBook)
}

func (cn *conn) batchedCancelBooking(ctx context.Context, req *bookdv1.CancelBookingRequest) (*bookdv1.CancelBookingResponse, error) {
	return batched(ctx, cn, &bookdv1.Write{Op: &bookdv1.Write_CancelBooking{CancelBooking: req}}, (*bookdv1.WriteResult).GetCancelBooking)
}

func (cn *conn) batchedExtendHold(ctx context.Context, req *bookdv1.ExtendHoldRequest) (*bookdv1.ExtendHoldResponse, error) {
	return batched(ctx, cn, &bookdv1.Write{Op: &bookdv1.Write_ExtendHold{ExtendHold: req}}, (*bookdv1.WriteResult).GetExtendHold)
}
