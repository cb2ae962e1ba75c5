package rpc

import (
	"context"
	"errors"
	"fmt"

	"connectrpc.com/connect"
	"github.com/bookd/bookd/fsm"
	"github.com/bookd/bookd/raftnode"
)

// ReasonHeader carries a refusal's machine-readable reason (fsm.Reason*).
const ReasonHeader = "Bookd-Reason"

// ReasonMemberRemoved: a node asked to add itself back after an operator
// removed it.
const ReasonMemberRemoved = "member_removed"

// toConnect maps an error from validation, the state machine, Raft or a
// forwarded call to the Connect error a client sees.
func toConnect(err error) error {
	if err == nil {
		return nil
	}
	var ce *connect.Error
	if errors.As(err, &ce) {
		return ce
	}
	var fe *fsm.Error
	if errors.As(err, &fe) {
		e := connect.NewError(fsmCode(fe.Code), errors.New(fe.Message))
		if fe.Reason != "" {
			e.Meta().Set(ReasonHeader, fe.Reason)
		}
		return e
	}
	switch {
	case errors.Is(err, raftnode.ErrNotLeader):
		return connect.NewError(connect.CodeUnavailable, errors.New("this node is not the leader and no leader is known; retry"))
	case errors.Is(err, raftnode.ErrUnavailable):
		return connect.NewError(connect.CodeUnavailable, fmt.Errorf("cluster unavailable, the outcome is unknown; retry with the same idempotency_key: %v", err))
	case errors.Is(err, raftnode.ErrTooFewVoters):
		return connect.NewError(connect.CodeFailedPrecondition, err)
	case errors.Is(err, raftnode.ErrRemoved):
		e := connect.NewError(connect.CodeFailedPrecondition, err)
		e.Meta().Set(ReasonHeader, ReasonMemberRemoved)
		return e
	case errors.Is(err, raftnode.ErrUnknownMember):
		return connect.NewError(connect.CodeNotFound, err)
	case errors.Is(err, context.DeadlineExceeded):
		return connect.NewError(connect.CodeDeadlineExceeded, err)
	case errors.Is(err, context.Canceled):
		return connect.NewError(connect.CodeCanceled, err)
	case errors.Is(err, fsm.ErrClosed):
		return connect.NewError(connect.CodeUnavailable, errors.New("node is shutting down"))
	}
	return connect.NewError(connect.CodeInternal, err)
}

func fsmCode(c fsm.Code) connect.Code {
	switch c {
	case fsm.CodeInvalidArgument:
		return connect.CodeInvalidArgument
	case fsm.CodeNotFound:
		return connect.CodeNotFound
	case fsm.CodeFailedPrecondition:
		return connect.CodeFailedPrecondition
	case fsm.CodeAlreadyExists:
		return connect.CodeAlreadyExists
	case fsm.CodeOutOfRange:
		return connect.CodeOutOfRange
	case fsm.CodePermissionDenied:
		return connect.CodePermissionDenied
	}
	return connect.CodeInternal
}

// invalidArgument reports a bad field; msg starts with the field's name.
func invalidArgument(format string, args ...any) error {
	return connect.NewError(connect.CodeInvalidArgument, fmt.Errorf(format, args...))
}

// check turns a validation result into an error (nil stays nil: a typed nil
// *fsm.Error must not become a non-nil error).
func check(e *fsm.Error) error {
	if e == nil {
		return nil
	}
	return toConnect(e)
}
