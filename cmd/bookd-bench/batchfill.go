package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"connectrpc.com/connect"

	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
)

// batchFill books one ticket at a time on event until it holds want
// bookings more than it did, as a bulk loader calling the nodes' API
// directly would: BatchWrite calls of size bookings each, from callers
// concurrent callers, each call to the next node round-robin (a follower
// forwards it). A call that goes unanswered is sent again whole, with the
// same idempotency keys.
func batchFill(ctx context.Context, t *connectTarget, event string, want int64, size, callers int, progress io.Writer) error {
	run := fmt.Sprintf("bfill-%d", time.Now().UnixNano())
	return fillRun(ctx, want, callers, int64(size), progress, func(ctx context.Context, c int, first, last int64) error {
		customer := fmt.Sprintf("%s-c%d", run, c)
		req := &bookdv1.BatchWriteRequest{}
		for n := first; n <= last; n++ {
			key := fmt.Sprintf("%s-%d", run, n)
			req.Writes = append(req.Writes, &bookdv1.Write{Op: &bookdv1.Write_Book{Book: &bookdv1.BookRequest{
				EventId: event, CustomerId: customer, Quantity: 1, IdempotencyKey: key, PaymentRef: paymentRef(key)}}})
		}
		return t.batchWrite(ctx, req)
	})
}

// batchWrite sends req to the next node, again (whole, to the node after)
// while the call or one of its writes is unavailable, and fails on the
// first write the batch refused for good.
func (t *connectTarget) batchWrite(ctx context.Context, req *bookdv1.BatchWriteRequest) error {
	return t.retry(ctx, func(ctx context.Context, _ bool) error {
		res, err := t.node().BatchWrite(ctx, req)
		if err != nil {
			return err
		}
		for i, r := range res.GetResults() {
			if e := r.GetError(); e != nil {
				var code connect.Code
				if code.UnmarshalText([]byte(e.GetCode())) != nil {
					code = connect.CodeUnknown
				}
				return connect.NewError(code, fmt.Errorf("write %d: %s %s", i, e.GetReason(), e.GetMessage()))
			}
		}
		return nil
	})
}
