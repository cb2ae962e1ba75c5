package edge

import (
	"context"
	"fmt"

	"connectrpc.com/connect"

	"github.com/bookd/bookd/client"
	"github.com/bookd/bookd/fsm"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"google.golang.org/protobuf/proto"
)

// Objects belong to someone. A hold, booking or waitlist entry answers,
// through the edge, only to its owner (the caller whose identity is its
// customer) or to whoever presents its client_secret (a confirmation link).
// Anyone else is told it does not exist, in the very words used for an id
// that does not exist, so ids (which are sequential) cannot be probed.
//
// Ownership never changes once an object exists, so checking it on a read
// and then acting is not a race: the read may even be stale, as long as it
// finds the object.

// access is what a caller may see of an object.
type access int

const (
	// byOwner: the owner sees everything.
	byOwner access = iota + 1
	// bySecret: a holder of the secret acts on the object but is not shown
	// who owns it or how they paid.
	bySecret
)

// accessTo decides a caller's access to an object owned by owner with the
// stored secret, given the presented one; ok is false for a stranger.
func accessTo(ctx context.Context, owner, stored, presented string) (access, bool) {
	if me, err := caller(ctx); err == nil && me == owner {
		return byOwner, true
	}
	if fsm.SecretMatches(stored, presented) {
		return bySecret, true
	}
	return 0, false
}

// hidden is the answer to a stranger, and to an id that does not exist.
func hidden(what, id string) error {
	return connect.NewError(connect.CodeNotFound, fmt.Errorf("%s %s not found", what, id))
}

// ownHold reads a hold and returns it with the caller's access to it, or
// NOT_FOUND. fresh reads it linearizably (a page showing its status);
// otherwise any node that has it may answer.
func (s *Server) ownHold(ctx context.Context, id, secret string, fresh bool) (*bookdv1.Hold, access, error) {
	h, err := readOwned(ctx, s, fresh, func(ctx context.Context, opts ...client.ReadOption) (*bookdv1.Hold, error) {
		return s.cfg.Cluster.GetHold(ctx, id, opts...)
	})
	if err != nil {
		return nil, 0, notFoundAs(err, "hold", id)
	}
	a, ok := accessTo(ctx, h.GetCustomerId(), h.GetClientSecret(), secret)
	if !ok {
		return nil, 0, hidden("hold", id)
	}
	return h, a, nil
}

// ownBooking is ownHold for a booking.
func (s *Server) ownBooking(ctx context.Context, id, secret string) (*bookdv1.Booking, access, error) {
	b, err := readOwned(ctx, s, true, func(ctx context.Context, opts ...client.ReadOption) (*bookdv1.Booking, error) {
		return s.cfg.Cluster.GetBooking(ctx, id, opts...)
	})
	if err != nil {
		return nil, 0, notFoundAs(err, "booking", id)
	}
	a, ok := accessTo(ctx, b.GetCustomerId(), b.GetClientSecret(), secret)
	if !ok {
		return nil, 0, hidden("booking", id)
	}
	return b, a, nil
}

// ownEntry is ownHold for a waitlist entry, with its position.
func (s *Server) ownEntry(ctx context.Context, id, secret string, fresh bool) (*bookdv1.GetWaitlistEntryResponse, access, error) {
	res, err := readOwned(ctx, s, fresh, func(ctx context.Context, opts ...client.ReadOption) (*bookdv1.GetWaitlistEntryResponse, error) {
		return s.cfg.Cluster.GetWaitlistEntry(ctx, id, opts...)
	})
	if err != nil {
		return nil, 0, notFoundAs(err, "waitlist entry", id)
	}
	e := res.GetEntry()
	a, ok := accessTo(ctx, e.GetCustomerId(), e.GetClientSecret(), secret)
	if !ok {
		return nil, 0, hidden("waitlist entry", id)
	}
	return res, a, nil
}

// readOwned reads an object for an ownership check, bounded by the call
// timeout: from the leader when fresh, else from any node that has it.
func readOwned[T any](ctx context.Context, s *Server, fresh bool, read func(context.Context, ...client.ReadOption) (T, error)) (T, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if fresh {
		return read(ctx)
	}
	return staleThenFresh(ctx, read, s.staleRead())
}

// notFoundAs relays a read's error, putting NOT_FOUND in the words of
// hidden. (Malformed ids never get here: the handlers validate them first.)
func notFoundAs(err error, what, id string) error {
	if connect.CodeOf(err) == connect.CodeNotFound {
		return hidden(what, id)
	}
	return relay(err)
}

// The views of an object for a caller: a holder of the secret is not shown
// the owner's customer id, payment reference, e-mail address or voucher
// code (a secret too: it may have redemptions left); the discount stays.

func holdView(h *bookdv1.Hold, a access) *bookdv1.Hold {
	if a == byOwner || h == nil {
		return h
	}
	v := cloneOf(h)
	v.CustomerId, v.PaymentRef, v.ContactEmail, v.VoucherCode = "", "", "", ""
	return v
}

func bookingView(b *bookdv1.Booking, a access) *bookdv1.Booking {
	if a == byOwner || b == nil {
		return b
	}
	v := cloneOf(b)
	v.CustomerId, v.PaymentRef, v.ContactEmail, v.VoucherCode = "", "", "", ""
	return v
}

func entryView(e *bookdv1.WaitlistEntry, a access) *bookdv1.WaitlistEntry {
	if a == byOwner || e == nil {
		return e
	}
	v := cloneOf(e)
	v.CustomerId = ""
	return v
}

func cloneOf[T proto.Message](m T) T { return proto.Clone(m).(T) }
