package edge

import (
	"errors"
	"fmt"

	"connectrpc.com/connect"

	"github.com/bookd/bookd/client"
	"github.com/bookd/bookd/fsm"
	"github.com/bookd/bookd/rpc/errdetail"
)

// reasonHeader is the error metadata key of a refusal's reason, as nodes
// send it (client.Reason reads it).
const reasonHeader = errdetail.ReasonHeader

// ReasonAdmissionRequired: a hold on an event with a waiting room came
// without a valid admission token.
const ReasonAdmissionRequired = "ADMISSION_REQUIRED"

// relay passes a cluster's error on to the edge's caller: the same code,
// message, reason, retry-after hint and details (an ErrorInfo made from
// the reason where the cluster's answer, a batched write's, had none), and
// nothing else of the upstream response's headers.
func relay(err error) error {
	if err == nil {
		return nil
	}
	var ce *connect.Error
	if !errors.As(err, &ce) {
		return connect.NewError(connect.CodeUnavailable, fmt.Errorf("cluster: %w", err))
	}
	return errdetail.Copy(ce, reasonHeader, client.RetryAfterHeader, "Retry-After")
}

// invalid refuses a bad field; the message starts with the field's name,
// which its BadRequest detail names.
func invalid(format string, args ...any) error {
	return errdetail.New(connect.CodeInvalidArgument, fmt.Errorf(format, args...), "", nil)
}

// valid answers a request the state machine's own checks refuse (the same
// code, run here first, so nothing malformed reaches the cluster).
func valid(err *fsm.Error) error {
	if err == nil {
		return nil
	}
	return errdetail.New(connect.CodeInvalidArgument, errors.New(err.Message), err.Reason, err.Metadata)
}
