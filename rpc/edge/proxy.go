package edge

import (
	"context"
	"errors"
	"time"

	"connectrpc.com/connect"

	"github.com/bookd/bookd/client"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/proto/bookd/v1/bookdv1connect"
	"google.golang.org/protobuf/proto"
)

// AdmissionHeader carries a waiting room's admission token on Hold (and on
// Confirm and ReleaseHold, so the room learns the shopper is done).
const AdmissionHeader = "Bookd-Admission"

// proxy answers BookingService calls by forwarding them to the cluster.
// Calls it does not list (operator calls, and any a newer API adds) are
// refused by the embedded default.
type proxy struct {
	bookdv1connect.UnimplementedBookingServiceHandler
	s *Server
}

// holdRetryAfter is the wait suggested when holds in flight are at their
// bound: about one round of holds through the cluster under load.
const holdRetryAfter = 100 * time.Millisecond

var errOperatorOnly = errors.New("not served by an edge: operator calls go to a node")

func (p *proxy) CreateEvent(context.Context, *bookdv1.CreateEventRequest) (*bookdv1.CreateEventResponse, error) {
	return nil, connect.NewError(connect.CodePermissionDenied, errOperatorOnly)
}

func (p *proxy) BatchWrite(context.Context, *bookdv1.BatchWriteRequest) (*bookdv1.BatchWriteResponse, error) {
	return nil, connect.NewError(connect.CodePermissionDenied, errOperatorOnly)
}

func (p *proxy) ListBookings(context.Context, *bookdv1.ListBookingsRequest) (*bookdv1.ListBookingsResponse, error) {
	return nil, connect.NewError(connect.CodePermissionDenied, errOperatorOnly)
}

func (p *proxy) CancelBooking(context.Context, *bookdv1.CancelBookingRequest) (*bookdv1.CancelBookingResponse, error) {
	return nil, connect.NewError(connect.CodePermissionDenied, errOperatorOnly)
}

func (p *proxy) GetEvent(ctx context.Context, req *bookdv1.GetEventRequest) (*bookdv1.GetEventResponse, error) {
	if req.GetEventId() == "" {
		return nil, invalid("event_id: required")
	}
	ev, err := p.s.events.get(ctx, req.GetEventId(), func(ctx context.Context) (*bookdv1.Event, error) {
		ctx, cancel := p.s.bound(ctx)
		defer cancel()
		return staleThenFresh(ctx, func(ctx context.Context, opts ...client.ReadOption) (*bookdv1.Event, error) {
			return p.s.cfg.Cluster.GetEvent(ctx, req.GetEventId(), opts...)
		}, p.s.staleRead())
	})
	if err != nil {
		return nil, relay(err)
	}
	return &bookdv1.GetEventResponse{Event: ev}, nil
}

func (p *proxy) ListEvents(ctx context.Context, req *bookdv1.ListEventsRequest) (*bookdv1.ListEventsResponse, error) {
	if req.GetPageSize() < 0 {
		return nil, invalid("page_size: %d is negative", req.GetPageSize())
	}
	// The filters and the page are the cache key; the read options are the edge's.
	q := proto.Clone(req).(*bookdv1.ListEventsRequest)
	q.Read = nil
	raw, err := proto.MarshalOptions{Deterministic: true}.Marshal(q)
	if err != nil {
		return nil, invalid("%v", err)
	}
	res, err := p.s.lists.get(ctx, string(raw), func(ctx context.Context) (*bookdv1.ListEventsResponse, error) {
		ctx, cancel := p.s.bound(ctx)
		defer cancel()
		read := &bookdv1.ReadOptions{}
		p.s.staleRead()(read)
		q := proto.Clone(q).(*bookdv1.ListEventsRequest)
		q.Read = read
		return p.s.cfg.Cluster.ListEvents(ctx, q)
	})
	return res, relay(err)
}

func (p *proxy) GetAvailability(ctx context.Context, req *bookdv1.GetAvailabilityRequest) (*bookdv1.GetAvailabilityResponse, error) {
	if req.GetEventId() == "" {
		return nil, invalid("event_id: required")
	}
	res, err := p.s.availability(ctx, req.GetEventId())
	return res, relay(err)
}

func (p *proxy) Hold(ctx context.Context, req *bookdv1.HoldRequest) (*bookdv1.HoldResponse, error) {
	if req.GetEventId() == "" {
		return nil, invalid("event_id: required")
	}
	if rs := p.s.cfg.Rooms; rs != nil {
		if err := rs.Check(req.GetEventId(), header(ctx, AdmissionHeader)); err != nil {
			e := connect.NewError(connect.CodePermissionDenied, err)
			e.Meta().Set(reasonHeader, ReasonAdmissionRequired)
			return nil, e
		}
	}
	if ok, wait := p.s.eventLimit.allow(req.GetEventId()); !ok {
		return nil, client.Overloaded("too many holds on this event right now; retry shortly", wait)
	}
	if !p.s.holds.enter() {
		return nil, client.Overloaded("too many holds in flight at this edge; retry shortly", holdRetryAfter)
	}
	defer p.s.holds.leave()
	ctx, cancel := p.s.bound(ctx)
	defer cancel()
	hold, err := p.s.cfg.Cluster.Hold(ctx, req)
	p.s.wroteTo(req.GetEventId())
	if err != nil {
		return nil, relay(err)
	}
	return &bookdv1.HoldResponse{Hold: hold}, nil
}

func (p *proxy) GetHold(ctx context.Context, req *bookdv1.GetHoldRequest) (*bookdv1.GetHoldResponse, error) {
	if req.GetHoldId() == "" {
		return nil, invalid("hold_id: required")
	}
	hold, err := forward(ctx, p.s, func(ctx context.Context) (*bookdv1.Hold, error) {
		return p.s.cfg.Cluster.GetHold(ctx, req.GetHoldId())
	})
	if err != nil {
		return nil, err
	}
	return &bookdv1.GetHoldResponse{Hold: hold}, nil
}

func (p *proxy) Confirm(ctx context.Context, req *bookdv1.ConfirmRequest) (*bookdv1.ConfirmResponse, error) {
	if req.GetHoldId() == "" {
		return nil, invalid("hold_id: required")
	}
	bk, err := forward(ctx, p.s, func(ctx context.Context) (*bookdv1.Booking, error) { return p.s.cfg.Cluster.Confirm(ctx, req) })
	if err != nil {
		return nil, err
	}
	p.s.done(ctx, bk.GetEventId())
	return &bookdv1.ConfirmResponse{Booking: bk}, nil
}

func (p *proxy) ReleaseHold(ctx context.Context, req *bookdv1.ReleaseHoldRequest) (*bookdv1.ReleaseHoldResponse, error) {
	if req.GetHoldId() == "" {
		return nil, invalid("hold_id: required")
	}
	hold, err := forward(ctx, p.s, func(ctx context.Context) (*bookdv1.Hold, error) { return p.s.cfg.Cluster.ReleaseHold(ctx, req) })
	if err != nil {
		return nil, err
	}
	p.s.done(ctx, hold.GetEventId())
	return &bookdv1.ReleaseHoldResponse{Hold: hold}, nil
}

func (p *proxy) ExtendHold(ctx context.Context, req *bookdv1.ExtendHoldRequest) (*bookdv1.ExtendHoldResponse, error) {
	if req.GetHoldId() == "" {
		return nil, invalid("hold_id: required")
	}
	hold, err := forward(ctx, p.s, func(ctx context.Context) (*bookdv1.Hold, error) { return p.s.cfg.Cluster.ExtendHold(ctx, req) })
	if err != nil {
		return nil, err
	}
	return &bookdv1.ExtendHoldResponse{Hold: hold}, nil
}

func (p *proxy) JoinWaitlist(ctx context.Context, req *bookdv1.JoinWaitlistRequest) (*bookdv1.JoinWaitlistResponse, error) {
	if req.GetEventId() == "" {
		return nil, invalid("event_id: required")
	}
	e, err := forward(ctx, p.s, func(ctx context.Context) (*bookdv1.WaitlistEntry, error) {
		return p.s.cfg.Cluster.JoinWaitlist(ctx, req)
	})
	if err != nil {
		return nil, err
	}
	return &bookdv1.JoinWaitlistResponse{Entry: e}, nil
}

func (p *proxy) LeaveWaitlist(ctx context.Context, req *bookdv1.LeaveWaitlistRequest) (*bookdv1.LeaveWaitlistResponse, error) {
	if req.GetEntryId() == "" {
		return nil, invalid("entry_id: required")
	}
	e, err := forward(ctx, p.s, func(ctx context.Context) (*bookdv1.WaitlistEntry, error) {
		return p.s.cfg.Cluster.LeaveWaitlist(ctx, req)
	})
	if err != nil {
		return nil, err
	}
	return &bookdv1.LeaveWaitlistResponse{Entry: e}, nil
}

func (p *proxy) GetWaitlistEntry(ctx context.Context, req *bookdv1.GetWaitlistEntryRequest) (*bookdv1.GetWaitlistEntryResponse, error) {
	if req.GetEntryId() == "" {
		return nil, invalid("entry_id: required")
	}
	return forward(ctx, p.s, func(ctx context.Context) (*bookdv1.GetWaitlistEntryResponse, error) {
		return p.s.cfg.Cluster.GetWaitlistEntry(ctx, req.GetEntryId()) // fresh: an offer must show at once
	})
}

func (p *proxy) ListProducts(ctx context.Context, req *bookdv1.ListProductsRequest) (*bookdv1.ListProductsResponse, error) {
	return forward(ctx, p.s, func(ctx context.Context) (*bookdv1.ListProductsResponse, error) {
		q := proto.Clone(req).(*bookdv1.ListProductsRequest)
		q.Read = &bookdv1.ReadOptions{}
		p.s.staleRead()(q.Read)
		return p.s.cfg.Cluster.ListProducts(ctx, q)
	})
}

func (p *proxy) GetBooking(ctx context.Context, req *bookdv1.GetBookingRequest) (*bookdv1.GetBookingResponse, error) {
	if req.GetBookingId() == "" {
		return nil, invalid("booking_id: required")
	}
	bk, err := forward(ctx, p.s, func(ctx context.Context) (*bookdv1.Booking, error) {
		return p.s.cfg.Cluster.GetBooking(ctx, req.GetBookingId())
	})
	if err != nil {
		return nil, err
	}
	return &bookdv1.GetBookingResponse{Booking: bk}, nil
}

// forward makes one call to the cluster, bounded by the call timeout, and
// relays its error.
func forward[Res any](ctx context.Context, s *Server, call func(context.Context) (Res, error)) (Res, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	res, err := call(ctx)
	return res, relay(err)
}

// header returns a request header of the call in ctx.
func header(ctx context.Context, name string) string {
	if ci, ok := connect.CallInfoForHandlerContext(ctx); ok {
		return ci.RequestHeader().Get(name)
	}
	return ""
}
