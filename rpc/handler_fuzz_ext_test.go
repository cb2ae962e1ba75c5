package rpc_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/bookd/bookd/fsm"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/proto/bookd/v1/bookdv1connect"
	"github.com/bookd/bookd/rpc/clustertest"
	"google.golang.org/protobuf/proto"
)

// FuzzHandler sends arbitrary bytes as the body of every BookingService call
// to a real single-node server (Raft, Pebble and Connect over loopback HTTP),
// as a client speaking the Connect protocol with binary protobuf would. Bodies
// that decode reach the handler's validation and, when valid, Raft and the
// state machine. It proves:
//
//   - no body crashes the node (a panic in the state machine would end the
//     fuzzing process) or makes it answer INTERNAL, UNKNOWN or UNAVAILABLE:
//     every error is a *connect.Error with INVALID_ARGUMENT, NOT_FOUND,
//     FAILED_PRECONDITION, ALREADY_EXISTS, RESOURCE_EXHAUSTED or OUT_OF_RANGE;
//   - a request that fsm.Validate* refuses is refused with INVALID_ARGUMENT
//     and the same message, so the handler checks what the state machine will;
//   - INVALID_ARGUMENT for a body that decodes names a field of the request;
//   - a success carries a response body that decodes.
//
// proc picks the procedure; body is the request message's wire bytes.
func FuzzHandler(f *testing.F) {
	c := clustertest.Start(f, 1, clustertest.Options{})
	addr := c.Nodes[0].RPCAddr
	seedState(f, addr)
	clients := make([]*connect.Client[[]byte, []byte], len(procedures))
	for i, p := range procedures {
		clients[i] = connect.NewClient[[]byte, []byte](h2c, "http://"+addr+p.procedure, connect.WithCodec(rawCodec{}))
	}

	f.Fuzz(func(t *testing.T, proc uint8, body []byte) {
		i := int(proc) % len(procedures)
		p := procedures[i]
		req := p.request()
		decodes := proto.Unmarshal(body, req) == nil
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		resp, err := clients[i].CallUnary(ctx, connect.NewRequest(&body))
		if err == nil {
			if !decodes {
				t.Fatalf("%s accepted a body that does not decode as %T: %x", p.procedure, req, body)
			}
			if uerr := proto.Unmarshal(*resp.Msg, p.response()); uerr != nil {
				t.Fatalf("%s answered a body that does not decode: %v", p.procedure, uerr)
			}
			return
		}
		var ce *connect.Error
		if !errors.As(err, &ce) {
			t.Fatalf("%s failed with %T, not a *connect.Error: %v", p.procedure, err, err)
		}
		switch ce.Code() {
		case connect.CodeInvalidArgument, connect.CodeNotFound, connect.CodeFailedPrecondition,
			connect.CodeAlreadyExists, connect.CodeResourceExhausted, connect.CodeOutOfRange:
		default:
			t.Fatalf("%s with request %v (body %x) failed with %v", p.procedure, req, body, err)
		}
		if !decodes {
			return
		}
		if p.validate != nil {
			if want := p.validate(req); want != nil && (ce.Code() != connect.CodeInvalidArgument || ce.Message() != want.Message) {
				t.Fatalf("%s with request %v failed with %v, want invalid_argument: %s", p.procedure, req, err, want.Message)
			}
		}
		if ce.Code() == connect.CodeInvalidArgument && !namesField(req.ProtoReflect().Descriptor(), ce.Message()) {
			t.Fatalf("%s with request %v: invalid_argument %q does not start with a field of the request", p.procedure, req, ce.Message())
		}
	})
}

// procedure is one BookingService call: its path, message types and the
// validation its handler runs first (nil when it has none in fsm).
type procedure struct {
	procedure string
	request   func() proto.Message
	response  func() proto.Message
	validate  func(proto.Message) *fsm.Error
}

// procedures are the fuzzed calls, indexed by FuzzHandler's proc argument:
// keep the order, the committed seeds depend on it.
var procedures = []procedure{
	{bookdv1connect.BookingServiceCreateEventProcedure, msg[bookdv1.CreateEventRequest], msg[bookdv1.CreateEventResponse],
		func(m proto.Message) *fsm.Error { return fsm.ValidateCreateEvent(m.(*bookdv1.CreateEventRequest)) }},
	{bookdv1connect.BookingServiceHoldProcedure, msg[bookdv1.HoldRequest], msg[bookdv1.HoldResponse],
		func(m proto.Message) *fsm.Error { return fsm.ValidateHold(m.(*bookdv1.HoldRequest)) }},
	{bookdv1connect.BookingServiceBookProcedure, msg[bookdv1.BookRequest], msg[bookdv1.BookResponse],
		func(m proto.Message) *fsm.Error { return fsm.ValidateBook(m.(*bookdv1.BookRequest)) }},
	{bookdv1connect.BookingServiceConfirmProcedure, msg[bookdv1.ConfirmRequest], msg[bookdv1.ConfirmResponse],
		func(m proto.Message) *fsm.Error { return fsm.ValidateConfirm(m.(*bookdv1.ConfirmRequest)) }},
	{bookdv1connect.BookingServiceReleaseHoldProcedure, msg[bookdv1.ReleaseHoldRequest], msg[bookdv1.ReleaseHoldResponse],
		func(m proto.Message) *fsm.Error { return fsm.ValidateReleaseHold(m.(*bookdv1.ReleaseHoldRequest)) }},
	{bookdv1connect.BookingServiceCancelBookingProcedure, msg[bookdv1.CancelBookingRequest], msg[bookdv1.CancelBookingResponse],
		func(m proto.Message) *fsm.Error { return fsm.ValidateCancelBooking(m.(*bookdv1.CancelBookingRequest)) }},
	{bookdv1connect.BookingServiceGetEventProcedure, msg[bookdv1.GetEventRequest], msg[bookdv1.GetEventResponse],
		func(m proto.Message) *fsm.Error {
			return fsm.ValidateEventID("event_id", m.(*bookdv1.GetEventRequest).GetEventId())
		}},
	{bookdv1connect.BookingServiceListEventsProcedure, msg[bookdv1.ListEventsRequest], msg[bookdv1.ListEventsResponse], nil},
	{bookdv1connect.BookingServiceGetAvailabilityProcedure, msg[bookdv1.GetAvailabilityRequest], msg[bookdv1.GetAvailabilityResponse],
		func(m proto.Message) *fsm.Error {
			return fsm.ValidateEventID("event_id", m.(*bookdv1.GetAvailabilityRequest).GetEventId())
		}},
	{bookdv1connect.BookingServiceGetHoldProcedure, msg[bookdv1.GetHoldRequest], msg[bookdv1.GetHoldResponse],
		func(m proto.Message) *fsm.Error {
			return fsm.ValidateHoldID("hold_id", m.(*bookdv1.GetHoldRequest).GetHoldId())
		}},
	{bookdv1connect.BookingServiceGetBookingProcedure, msg[bookdv1.GetBookingRequest], msg[bookdv1.GetBookingResponse],
		func(m proto.Message) *fsm.Error {
			return fsm.ValidateBookingID("booking_id", m.(*bookdv1.GetBookingRequest).GetBookingId())
		}},
	{bookdv1connect.BookingServiceListBookingsProcedure, msg[bookdv1.ListBookingsRequest], msg[bookdv1.ListBookingsResponse],
		func(m proto.Message) *fsm.Error {
			return fsm.ValidateEventID("event_id", m.(*bookdv1.ListBookingsRequest).GetEventId())
		}},
}

func msg[T any, P interface {
	*T
	proto.Message
}]() proto.Message {
	return P(new(T))
}

// seedState gives the fuzzed calls something to find: a seated and a GA
// event, holds, a booking. The ids are what the committed seeds use when
// the node's log starts as it does today; other ids just mean NOT_FOUND.
func seedState(tb testing.TB, addr string) {
	tb.Helper()
	ctx := context.Background()
	cl := bookingClient(addr)
	seated, err := cl.CreateEvent(ctx, &bookdv1.CreateEventRequest{Name: "Seated", Seats: []string{"A1", "A2", "A3", "A4"}})
	if err != nil {
		tb.Fatalf("seed event: %v", err)
	}
	ga, err := cl.CreateEvent(ctx, &bookdv1.CreateEventRequest{Name: "GA", Capacity: 1000})
	if err != nil {
		tb.Fatalf("seed event: %v", err)
	}
	seatHold, err := cl.Hold(ctx, &bookdv1.HoldRequest{EventId: seated.GetEvent().GetId(), CustomerId: "alice", Seats: []string{"A1"}})
	if err != nil {
		tb.Fatalf("seed hold: %v", err)
	}
	gaHold, err := cl.Hold(ctx, &bookdv1.HoldRequest{EventId: ga.GetEvent().GetId(), CustomerId: "bob", Quantity: 2})
	if err != nil {
		tb.Fatalf("seed hold: %v", err)
	}
	booking, err := cl.Confirm(ctx, &bookdv1.ConfirmRequest{HoldId: seatHold.GetHold().GetId(), PaymentRef: "pay-1"})
	if err != nil {
		tb.Fatalf("seed confirm: %v", err)
	}
	tb.Logf("seed state: seated event %s, GA event %s, active hold %s, booking %s", seated.GetEvent().GetId(),
		ga.GetEvent().GetId(), gaHold.GetHold().GetId(), booking.GetBooking().GetId())
}

// rawCodec sends and receives message bytes as they are, so the fuzzer
// controls the wire body.
type rawCodec struct{}

func (rawCodec) Name() string { return "proto" }

func (rawCodec) Marshal(m any) ([]byte, error) { return *m.(*[]byte), nil }

func (rawCodec) Unmarshal(b []byte, m any) error {
	*m.(*[]byte) = append([]byte(nil), b...)
	return nil
}
