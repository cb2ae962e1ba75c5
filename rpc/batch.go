package rpc

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"connectrpc.com/connect"
	"github.com/bookd/bookd/fsm"
	fsmv1 "github.com/bookd/bookd/proto/bookd/fsm/v1"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"google.golang.org/protobuf/proto"
)

// MaxBatchWrites bounds the writes of one BatchWrite call.
const MaxBatchWrites = 1000

// BatchWrite runs each write as the single call would, proposing them all
// at once so that Raft carries them in the same appends. A follower
// forwards the whole batch to the leader. First attempts of claims that the
// state already refuses for good are answered without the log (see
// refuseOrPropose).
func (h *BookingHandler) BatchWrite(ctx context.Context, req *bookdv1.BatchWriteRequest) (*bookdv1.BatchWriteResponse, error) {
	if n := len(req.GetWrites()); n == 0 || n > MaxBatchWrites {
		return nil, invalidArgument("writes: must hold 1 to %d writes, got %d", MaxBatchWrites, n)
	}
	if !h.s.node.IsLeader() {
		return toLeader(ctx, h.s, func(ctx context.Context, p *peer) (*bookdv1.BatchWriteResponse, error) {
			return p.booking.BatchWrite(ctx, req)
		})
	}
	results := make([]*bookdv1.WriteResult, len(req.GetWrites()))
	cmds := make([]*fsm.Command, len(req.GetWrites()))
	var firsts []int // valid first attempts
	cancels := false
	for i, w := range req.GetWrites() {
		cmd, err := writeCommand(w)
		if err != nil {
			results[i] = writeError(err)
			e := results[i].GetError()
			e.Message = fmt.Sprintf("writes[%d].%s", i, e.Message)
			continue
		}
		cmds[i] = cmd
		if w.GetFirstAttempt() {
			firsts = append(firsts, i)
		}
		if w.GetCancelBooking() != nil {
			cancels = true
		}
	}
	if cancels {
		// A cancellation is the one write that can lift a certain refusal;
		// an early refusal is not ordered with the batch's other writes.
		firsts = nil
	}
	// A first look, without a barrier, picks the claims worth a second.
	maybe := make([]bool, len(cmds))
	if len(firsts) > 0 {
		for j, refusal := range h.s.node.FSM().SoldFor(pick(cmds, firsts)) {
			maybe[firsts[j]] = refusal != nil
		}
	}
	var propose, maybeRefused []int
	for i, cmd := range cmds {
		switch {
		case cmd == nil:
		case maybe[i]:
			maybeRefused = append(maybeRefused, i)
		default:
			propose = append(propose, i)
		}
	}
	var wg sync.WaitGroup
	wg.Go(func() { h.proposeWrites(ctx, cmds, propose, results) })
	if len(maybeRefused) > 0 {
		h.refuseOrPropose(ctx, cmds, maybeRefused, results)
	}
	wg.Wait()
	return &bookdv1.BatchWriteResponse{Results: results}, nil
}

// proposeWrites proposes the commands at positions at and fills in their
// results.
func (h *BookingHandler) proposeWrites(ctx context.Context, cmds []*fsm.Command, at []int, results []*bookdv1.WriteResult) {
	if len(at) == 0 {
		return
	}
	outs, errs := h.s.node.ProposeMany(ctx, pick(cmds, at))
	for j, i := range at {
		switch {
		case errs[j] != nil:
			results[i] = writeError(errs[j])
		case outs[j].Err != nil:
			results[i] = writeError(outs[j].Err)
		default:
			results[i] = writeResponse(outs[j].Response)
		}
	}
}

// refuseOrPropose answers first attempts of claims that the local state
// refuses: after a read barrier (so that the state holds every write
// acknowledged before this call) it refuses those still refused there,
// without replicating them, and proposes the rest. On a hot event most
// attempts are refused; this keeps them off the log.
func (h *BookingHandler) refuseOrPropose(ctx context.Context, cmds []*fsm.Command, at []int, results []*bookdv1.WriteResult) {
	if err := h.s.node.ReadBarrier(ctx); err != nil {
		h.proposeWrites(ctx, cmds, at, results) // let the log decide
		return
	}
	var rest []int
	for j, refusal := range h.s.node.FSM().CertainRefusals(pick(cmds, at)) {
		if refusal != nil {
			results[at[j]] = writeError(refusal)
		} else {
			rest = append(rest, at[j])
		}
	}
	h.proposeWrites(ctx, cmds, rest, results)
}

// pick returns the commands at positions at.
func pick(cmds []*fsm.Command, at []int) []*fsm.Command {
	out := make([]*fsm.Command, len(at))
	for j, i := range at {
		out[j] = cmds[i]
	}
	return out
}

// writeCommand validates one write and makes its command.
func writeCommand(w *bookdv1.Write) (*fsm.Command, error) {
	var req proto.Message
	var bad *fsm.Error
	cmd := &fsm.Command{}
	switch op := w.GetOp().(type) {
	case *bookdv1.Write_Hold:
		req, bad, cmd.Op = op.Hold, fsm.ValidateHold(op.Hold), &fsmv1.Command_Hold{Hold: op.Hold}
	case *bookdv1.Write_Confirm:
		req, bad, cmd.Op = op.Confirm, fsm.ValidateConfirm(op.Confirm), &fsmv1.Command_Confirm{Confirm: op.Confirm}
	case *bookdv1.Write_ReleaseHold:
		req, bad, cmd.Op = op.ReleaseHold, fsm.ValidateReleaseHold(op.ReleaseHold), &fsmv1.Command_ReleaseHold{ReleaseHold: op.ReleaseHold}
	case *bookdv1.Write_Book:
		req, bad, cmd.Op = op.Book, fsm.ValidateBook(op.Book), &fsmv1.Command_Book{Book: op.Book}
	case *bookdv1.Write_CancelBooking:
		req, bad, cmd.Op = op.CancelBooking, fsm.ValidateCancelBooking(op.CancelBooking), &fsmv1.Command_CancelBooking{CancelBooking: op.CancelBooking}
	case *bookdv1.Write_ExtendHold:
		req, bad, cmd.Op = op.ExtendHold, fsm.ValidateExtendHold(op.ExtendHold), &fsmv1.Command_ExtendHold{ExtendHold: op.ExtendHold}
	default:
		return nil, invalidArgument("op: no write given")
	}
	if bad != nil {
		return nil, bad
	}
	cmd.RequestHash = fsm.RequestHash(req)
	cmd.FirstAttempt = w.GetFirstAttempt()
	return cmd, nil
}

func writeResponse(m proto.Message) *bookdv1.WriteResult {
	switch r := m.(type) {
	case *bookdv1.HoldResponse:
		return &bookdv1.WriteResult{Result: &bookdv1.WriteResult_Hold{Hold: r}}
	case *bookdv1.ConfirmResponse:
		return &bookdv1.WriteResult{Result: &bookdv1.WriteResult_Confirm{Confirm: r}}
	case *bookdv1.ReleaseHoldResponse:
		return &bookdv1.WriteResult{Result: &bookdv1.WriteResult_ReleaseHold{ReleaseHold: r}}
	case *bookdv1.BookResponse:
		return &bookdv1.WriteResult{Result: &bookdv1.WriteResult_Book{Book: r}}
	case *bookdv1.CancelBookingResponse:
		return &bookdv1.WriteResult{Result: &bookdv1.WriteResult_CancelBooking{CancelBooking: r}}
	case *bookdv1.ExtendHoldResponse:
		return &bookdv1.WriteResult{Result: &bookdv1.WriteResult_ExtendHold{ExtendHold: r}}
	}
	return writeError(connect.NewError(connect.CodeInternal, fmt.Errorf("state machine answered %T", m)))
}

// writeError is the error a single call would have returned, as a result.
func writeError(err error) *bookdv1.WriteResult {
	var ce *connect.Error
	if !errors.As(toConnect(err), &ce) {
		ce = connect.NewError(connect.CodeInternal, err)
	}
	return &bookdv1.WriteResult{Result: &bookdv1.WriteResult_Error{Error: &bookdv1.WriteError{
		Code: ce.Code().String(), Reason: ce.Meta().Get(ReasonHeader), Message: ce.Message(),
	}}}
}
