package rpc

import (
	"errors"
	"testing"

	"connectrpc.com/connect"
)

// An error the leader did not send, such as a proxy or a broken connection
// answering "400 Bad Request", leaves the outcome unknown: the follower
// must say UNAVAILABLE so that clients retry with the same key, not INTERNAL.
func TestRelayMakesTransportFailuresRetryable(t *testing.T) {
	for _, err := range []error{
		connect.NewError(connect.CodeInternal, errors.New("400 Bad Request")),
		connect.NewError(connect.CodeUnknown, errors.New("unexpected EOF")),
		errors.New("dial tcp: connection refused"),
	} {
		if got := connect.CodeOf(relay(err)); got != connect.CodeUnavailable {
			t.Errorf("relay(%v) = %v, want unavailable", err, got)
		}
	}
}
