package client

import (
	"errors"
	"strconv"
	"time"

	"connectrpc.com/connect"
	"github.com/bookd/bookd/rpc/errdetail"
)

// RetryAfterHeader carries, on a RESOURCE_EXHAUSTED refusal from a node or an
// edge, how many milliseconds the caller should wait before trying again.
const RetryAfterHeader = "Bookd-Retry-After-Ms"

// RetryAfter returns the wait a node or edge asked for when it refused a
// call as overloaded (RESOURCE_EXHAUSTED), from its RetryInfo detail or its
// Bookd-Retry-After-Ms header, or 0 when err carries no such hint. The
// Client does not retry such refusals itself: shedding load means the
// caller backs off.
func RetryAfter(err error) time.Duration {
	var ce *connect.Error
	if !errors.As(err, &ce) || ce.Code() != connect.CodeResourceExhausted {
		return 0
	}
	if d, ok := errdetail.RetryDelay(ce); ok && d >= 0 {
		return d
	}
	ms, perr := strconv.ParseInt(ce.Meta().Get(RetryAfterHeader), 10, 64)
	if perr != nil || ms < 0 {
		return 0
	}
	return time.Duration(ms) * time.Millisecond
}

// Overloaded returns the RESOURCE_EXHAUSTED error a server sends when it
// sheds a call, with retryAfter as the hint RetryAfter reads: in a
// google.rpc.RetryInfo detail and the Bookd-Retry-After-Ms header (also
// set as the standard Retry-After header, in whole seconds, for HTTP
// clients).
func Overloaded(msg string, retryAfter time.Duration) *connect.Error {
	return OverloadedBecause("", msg, retryAfter)
}

// OverloadedBecause is Overloaded with a reason (its ErrorInfo's and the
// Bookd-Reason header), for a refusal a caller may branch on.
func OverloadedBecause(reason, msg string, retryAfter time.Duration) *connect.Error {
	e := errdetail.New(connect.CodeResourceExhausted, errors.New(msg), reason, nil)
	ms := max(retryAfter.Milliseconds(), 1)
	errdetail.Retry(e, time.Duration(ms)*time.Millisecond)
	e.Meta().Set(RetryAfterHeader, strconv.FormatInt(ms, 10))
	e.Meta().Set("Retry-After", strconv.FormatInt((ms+999)/1000, 10))
	return e
}
