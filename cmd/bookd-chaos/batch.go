package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"connectrpc.com/connect"
	"github.com/bookd/bookd/cmd/bookd-chaos/history"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/proto/bookd/v1/bookdv1connect"
	"github.com/bookd/bookd/rpc"
)

// batchedWrite is one write sent through BatchWrite, and how to read its
// result into the history.
type batchedWrite struct {
	in   history.Input
	w    *bookdv1.Write // FirstAttempt is set per send
	pick func(*bookdv1.WriteResult) (history.Output, bool)
	onOK func(history.Output) // what the customer does once it is acknowledged; may be nil
}

// claim reports whether the write is a Hold or Book, which a leader may
// refuse without the log when marked first.
func (bw *batchedWrite) claim() bool { return bw.in.Kind == history.Hold || bw.in.Kind == history.Book }

// send is the write as one send carries it. Only the first send of a write
// is marked first: every later one, including those that resolve it after
// an unknown outcome, must let the log decide.
func (bw *batchedWrite) send(first bool) *bookdv1.Write {
	return &bookdv1.Write{Op: bw.w.Op, FirstAttempt: first}
}

// decode turns a write's result into what the client was told, with the
// error the single call would have returned (see classify).
func (bw *batchedWrite) decode(res *bookdv1.WriteResult) (history.Output, error) {
	if e := res.GetError(); e != nil {
		return history.Output{}, writeError(e)
	}
	out, ok := bw.pick(res)
	if !ok {
		return history.Output{}, connect.NewWireError(connect.CodeInternal,
			fmt.Errorf("BatchWrite answered a %T for a %T", res.GetResult(), bw.w.GetOp()))
	}
	return out, nil
}

// resend is the mutation that sends the write again, alone and not marked
// first, for a write left pending.
func (bw *batchedWrite) resend() mutation {
	return func(ctx context.Context, b bookdv1connect.BookingServiceClient) (history.Output, error) {
		resp, err := b.BatchWrite(ctx, &bookdv1.BatchWriteRequest{Writes: []*bookdv1.Write{bw.send(false)}})
		if err != nil {
			return history.Output{}, err
		}
		if n := len(resp.GetResults()); n != 1 {
			return history.Output{}, connect.NewWireError(connect.CodeInternal, fmt.Errorf("BatchWrite answered %d results for 1 write", n))
		}
		return bw.decode(resp.GetResults()[0])
	}
}

// writeError is a write's error as the node would have sent it for a
// single call: a wire error with its code and reason. An unknown code is
// CodeUnknown, an unknown outcome.
func writeError(e *bookdv1.WriteError) error {
	var code connect.Code
	if err := code.UnmarshalText([]byte(e.GetCode())); err != nil {
		code = connect.CodeUnknown
	}
	ce := connect.NewWireError(code, errors.New(e.GetMessage()))
	if e.GetReason() != "" {
		ce.Meta().Set(rpc.ReasonHeader, e.GetReason())
	}
	return ce
}

// batchAnswer is what attemptBatch learnt of one write: out is definite
// when ok; err is an answer no correct cluster gives.
type batchAnswer struct {
	out history.Output
	ok  bool
	err error
}

// attemptBatch sends writes in BatchWrite calls to nodes (first home, then
// others) until each has a definite answer or budget runs out, as attempt
// does for one write: the writes whose outcome is still unknown go again,
// together, to the next node. Only the first call marks them first
// attempts, so only its refusals may have been given without the log.
// Each answer's return time is when its call returned.
func attemptBatch(ctx context.Context, nc *nodeClients, rnd *rand.Rand, nodes []string, home int, budget time.Duration, writes []*batchedWrite) []batchAnswer {
	answers := make([]batchAnswer, len(writes))
	open := make([]int, len(writes)) // writes without a definite answer
	for i := range open {
		open[i] = i
	}
	deadline := time.Now().Add(budget)
	for try := 0; len(open) > 0 && ctx.Err() == nil && time.Now().Before(deadline); try++ {
		req := &bookdv1.BatchWriteRequest{}
		for _, i := range open {
			req.Writes = append(req.Writes, writes[i].send(try == 0))
		}
		addr := nodes[(home+try)%len(nodes)]
		cctx, cancel := context.WithTimeout(ctx, min(time.Second, time.Until(deadline)+time.Millisecond))
		resp, err := nc.booking(addr).BatchWrite(cctx, req)
		cancel()
		now := time.Now().UnixNano()
		if err == nil && len(resp.GetResults()) != len(open) {
			err = connect.NewWireError(connect.CodeInternal, fmt.Errorf("BatchWrite answered %d results for %d writes", len(resp.GetResults()), len(open)))
		}
		if a, _ := classify(err); err != nil && a != answerAmbiguous {
			// The call itself failed for good, which no correct node
			// does to a valid batch: every write gets that answer.
			for _, i := range open {
				answers[i].err = err
			}
			return answers
		}
		var still []int
		for j, i := range open {
			out, werr := history.Output{}, err
			if err == nil {
				out, werr = writes[i].decode(resp.GetResults()[j])
			}
			switch a, reason := classify(werr); a {
			case answerOK:
				out.Result, out.Return = history.OK, now
				answers[i] = batchAnswer{out: out, ok: true}
			case answerRefused:
				answers[i] = batchAnswer{ok: true, out: history.Output{
					Result: history.Refused, Reason: reason, Return: now, MaybeUnlogged: try == 0 && writes[i].claim(),
				}}
			case answerUnexpected:
				answers[i].err = werr
			default:
				still = append(still, i)
			}
		}
		open = still
		if len(open) > 0 {
			sleep(ctx, time.Duration(20+rnd.IntN(60))*time.Millisecond)
		}
	}
	for _, i := range open {
		answers[i].out = history.Output{Result: history.Unknown}
	}
	return answers
}
