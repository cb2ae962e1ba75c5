package rpc

import (
	"context"
	"errors"
	"fmt"

	"connectrpc.com/connect"
	"github.com/bookd/bookd/fsm"
	"github.com/bookd/bookd/raftnode"
	"github.com/bookd/bookd/rpc/errdetail"
)

// ReasonHeader carries a refusal's machine-readable reason (fsm.Reason*).
// Every refusal also carries it, with metadata naming what it is about, in
// a google.rpc.ErrorInfo detail of domain ErrorDomain (see package
// internal/errdetail).
const ReasonHeader = errdetail.ReasonHeader

// ErrorDomain is the google.rpc.ErrorInfo domain of bookd's refusals.
const ErrorDomain = errdetail.Domain

// ReasonMemberRemoved: a node asked to add itself back after an operator
// removed it.
const ReasonMemberRemoved = "member_removed"

// toConnect maps an error from validation, the state machine, Raft or a
// forwarded call to the Connect error a client sees: a refusal with its
// details (errdetail.New), or a failure (UNAVAILABLE, INTERNAL, ...).
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
		return errdetail.New(fsmCode(fe.Code), errors.New(fe.Message), fe.Reason, fe.Metadata)
	}
	switch {
	case errors.Is(err, raftnode.ErrNotLeader):
		return connect.NewError(connect.CodeUnavailable, errors.New("this node is not the leader and no leader is known; retry"))
	case errors.Is(err, raftnode.ErrUnavailable):
		return connect.NewError(connect.CodeUnavailable, fmt.Errorf("cluster unavailable, the outcome is unknown; retry with the same idempotency_key: %v", err))
	case errors.Is(err, raftnode.ErrTooFewVoters):
		return errdetail.New(connect.CodeFailedPrecondition, err, "", nil)
	case errors.Is(err, raftnode.ErrRemoved):
		return errdetail.New(connect.CodeFailedPrecondition, err, ReasonMemberRemoved, nil)
	case errors.Is(err, raftnode.ErrUnknownMember):
		return errdetail.New(connect.CodeNotFound, err, "", nil)
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

// invalidArgument reports a bad field; msg starts with the field's name,
// which its BadRequest detail names.
func invalidArgument(format string, args ...any) error {
	return errdetail.New(connect.CodeInvalidArgument, fmt.Errorf(format, args...), "", nil)
}

// check turns a validation result into an error (nil stays nil: a typed nil
// *fsm.Error must not become a non-nil error).
func check(e *fsm.Error) error {
	if e == nil {
		return nil
	}
	return toConnect(e)
}
