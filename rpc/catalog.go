package rpc

import (
	"context"
	"time"
	_ "time/tzdata" // the zones compiled in: a host without a zone database still knows them

	"github.com/bookd/bookd/fsm"
	fsmv1 "github.com/bookd/bookd/proto/bookd/fsm/v1"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
)

// Products, event status changes, hold extension and the waitlist.

func (h *BookingHandler) CreateProduct(ctx context.Context, req *bookdv1.CreateProductRequest) (*bookdv1.CreateProductResponse, error) {
	if err := check(fsm.ValidateCreateProduct(req)); err != nil {
		return nil, err
	}
	return mutate(ctx, h.s, req, &fsm.Command{Op: &fsmv1.Command_CreateProduct{CreateProduct: req}},
		func(ctx context.Context, p *peer) (*bookdv1.CreateProductResponse, error) {
			return p.booking.CreateProduct(ctx, req)
		})
}

func (h *BookingHandler) ListProducts(ctx context.Context, req *bookdv1.ListProductsRequest) (*bookdv1.ListProductsResponse, error) {
	size, err := pageSize(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	return read(ctx, h.s, req.GetRead(),
		func() (*bookdv1.ListProductsResponse, error) {
			products, next, err := h.s.node.FSM().ListProducts(req.GetPageToken(), size)
			return &bookdv1.ListProductsResponse{Products: products, NextPageToken: next}, err
		},
		func(ctx context.Context, p *peer) (*bookdv1.ListProductsResponse, error) {
			return p.booking.ListProducts(ctx, req)
		})
}

func (h *BookingHandler) CloseEvent(ctx context.Context, req *bookdv1.CloseEventRequest) (*bookdv1.CloseEventResponse, error) {
	if err := check(fsm.ValidateCloseEvent(req)); err != nil {
		return nil, err
	}
	return mutate(ctx, h.s, req, &fsm.Command{Op: &fsmv1.Command_CloseEvent{CloseEvent: req}},
		func(ctx context.Context, p *peer) (*bookdv1.CloseEventResponse, error) {
			return p.booking.CloseEvent(ctx, req)
		})
}

func (h *BookingHandler) CancelEvent(ctx context.Context, req *bookdv1.CancelEventRequest) (*bookdv1.CancelEventResponse, error) {
	if err := check(fsm.ValidateCancelEvent(req)); err != nil {
		return nil, err
	}
	return mutate(ctx, h.s, req, &fsm.Command{Op: &fsmv1.Command_CancelEvent{CancelEvent: req}},
		func(ctx context.Context, p *peer) (*bookdv1.CancelEventResponse, error) {
			return p.booking.CancelEvent(ctx, req)
		})
}

func (h *BookingHandler) ExtendHold(ctx context.Context, req *bookdv1.ExtendHoldRequest) (*bookdv1.ExtendHoldResponse, error) {
	return single(ctx, h.s, &bookdv1.Write{Op: &bookdv1.Write_ExtendHold{ExtendHold: req}}, (*bookdv1.WriteResult).GetExtendHold)
}

func (h *BookingHandler) JoinWaitlist(ctx context.Context, req *bookdv1.JoinWaitlistRequest) (*bookdv1.JoinWaitlistResponse, error) {
	if err := check(fsm.ValidateJoinWaitlist(req)); err != nil {
		return nil, err
	}
	return mutate(ctx, h.s, req, &fsm.Command{Op: &fsmv1.Command_JoinWaitlist{JoinWaitlist: req}},
		func(ctx context.Context, p *peer) (*bookdv1.JoinWaitlistResponse, error) {
			return p.booking.JoinWaitlist(ctx, req)
		})
}

func (h *BookingHandler) LeaveWaitlist(ctx context.Context, req *bookdv1.LeaveWaitlistRequest) (*bookdv1.LeaveWaitlistResponse, error) {
	if err := check(fsm.ValidateLeaveWaitlist(req)); err != nil {
		return nil, err
	}
	return mutate(ctx, h.s, req, &fsm.Command{Op: &fsmv1.Command_LeaveWaitlist{LeaveWaitlist: req}},
		func(ctx context.Context, p *peer) (*bookdv1.LeaveWaitlistResponse, error) {
			return p.booking.LeaveWaitlist(ctx, req)
		})
}

func (h *BookingHandler) GetWaitlistEntry(ctx context.Context, req *bookdv1.GetWaitlistEntryRequest) (*bookdv1.GetWaitlistEntryResponse, error) {
	if err := check(fsm.ValidateEntryID("entry_id", req.GetEntryId())); err != nil {
		return nil, err
	}
	return read(ctx, h.s, req.GetRead(),
		func() (*bookdv1.GetWaitlistEntryResponse, error) {
			e, pos, err := h.s.node.FSM().WaitlistEntry(req.GetEntryId())
			if err == nil {
				err = secretRefusal("waitlist entry "+req.GetEntryId(), e.GetClientSecret(), req.GetClientSecret())
			}
			return &bookdv1.GetWaitlistEntryResponse{Entry: e, Position: pos}, err
		},
		func(ctx context.Context, p *peer) (*bookdv1.GetWaitlistEntryResponse, error) {
			return p.booking.GetWaitlistEntry(ctx, req)
		})
}

// eventFilter reads ListEvents' filters.
func eventFilter(req *bookdv1.ListEventsRequest) (fsm.EventFilter, error) {
	f := fsm.EventFilter{ProductID: req.GetProductId(), Query: req.GetQuery(), MinAvailable: req.GetMinAvailable()}
	if f.ProductID != "" {
		if err := check(fsm.ValidateProductID("product_id", f.ProductID)); err != nil {
			return f, err
		}
	}
	if len(f.Query) > fsm.MaxNameLen {
		return f, invalidArgument("query: at most %d bytes, got %d", fsm.MaxNameLen, len(f.Query))
	}
	if f.MinAvailable < 0 {
		return f, invalidArgument("min_available: must not be negative, got %d", f.MinAvailable)
	}
	if ts := req.GetStartsAfter(); ts != nil {
		if !ts.IsValid() || ts.GetSeconds() < 0 || ts.GetSeconds() >= fsm.MaxStartsAtSeconds {
			return f, invalidArgument("starts_after: not a valid timestamp from 1970 to 2199")
		}
		f.StartsAfter = ts.AsTime().UnixNano()
	}
	if ts := req.GetStartsBefore(); ts != nil {
		if !ts.IsValid() || ts.GetSeconds() < 0 || ts.GetSeconds() >= fsm.MaxStartsAtSeconds {
			return f, invalidArgument("starts_before: not a valid timestamp from 1970 to 2199")
		}
		f.StartsBefore = max(ts.AsTime().UnixNano(), 1)
	}
	return f, nil
}

// checkTimeZone refuses an event's time_zone that names no zone Go can
// load. The state machine checks only the name's form: whether a zone
// exists depends on a zone database, which is each node's and not the
// log's. This is checked where the request arrives (and again on the
// leader a follower forwards it to), against the host's database or,
// where the host has none or lacks the zone, the one compiled in; a zone
// one node knows and another does not is at worst refused, never applied
// differently. "Local", Go's name for the host's zone, is refused: it is
// no IANA name and means something else on every host.
func checkTimeZone(tz string) error {
	if tz == "" {
		return nil
	}
	if _, err := time.LoadLocation(tz); err != nil || tz == "Local" {
		return invalidArgument("time_zone: %q is not a zone of the IANA time zone database (like Europe/Vienna)", tz)
	}
	return nil
}
