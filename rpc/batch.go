package rpc

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"connectrpc.com/connect"
	"github.com/bookd/bookd/fsm"
	fsmv1 "github.com/bookd/bookd/proto/bookd/fsm/v1"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/rpc/errdetail"
	"google.golang.org/protobuf/proto"
)

// MaxBatchWrites bounds the writes of one BatchWrite call.
const MaxBatchWrites = 1000

// BatchWrite runs each write as the single call would, in the order given,
// proposing them at once so that Raft carries them in the same appends. A
// follower forwards the whole batch to the leader.
//
// Order: no write enters the log before an earlier one of the batch. First
// attempts of claims that the state already refuses for good may be
// answered without the log (see refuseOrPropose); such a claim is checked
// after the writes before the first such candidate are applied, and only
// when none of the writes between could change its answer (no
// cancel_booking in the batch, no earlier claim of the same customer at the
// same event), so its answer is the one it would get in its place.
func (h *BookingHandler) BatchWrite(ctx context.Context, req *bookdv1.BatchWriteRequest) (*bookdv1.BatchWriteResponse, error) {
	if n := len(req.GetWrites()); n == 0 || n > MaxBatchWrites {
		return nil, invalidArgument("writes: must hold 1 to %d writes, got %d", MaxBatchWrites, n)
	}
	if !h.s.node.IsLeader() {
		return toLeader(ctx, h.s, func(ctx context.Context, p *peer) (*bookdv1.BatchWriteResponse, error) {
			return p.booking.BatchWrite(ctx, req)
		})
	}
	writes := req.GetWrites()
	out := newWriteResults(len(writes))
	cmds := make([]*fsm.Command, len(writes))
	for i, w := range writes {
		cmd, err := writeCommand(w)
		if err != nil {
			out.fail(i, err)
			e := out.results[i].GetError()
			e.Message = fmt.Sprintf("writes[%d].%s", i, e.Message)
			continue
		}
		cmds[i] = cmd
	}
	h.s.writeBatch(ctx, writes, cmds, out)
	return &bookdv1.BatchWriteResponse{Results: out.results}, nil
}

// writeResults are a batch's answers: the results as BatchWrite returns
// them and, for each write refused, its Connect error with the details
// (ErrorInfo metadata, BadRequest) that a WriteError does not carry; a
// single call the leader queued (singlewrites.go) answers with that.
type writeResults struct {
	results []*bookdv1.WriteResult
	errs    []*connect.Error
}

func newWriteResults(n int) writeResults {
	return writeResults{results: make([]*bookdv1.WriteResult, n), errs: make([]*connect.Error, n)}
}

// fail records that write i was refused, or failed, with err.
func (w writeResults) fail(i int, err error) {
	var ce *connect.Error
	if !errors.As(toConnect(err), &ce) {
		ce = connect.NewError(connect.CodeInternal, err)
	}
	w.results[i], w.errs[i] = &bookdv1.WriteResult{Result: &bookdv1.WriteResult_Error{Error: &bookdv1.WriteError{
		Code: ce.Code().String(), Reason: ce.Meta().Get(ReasonHeader), Message: ce.Message(),
		Metadata: errdetail.Info(ce).GetMetadata(),
	}}}, ce
}

// answer records write i's response from the state machine.
func (w writeResults) answer(i int, m proto.Message) {
	if r := writeResponse(m); r != nil {
		w.results[i] = r
		return
	}
	w.fail(i, connect.NewError(connect.CodeInternal, fmt.Errorf("state machine answered %T", m)))
}

// writeBatch runs writes on this node, the leader, as BatchWrite describes,
// filling in out. cmds[i] is write i's command (writeCommand), or nil when
// out already holds its refusal.
func (s *service) writeBatch(ctx context.Context, writes []*bookdv1.Write, cmds []*fsm.Command, out writeResults) {
	var firsts []int // valid first attempts that may be refused early
	cancels := false
	claimed := map[claimant]bool{} // who claimed at which event, so far
	var who []claimant             // reused: a write's claimants
	for i, w := range writes {
		if cmds[i] == nil {
			continue
		}
		who = claimantsOf(w, who[:0])
		// An earlier claim of the customer at the event may change the
		// answer (the event's per-customer limit): the log decides.
		if w.GetFirstAttempt() && len(who) == 1 && !claimed[who[0]] {
			firsts = append(firsts, i)
		}
		for _, c := range who {
			claimed[c] = true
		}
		if w.GetCancelBooking() != nil {
			cancels = true
		}
	}
	if cancels {
		// A cancellation is the one write that can lift a certain refusal.
		firsts = nil
	}
	// A first look, without a barrier, picks the claims worth a second.
	maybe := make([]bool, len(cmds))
	if len(firsts) > 0 {
		for j, refusal := range s.node.FSM().SoldFor(pick(cmds, firsts)) {
			maybe[firsts[j]] = refusal != nil
		}
	}
	from := slices.Index(maybe, true)
	if from < 0 {
		s.proposeWrites(ctx, cmds, valid(cmds, 0, len(cmds)), out)
		return
	}
	// The writes before the first candidate go at once; the rest wait for
	// them, so that none overtakes them in the log.
	prefix := valid(cmds, 0, from)
	applied := s.proposeWrites(ctx, cmds, prefix, out)
	s.refuseOrPropose(ctx, cmds, from, maybe, len(prefix) > 0 && applied, out)
}

// claimant is a customer at an event.
type claimant struct{ event, customer string }

// claimantsOf appends to who the customer a Hold or Book write claims for
// at each of its events (an order's items may be on several); another
// write appends nothing.
func claimantsOf(w *bookdv1.Write, who []claimant) []claimant {
	var customer, event string
	var items []*bookdv1.HoldItem
	switch op := w.GetOp().(type) {
	case *bookdv1.Write_Hold:
		customer, event, items = op.Hold.GetCustomerId(), op.Hold.GetEventId(), op.Hold.GetItems()
	case *bookdv1.Write_Book:
		customer, event, items = op.Book.GetCustomerId(), op.Book.GetEventId(), op.Book.GetItems()
	default:
		return who
	}
	if len(items) == 0 {
		return append(who, claimant{event, customer})
	}
	for _, it := range items {
		who = append(who, claimant{it.GetEventId(), customer})
	}
	return who
}

// valid returns the positions from from to to (exclusive) that hold a
// command.
func valid(cmds []*fsm.Command, from, to int) []int {
	var at []int
	for i := from; i < to; i++ {
		if cmds[i] != nil {
			at = append(at, i)
		}
	}
	return at
}

// proposeWrites proposes the commands at positions at, in that order, and
// fills in their answers. It reports whether the state machine applied
// every one of them (refusals included): this leader's state then holds
// every write acknowledged before they were proposed.
func (s *service) proposeWrites(ctx context.Context, cmds []*fsm.Command, at []int, out writeResults) bool {
	if len(at) == 0 {
		return true
	}
	applied := true
	outs, errs := s.node.ProposeMany(ctx, pick(cmds, at))
	for j, i := range at {
		switch {
		case errs[j] != nil:
			out.fail(i, errs[j])
			applied = false
		case outs[j].Err != nil:
			out.fail(i, outs[j].Err)
		default:
			out.answer(i, outs[j].Response)
		}
	}
	return applied
}

// refuseOrPropose runs the writes from position from on, where the first
// claim that the local state may refuse for good is (maybe marks those).
// Once the state holds every write acknowledged before this call (current
// says it does, having just applied the batch's writes before from;
// otherwise after a read barrier) it answers the candidates still refused
// there, without replicating them, and proposes the rest in order. On a
// hot event most attempts are refused; this keeps them off the log.
func (s *service) refuseOrPropose(ctx context.Context, cmds []*fsm.Command, from int, maybe []bool, current bool, out writeResults) {
	rest := valid(cmds, from, len(cmds))
	if !current {
		if err := s.node.ReadBarrier(ctx); err != nil {
			s.proposeWrites(ctx, cmds, rest, out) // let the log decide
			return
		}
	}
	var check []int
	for _, i := range rest {
		if maybe[i] {
			check = append(check, i)
		}
	}
	refused := make(map[int]bool, len(check))
	for j, refusal := range s.node.FSM().CertainRefusals(pick(cmds, check)) {
		if refusal != nil {
			out.fail(check[j], refusal)
			refused[check[j]] = true
		}
	}
	propose := slices.DeleteFunc(rest, func(i int) bool { return refused[i] })
	s.proposeWrites(ctx, cmds, propose, out)
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

// writeResponse is the result of a write the state machine answered with
// m, or nil for an answer no write has.
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
	return nil
}
