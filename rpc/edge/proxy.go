package edge

import (
	"context"
	"errors"
	"time"

	"connectrpc.com/connect"

	"github.com/bookd/bookd/client"
	"github.com/bookd/bookd/fsm"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/proto/bookd/v1/bookdv1connect"
	"google.golang.org/protobuf/proto"
)

// AdmissionHeader carries a waiting room's admission token on Hold, for
// clients that do not put it in HoldRequest.admission_token.
const AdmissionHeader = "Bookd-Admission"

// proxy answers BookingService calls by forwarding them to the cluster, for
// the caller's identity only (caller.go, owner.go). Calls it does not list
// (any a newer API adds) are refused by the embedded default.
type proxy struct {
	bookdv1connect.UnimplementedBookingServiceHandler
	s *Server
}

// holdRetryAfter is the wait suggested when holds in flight are at their
// bound: about one round of holds through the cluster under load.
const holdRetryAfter = 100 * time.Millisecond

// Operator and back-end calls are not served to the public.

var errOperatorOnly = errors.New("not served by an edge: operator and back-end calls go to a node, with a token")

func operatorOnly() error { return connect.NewError(connect.CodePermissionDenied, errOperatorOnly) }

func (p *proxy) CreateProduct(context.Context, *bookdv1.CreateProductRequest) (*bookdv1.CreateProductResponse, error) {
	return nil, operatorOnly()
}

func (p *proxy) CreateEvent(context.Context, *bookdv1.CreateEventRequest) (*bookdv1.CreateEventResponse, error) {
	return nil, operatorOnly()
}

func (p *proxy) CloseEvent(context.Context, *bookdv1.CloseEventRequest) (*bookdv1.CloseEventResponse, error) {
	return nil, operatorOnly()
}

func (p *proxy) CancelEvent(context.Context, *bookdv1.CancelEventRequest) (*bookdv1.CancelEventResponse, error) {
	return nil, operatorOnly()
}

func (p *proxy) BatchWrite(context.Context, *bookdv1.BatchWriteRequest) (*bookdv1.BatchWriteResponse, error) {
	return nil, operatorOnly()
}

func (p *proxy) ListBookings(context.Context, *bookdv1.ListBookingsRequest) (*bookdv1.ListBookingsResponse, error) {
	return nil, operatorOnly()
}

func (p *proxy) CancelBooking(context.Context, *bookdv1.CancelBookingRequest) (*bookdv1.CancelBookingResponse, error) {
	return nil, operatorOnly()
}

// Book sells without a hold, so without the waiting room's admission and the
// time to pay: shoppers hold, then confirm.
func (p *proxy) Book(context.Context, *bookdv1.BookRequest) (*bookdv1.BookResponse, error) {
	return nil, connect.NewError(connect.CodePermissionDenied, errors.New("not served by an edge: Hold, then Confirm (Book is for back ends, on a node)"))
}

func (p *proxy) GetEvent(ctx context.Context, req *bookdv1.GetEventRequest) (*bookdv1.GetEventResponse, error) {
	if err := valid(fsm.ValidateEventID("event_id", req.GetEventId())); err != nil {
		return nil, err
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
	q := cloneOf(req)
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
		q := cloneOf(q)
		q.Read = read
		return p.s.cfg.Cluster.ListEvents(ctx, q)
	})
	return res, relay(err)
}

func (p *proxy) GetAvailability(ctx context.Context, req *bookdv1.GetAvailabilityRequest) (*bookdv1.GetAvailabilityResponse, error) {
	if err := valid(fsm.ValidateEventID("event_id", req.GetEventId())); err != nil {
		return nil, err
	}
	res, err := p.s.availability(ctx, req.GetEventId())
	return res, relay(err)
}

func (p *proxy) ListProducts(ctx context.Context, req *bookdv1.ListProductsRequest) (*bookdv1.ListProductsResponse, error) {
	return forward(ctx, p.s, func(ctx context.Context) (*bookdv1.ListProductsResponse, error) {
		q := cloneOf(req)
		q.Read = &bookdv1.ReadOptions{}
		p.s.staleRead()(q.Read)
		return p.s.cfg.Cluster.ListProducts(ctx, q)
	})
}

// Hold places a hold for the caller: one item, or an order of several
// (orders.go). On an event with a waiting room it needs the caller's
// admission token (in admission_token or the Bookd-Admission header),
// which the state machine spends with the hold. A voucher code is judged
// as vouchers.go says.
func (p *proxy) Hold(ctx context.Context, req *bookdv1.HoldRequest) (*bookdv1.HoldResponse, error) {
	req = cloneOf(req)
	me, err := actAs(ctx, &req.CustomerId)
	if err != nil {
		return nil, err
	}
	if req.AdmissionToken == "" {
		req.AdmissionToken = header(ctx, AdmissionHeader)
	}
	if err := valid(fsm.ValidateHold(req)); err != nil {
		return nil, err
	}
	if err := p.s.admitHold(me, req); err != nil {
		return nil, err
	}
	if !p.s.holds.enter() {
		return nil, client.Overloaded("too many holds in flight at this edge; retry shortly", holdRetryAfter)
	}
	defer p.s.holds.leave()
	try, err := p.s.tryVoucher(ctx, req.GetVoucherCode())
	if err != nil {
		return nil, err
	}
	hold, err := forward(ctx, p.s, func(ctx context.Context) (*bookdv1.Hold, error) { return p.s.cfg.Cluster.Hold(ctx, req) })
	if err = p.s.judgeVoucher(try, err); err != nil {
		return nil, err
	}
	p.s.wroteHold(hold)
	return &bookdv1.HoldResponse{Hold: hold}, nil
}

func (p *proxy) GetHold(ctx context.Context, req *bookdv1.GetHoldRequest) (*bookdv1.GetHoldResponse, error) {
	if err := valid(fsm.ValidateHoldID("hold_id", req.GetHoldId())); err != nil {
		return nil, err
	}
	hold, a, err := p.s.ownHold(ctx, req.GetHoldId(), req.GetClientSecret(), true)
	if err != nil {
		return nil, err
	}
	p.s.touchHold(hold)
	return &bookdv1.GetHoldResponse{Hold: holdView(hold, a)}, nil
}

func (p *proxy) Confirm(ctx context.Context, req *bookdv1.ConfirmRequest) (*bookdv1.ConfirmResponse, error) {
	if err := valid(fsm.ValidateConfirm(req)); err != nil {
		return nil, err
	}
	hold, a, err := p.s.ownHold(ctx, req.GetHoldId(), req.GetClientSecret(), false)
	if err != nil {
		return nil, err
	}
	bk, err := forward(ctx, p.s, func(ctx context.Context) (*bookdv1.Booking, error) { return p.s.cfg.Cluster.Confirm(ctx, req) })
	if err != nil {
		return nil, err
	}
	p.s.doneHold(hold)
	return &bookdv1.ConfirmResponse{Booking: bookingView(bk, a)}, nil
}

func (p *proxy) ReleaseHold(ctx context.Context, req *bookdv1.ReleaseHoldRequest) (*bookdv1.ReleaseHoldResponse, error) {
	if err := valid(fsm.ValidateReleaseHold(req)); err != nil {
		return nil, err
	}
	hold, a, err := p.s.ownHold(ctx, req.GetHoldId(), req.GetClientSecret(), false)
	if err != nil {
		return nil, err
	}
	released, err := forward(ctx, p.s, func(ctx context.Context) (*bookdv1.Hold, error) { return p.s.cfg.Cluster.ReleaseHold(ctx, req) })
	if err != nil {
		return nil, err
	}
	p.s.doneHold(hold)
	return &bookdv1.ReleaseHoldResponse{Hold: holdView(released, a)}, nil
}

func (p *proxy) ExtendHold(ctx context.Context, req *bookdv1.ExtendHoldRequest) (*bookdv1.ExtendHoldResponse, error) {
	if err := valid(fsm.ValidateExtendHold(req)); err != nil {
		return nil, err
	}
	hold, a, err := p.s.ownHold(ctx, req.GetHoldId(), req.GetClientSecret(), false)
	if err != nil {
		return nil, err
	}
	extended, err := forward(ctx, p.s, func(ctx context.Context) (*bookdv1.Hold, error) { return p.s.cfg.Cluster.ExtendHold(ctx, req) })
	if err != nil {
		return nil, err
	}
	p.s.touchHold(hold)
	return &bookdv1.ExtendHoldResponse{Hold: holdView(extended, a)}, nil
}

func (p *proxy) GetBooking(ctx context.Context, req *bookdv1.GetBookingRequest) (*bookdv1.GetBookingResponse, error) {
	if err := valid(fsm.ValidateBookingID("booking_id", req.GetBookingId())); err != nil {
		return nil, err
	}
	bk, a, err := p.s.ownBooking(ctx, req.GetBookingId(), req.GetClientSecret())
	if err != nil {
		return nil, err
	}
	return &bookdv1.GetBookingResponse{Booking: bookingView(bk, a)}, nil
}

func (p *proxy) JoinWaitlist(ctx context.Context, req *bookdv1.JoinWaitlistRequest) (*bookdv1.JoinWaitlistResponse, error) {
	req = cloneOf(req)
	if _, err := actAs(ctx, &req.CustomerId); err != nil {
		return nil, err
	}
	if err := valid(fsm.ValidateJoinWaitlist(req)); err != nil {
		return nil, err
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
	if err := valid(fsm.ValidateLeaveWaitlist(req)); err != nil {
		return nil, err
	}
	_, a, err := p.s.ownEntry(ctx, req.GetEntryId(), req.GetClientSecret(), false)
	if err != nil {
		return nil, err
	}
	e, err := forward(ctx, p.s, func(ctx context.Context) (*bookdv1.WaitlistEntry, error) {
		return p.s.cfg.Cluster.LeaveWaitlist(ctx, req)
	})
	if err != nil {
		return nil, err
	}
	return &bookdv1.LeaveWaitlistResponse{Entry: entryView(e, a)}, nil
}

func (p *proxy) GetWaitlistEntry(ctx context.Context, req *bookdv1.GetWaitlistEntryRequest) (*bookdv1.GetWaitlistEntryResponse, error) {
	if err := valid(fsm.ValidateEntryID("entry_id", req.GetEntryId())); err != nil {
		return nil, err
	}
	// Fresh: an offer must show at once.
	res, a, err := p.s.ownEntry(ctx, req.GetEntryId(), req.GetClientSecret(), true)
	if err != nil {
		return nil, err
	}
	return &bookdv1.GetWaitlistEntryResponse{Entry: entryView(res.GetEntry(), a), Position: res.GetPosition()}, nil
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
