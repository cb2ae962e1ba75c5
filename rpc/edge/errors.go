package edge

import (
	"errors"
	"fmt"

	"connectrpc.com/connect"

	"github.com/bookd/bookd/client"
	"github.com/bookd/bookd/fsm"
)

// reasonHeader is the error metadata key of a refusal's reason, as nodes
// send it (client.Reason reads it).
const reasonHeader = "Bookd-Reason"

// ReasonAdmissionRequired: a hold on an event with a waiting room came
// without a valid admission token.
const ReasonAdmissionRequired = "ADMISSION_REQUIRED"

// relay passes a cluster's error on to the edge's caller: the same code,
// message, reason and retry-after hint, and nothing else of the upstream
// response's headers.
func relay(err error) error {
	if err == nil {
		return nil
	}
	var ce *connect.Error
	if !errors.As(err, &ce) {
		return connect.NewError(connect.CodeUnavailable, fmt.Errorf("cluster: %w", err))
	}
	out := connect.NewError(ce.Code(), errors.New(ce.Message()))
	for _, k := range []string{reasonHeader, client.RetryAfterHeader, "Retry-After"} {
		if v := ce.Meta().Get(k); v != "" {
			out.Meta().Set(k, v)
		}
	}
	return out
}

func invalid(format string, args ...any) error {
	return connect.NewError(connect.CodeInvalidArgument, fmt.Errorf(format, args...))
}

// valid answers a request the state machine's own checks refuse (the same
// code, run here first, so nothing malformed reaches the cluster).
func valid(err *fsm.Error) error {
	if err == nil {
		return nil
	}
	return connect.NewError(connect.CodeInvalidArgument, errors.New(err.Message))
}
