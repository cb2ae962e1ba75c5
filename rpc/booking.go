package rpc

import (
	"context"

	"github.com/bookd/bookd/fsm"
	fsmv1 "github.com/bookd/bookd/proto/bookd/fsm/v1"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/proto/bookd/v1/bookdv1connect"
)

// BookingHandler implements bookdv1connect.BookingServiceHandler.
type BookingHandler struct{ s *service }

var _ bookdv1connect.BookingServiceHandler = (*BookingHandler)(nil)

// Page sizes of List calls.
const (
	defaultPageSize = 100
	maxPageSize     = 1000
)

func (h *BookingHandler) CreateEvent(ctx context.Context, req *bookdv1.CreateEventRequest) (*bookdv1.CreateEventResponse, error) {
	if err := check(fsm.ValidateCreateEvent(req)); err != nil {
		return nil, err
	}
	if err := checkTimeZone(req.GetTimeZone()); err != nil {
		return nil, err
	}
	return mutate(ctx, h.s, req, &fsm.Command{Op: &fsmv1.Command_CreateEvent{CreateEvent: req}},
		func(ctx context.Context, p *peer) (*bookdv1.CreateEventResponse, error) {
			return p.booking.CreateEvent(ctx, req)
		})
}

func (h *BookingHandler) Hold(ctx context.Context, req *bookdv1.HoldRequest) (*bookdv1.HoldResponse, error) {
	return single(ctx, h.s, &bookdv1.Write{Op: &bookdv1.Write_Hold{Hold: req}}, (*bookdv1.WriteResult).GetHold)
}

func (h *BookingHandler) Confirm(ctx context.Context, req *bookdv1.ConfirmRequest) (*bookdv1.ConfirmResponse, error) {
	return single(ctx, h.s, &bookdv1.Write{Op: &bookdv1.Write_Confirm{Confirm: req}}, (*bookdv1.WriteResult).GetConfirm)
}

func (h *BookingHandler) ReleaseHold(ctx context.Context, req *bookdv1.ReleaseHoldRequest) (*bookdv1.ReleaseHoldResponse, error) {
	return single(ctx, h.s, &bookdv1.Write{Op: &bookdv1.Write_ReleaseHold{ReleaseHold: req}}, (*bookdv1.WriteResult).GetReleaseHold)
}

func (h *BookingHandler) Book(ctx context.Context, req *bookdv1.BookRequest) (*bookdv1.BookResponse, error) {
	return single(ctx, h.s, &bookdv1.Write{Op: &bookdv1.Write_Book{Book: req}}, (*bookdv1.WriteResult).GetBook)
}

func (h *BookingHandler) CancelBooking(ctx context.Context, req *bookdv1.CancelBookingRequest) (*bookdv1.CancelBookingResponse, error) {
	return single(ctx, h.s, &bookdv1.Write{Op: &bookdv1.Write_CancelBooking{CancelBooking: req}}, (*bookdv1.WriteResult).GetCancelBooking)
}

func (h *BookingHandler) GetEvent(ctx context.Context, req *bookdv1.GetEventRequest) (*bookdv1.GetEventResponse, error) {
	if err := check(fsm.ValidateEventID("event_id", req.GetEventId())); err != nil {
		return nil, err
	}
	return read(ctx, h.s, req.GetRead(),
		func() (*bookdv1.GetEventResponse, error) {
			f := h.s.node.FSM()
			return h.s.answers.events.get(req.GetEventId(), f.AppliedIndex(), func() (*bookdv1.GetEventResponse, error) {
				ev, err := f.Event(req.GetEventId())
				return &bookdv1.GetEventResponse{Event: ev}, err
			})
		},
		func(ctx context.Context, p *peer) (*bookdv1.GetEventResponse, error) {
			return p.booking.GetEvent(ctx, req)
		})
}

func (h *BookingHandler) ListEvents(ctx context.Context, req *bookdv1.ListEventsRequest) (*bookdv1.ListEventsResponse, error) {
	size, err := pageSize(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	filter, err := eventFilter(req)
	if err != nil {
		return nil, err
	}
	return read(ctx, h.s, req.GetRead(),
		func() (*bookdv1.ListEventsResponse, error) {
			events, next, err := h.s.node.FSM().ListEvents(filter, req.GetPageToken(), size)
			return &bookdv1.ListEventsResponse{Events: events, NextPageToken: next}, err
		},
		func(ctx context.Context, p *peer) (*bookdv1.ListEventsResponse, error) {
			return p.booking.ListEvents(ctx, req)
		})
}

func (h *BookingHandler) GetAvailability(ctx context.Context, req *bookdv1.GetAvailabilityRequest) (*bookdv1.GetAvailabilityResponse, error) {
	if err := check(fsm.ValidateEventID("event_id", req.GetEventId())); err != nil {
		return nil, err
	}
	return read(ctx, h.s, req.GetRead(),
		func() (*bookdv1.GetAvailabilityResponse, error) {
			f := h.s.node.FSM()
			return h.s.answers.availability.get(req.GetEventId(), f.AppliedIndex(), func() (*bookdv1.GetAvailabilityResponse, error) {
				return f.Availability(req.GetEventId(), 0)
			})
		},
		func(ctx context.Context, p *peer) (*bookdv1.GetAvailabilityResponse, error) {
			return p.booking.GetAvailability(ctx, req)
		})
}

func (h *BookingHandler) GetHold(ctx context.Context, req *bookdv1.GetHoldRequest) (*bookdv1.GetHoldResponse, error) {
	if err := check(fsm.ValidateHoldID("hold_id", req.GetHoldId())); err != nil {
		return nil, err
	}
	return read(ctx, h.s, req.GetRead(),
		func() (*bookdv1.GetHoldResponse, error) {
			hold, err := h.s.node.FSM().Hold(req.GetHoldId(), 0)
			if err == nil {
				err = secretRefusal("hold "+req.GetHoldId(), hold.GetClientSecret(), req.GetClientSecret())
			}
			return &bookdv1.GetHoldResponse{Hold: hold}, err
		},
		func(ctx context.Context, p *peer) (*bookdv1.GetHoldResponse, error) {
			return p.booking.GetHold(ctx, req)
		})
}

func (h *BookingHandler) GetBooking(ctx context.Context, req *bookdv1.GetBookingRequest) (*bookdv1.GetBookingResponse, error) {
	if err := check(fsm.ValidateBookingID("booking_id", req.GetBookingId())); err != nil {
		return nil, err
	}
	return read(ctx, h.s, req.GetRead(),
		func() (*bookdv1.GetBookingResponse, error) {
			b, err := h.s.node.FSM().Booking(req.GetBookingId())
			if err == nil {
				err = secretRefusal("booking "+req.GetBookingId(), b.GetClientSecret(), req.GetClientSecret())
			}
			return &bookdv1.GetBookingResponse{Booking: b}, err
		},
		func(ctx context.Context, p *peer) (*bookdv1.GetBookingResponse, error) {
			return p.booking.GetBooking(ctx, req)
		})
}

func (h *BookingHandler) ListBookings(ctx context.Context, req *bookdv1.ListBookingsRequest) (*bookdv1.ListBookingsResponse, error) {
	switch {
	case req.GetEventId() == "" && req.GetCustomerId() == "":
		return nil, invalidArgument("event_id: give event_id, customer_id or both")
	case req.GetEventId() != "":
		if err := check(fsm.ValidateEventID("event_id", req.GetEventId())); err != nil {
			return nil, err
		}
	}
	if err := check(fsm.ValidateCustomerID(req.GetCustomerId())); err != nil {
		return nil, err
	}
	size, err := pageSize(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	return read(ctx, h.s, req.GetRead(),
		func() (*bookdv1.ListBookingsResponse, error) {
			bookings, next, err := h.s.node.FSM().ListBookings(req.GetEventId(), req.GetCustomerId(), req.GetPageToken(), size)
			return &bookdv1.ListBookingsResponse{Bookings: bookings, NextPageToken: next}, err
		},
		func(ctx context.Context, p *peer) (*bookdv1.ListBookingsResponse, error) {
			return p.booking.ListBookings(ctx, req)
		})
}

// secretRefusal applies fsm.CheckSecret to a read: a client_secret that is
// not the object's answers NOT_FOUND, as for a missing object.
func secretRefusal(what, stored, presented string) error {
	if err := fsm.CheckSecret(what, stored, presented); err != nil {
		return err
	}
	return nil
}

func pageSize(n int32) (int, error) { return pageLimit("page_size", n) }

// pageLimit checks the size of a page a request named in field asks for
// (0: the default).
func pageLimit(field string, n int32) (int, error) {
	switch {
	case n == 0:
		return defaultPageSize, nil
	case n < 0 || n > maxPageSize:
		return 0, invalidArgument("%s: must be between 1 and %d, got %d", field, maxPageSize, n)
	}
	return int(n), nil
}
