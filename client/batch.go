package client

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"connectrpc.com/connect"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
)

// batcher sends the writes queued for one node in BatchWrite calls. While
// maxInFlight calls are out, writes that arrive wait and leave together when
// one returns (or at once, when they fill a batch of maxWrites). A lone write therefore goes at once, and
// under load batches grow with the load: no timer, no added latency.
type batcher struct {
	send        func(context.Context, *bookdv1.BatchWriteRequest) (*bookdv1.BatchWriteResponse, error)
	maxWrites   int
	maxInFlight int
	timeout     time.Duration // of one BatchWrite call

	mu       sync.Mutex
	queue    []*queuedWrite
	inFlight int
}

type queuedWrite struct {
	ctx  context.Context
	w    *bookdv1.Write
	done chan writeOutcome // buffered: the sender never blocks
}

type writeOutcome struct {
	res *bookdv1.WriteResult
	err error
}

// maxBatchWrites is the server's limit on writes per BatchWrite call.
const maxBatchWrites = 1000

// write queues w and waits for its result. A per-write error comes back as
// the *connect.Error the single call would have returned.
func (b *batcher) write(ctx context.Context, w *bookdv1.Write) (*bookdv1.WriteResult, error) {
	q := &queuedWrite{ctx: ctx, w: w, done: make(chan writeOutcome, 1)}
	b.mu.Lock()
	b.queue = append(b.queue, q)
	b.flushLocked()
	b.mu.Unlock()
	select {
	case o := <-q.done:
		if o.err != nil {
			return nil, o.err
		}
		if e := o.res.GetError(); e != nil {
			return nil, writeError(e)
		}
		return o.res, nil
	case <-ctx.Done():
		// As connect reports an attempt cut off by its context, so the
		// retry loop treats both paths alike.
		return nil, connect.NewError(contextCode(ctx.Err()), ctx.Err())
	}
}

func contextCode(err error) connect.Code {
	if errors.Is(err, context.DeadlineExceeded) {
		return connect.CodeDeadlineExceeded
	}
	return connect.CodeCanceled
}

// flushLocked starts calls while there is room for them, or a full batch.
func (b *batcher) flushLocked() {
	for len(b.queue) > 0 && (b.inFlight < b.maxInFlight || len(b.queue) >= b.maxWrites) {
		n := min(len(b.queue), b.maxWrites)
		batch := b.queue[:n:n]
		b.queue = append([]*queuedWrite(nil), b.queue[n:]...)
		b.inFlight++
		go b.sendBatch(batch)
	}
}

func (b *batcher) sendBatch(batch []*queuedWrite) {
	defer func() {
		b.mu.Lock()
		b.inFlight--
		b.flushLocked()
		b.mu.Unlock()
	}()
	req := &bookdv1.BatchWriteRequest{Writes: make([]*bookdv1.Write, 0, len(batch))}
	live := batch[:0:0]
	for _, q := range batch {
		if q.ctx.Err() != nil {
			continue // its caller has gone: send nothing for it
		}
		req.Writes = append(req.Writes, q.w)
		live = append(live, q)
	}
	if len(live) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), b.timeout)
	defer cancel()
	resp, err := b.send(ctx, req)
	if err == nil && len(resp.GetResults()) != len(live) {
		err = connect.NewError(connect.CodeInternal,
			fmt.Errorf("client: BatchWrite answered %d results for %d writes", len(resp.GetResults()), len(live)))
	}
	for i, q := range live {
		if err != nil {
			q.done <- writeOutcome{err: err}
		} else {
			q.done <- writeOutcome{res: resp.GetResults()[i]}
		}
	}
}

// writeError rebuilds a write's error as the node would have sent it for a
// single call: a wire error with its code and reason.
func writeError(e *bookdv1.WriteError) error {
	var code connect.Code
	if err := code.UnmarshalText([]byte(e.GetCode())); err != nil {
		code = connect.CodeUnknown
	}
	ce := connect.NewWireError(code, errors.New(e.GetMessage()))
	if e.GetReason() != "" {
		ce.Meta().Set(reasonHeader, e.GetReason())
	}
	return ce
}

// batched sends one write through the node's batcher and returns its typed
// response; pick selects it from the result.
func batched[Res any](ctx context.Context, cn *conn, w *bookdv1.Write, pick func(*bookdv1.WriteResult) *Res) (*Res, error) {
	// A first attempt may be refused without the log; a retry must not be,
	// as the earlier attempt may still be applied.
	w.FirstAttempt = firstAttempt(ctx)
	res, err := cn.batch.write(ctx, w)
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
