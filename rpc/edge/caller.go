package edge

import (
	"context"
	"errors"
	"fmt"

	"connectrpc.com/connect"

	"github.com/bookd/bookd/rpc/edge/identity"
)

// caller is the customer a call through the edge acts for: the subject of
// the portal's signed token, or the guest of the edge's session cookie (see
// package identity). Every handler runs behind the identity middleware, so
// a call without one is a wiring bug, answered as unauthenticated.
func caller(ctx context.Context) (string, error) {
	id, ok := identity.FromContext(ctx)
	if !ok || id.CustomerID == "" {
		return "", connect.NewError(connect.CodeUnauthenticated, errors.New("no customer identity: send Authorization: Bearer <customer token> or keep the session cookie"))
	}
	return id.CustomerID, nil
}

// actAs binds a request's customer_id to the caller: empty, it becomes the
// caller's; anything else must be the caller's. A customer id the caller
// merely typed proves nothing, and would spend another customer's limits.
func actAs(ctx context.Context, given *string) (string, error) {
	me, err := caller(ctx)
	if err != nil {
		return "", err
	}
	switch *given {
	case "":
		*given = me
	case me:
	default:
		return "", connect.NewError(connect.CodePermissionDenied,
			fmt.Errorf("customer_id: a call through the edge acts for its caller only; leave customer_id empty or give the caller's"))
	}
	return me, nil
}
