package identity

import (
	"context"
	"errors"
	"fmt"
)

// Identity is who a call acts for: exactly one customer.
type Identity struct {
	// CustomerID is the customer the call acts for: a verified token's sub,
	// or an edge-issued guest id starting with GuestPrefix.
	CustomerID string
	// Guest reports that CustomerID came from a guest session cookie
	// rather than from a portal's signed token.
	Guest bool
}

// GuestPrefix starts every guest customer id. It is reserved: a token whose
// sub starts with it, in any letter case, is refused.
const GuestPrefix = "guest_"

// ErrUnauthenticated is what every refused credential matches with
// errors.Is: a malformed, unsigned, expired or otherwise unacceptable
// bearer token. The error's message says why, without repeating the token.
// Callers answer it with UNAUTHENTICATED (HTTP 401); any other error from
// this package is the edge's own fault.
var ErrUnauthenticated = errors.New("identity: unauthenticated")

// authError is a refused credential and the reason, safe to show the caller.
type authError struct{ reason string }

func (e *authError) Error() string        { return ErrUnauthenticated.Error() + ": " + e.reason }
func (e *authError) Is(target error) bool { return target == ErrUnauthenticated }

// refuse returns an authError; its arguments must never hold token text.
func refuse(format string, args ...any) error {
	return &authError{reason: fmt.Sprintf(format, args...)}
}

type contextKey struct{}

// NewContext returns a copy of ctx that carries id.
func NewContext(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, contextKey{}, id)
}

// FromContext returns the identity NewContext (or Middleware) stored in
// ctx, and whether there was one.
func FromContext(ctx context.Context) (Identity, bool) {
	id, ok := ctx.Value(contextKey{}).(Identity)
	return id, ok
}
