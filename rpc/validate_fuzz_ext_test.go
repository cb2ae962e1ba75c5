package rpc_test

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/bookd/bookd/fsm"
	fsmv1 "github.com/bookd/bookd/proto/bookd/fsm/v1"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// FuzzValidateRequest drives the validation every BookingService handler runs
// before it proposes or reads anything (fsm.Validate*), with requests built
// field by field from fuzzed strings and integers, so that it also meets
// strings no protobuf decoder would let through (invalid UTF-8). It proves:
//
//   - validation never panics;
//   - a refusal is an *fsm.Error with CodeInvalidArgument (which the handlers
//     send as INVALID_ARGUMENT), no reason, and a valid UTF-8 message of
//     bounded length that starts with the name of a field of the request;
//   - a mutation that passes validation can be proposed: it encodes as a log
//     command that decodes back to the same command.
//
// The fuzz arguments: kind picks the request; a, b, c and d fill its string
// fields; n is a quantity or capacity; seats is a comma-separated list; secs,
// nanos and set make its ttl or starts_at.
func FuzzValidateRequest(f *testing.F) {
	f.Fuzz(func(t *testing.T, kind uint8, a, b, c, d string, n int64, seats string, secs int64, nanos int32, set bool) {
		var labels []string
		if seats != "" {
			labels = strings.Split(seats, ",")
		}
		var req proto.Message // the request, for its field names
		var op *fsmv1.Command // the command a valid mutation becomes
		var err *fsm.Error
		switch kind % 9 {
		case 0:
			r := &bookdv1.CreateEventRequest{Name: a, Capacity: n, Seats: labels, IdempotencyKey: d}
			if set {
				r.StartsAt = &timestamppb.Timestamp{Seconds: secs, Nanos: nanos}
			}
			req, err = r, fsm.ValidateCreateEvent(r)
			op = &fsmv1.Command{Op: &fsmv1.Command_CreateEvent{CreateEvent: r}}
		case 1:
			r := &bookdv1.HoldRequest{EventId: a, CustomerId: b, Quantity: n, Seats: labels, IdempotencyKey: d}
			if set {
				r.Ttl = &durationpb.Duration{Seconds: secs, Nanos: nanos}
			}
			req, err = r, fsm.ValidateHold(r)
			op = &fsmv1.Command{Op: &fsmv1.Command_Hold{Hold: r}}
		case 2:
			r := &bookdv1.BookRequest{EventId: a, CustomerId: b, Quantity: n, Seats: labels, PaymentRef: c, IdempotencyKey: d}
			if set {
				r.Ttl = &durationpb.Duration{Seconds: secs, Nanos: nanos}
			}
			req, err = r, fsm.ValidateBook(r)
			op = &fsmv1.Command{Op: &fsmv1.Command_Book{Book: r}}
		case 3:
			r := &bookdv1.ConfirmRequest{HoldId: a, PaymentRef: c, IdempotencyKey: d}
			req, err = r, fsm.ValidateConfirm(r)
			op = &fsmv1.Command{Op: &fsmv1.Command_Confirm{Confirm: r}}
		case 4:
			r := &bookdv1.ReleaseHoldRequest{HoldId: a, IdempotencyKey: d}
			req, err = r, fsm.ValidateReleaseHold(r)
			op = &fsmv1.Command{Op: &fsmv1.Command_ReleaseHold{ReleaseHold: r}}
		case 5:
			r := &bookdv1.CancelBookingRequest{BookingId: a, IdempotencyKey: d}
			req, err = r, fsm.ValidateCancelBooking(r)
			op = &fsmv1.Command{Op: &fsmv1.Command_CancelBooking{CancelBooking: r}}
		case 6: // GetEvent, GetAvailability, ListBookings
			req, err = &bookdv1.GetEventRequest{EventId: a}, fsm.ValidateEventID("event_id", a)
		case 7:
			req, err = &bookdv1.GetHoldRequest{HoldId: a}, fsm.ValidateHoldID("hold_id", a)
		case 8:
			req, err = &bookdv1.GetBookingRequest{BookingId: a}, fsm.ValidateBookingID("booking_id", a)
		}

		if err != nil {
			checkRefusal(t, req, err)
			return
		}
		if op == nil {
			return
		}
		op.StampUnixNanos, op.RequestHash = 1, fsm.RequestHash(req)
		data, encErr := fsm.EncodeCommand(op)
		if encErr != nil {
			t.Fatalf("%T passed validation but cannot be proposed: %v\nrequest: %v", req, encErr, req)
		}
		got, decErr := fsm.DecodeCommand(data)
		if decErr != nil || !proto.Equal(got, op) {
			t.Fatalf("%T passed validation but its command does not decode back (%v): %v, want %v", req, decErr, got, op)
		}
	})
}

// maxRefusalLen bounds a refusal's message: user strings in it are clipped.
const maxRefusalLen = 1 << 10

func checkRefusal(t *testing.T, req proto.Message, err *fsm.Error) {
	t.Helper()
	if err.Code != fsm.CodeInvalidArgument || err.Reason != "" {
		t.Fatalf("validation of %T refused with code %d reason %q, want CodeInvalidArgument and no reason: %s",
			req, err.Code, err.Reason, err.Message)
	}
	if !utf8.ValidString(err.Message) || len(err.Message) > maxRefusalLen {
		t.Fatalf("validation of %T refused with a message that is not valid UTF-8 or is %d bytes long: %q",
			req, len(err.Message), err.Message)
	}
	if !namesField(req.ProtoReflect().Descriptor(), err.Message) {
		t.Fatalf("validation of %T refused with %q, which does not start with a field of the request", req, err.Message)
	}
}

var fieldIndex = regexp.MustCompile(`\[[0-9]+\]$`)

// namesField reports whether msg starts with "path: " where path names a
// field of md, like "seats[3]" or "read.max_staleness".
func namesField(md protoreflect.MessageDescriptor, msg string) bool {
	path, _, ok := strings.Cut(msg, ": ")
	if !ok || path == "" {
		return false
	}
	for part := range strings.SplitSeq(path, ".") {
		if md == nil {
			return false
		}
		fd := md.Fields().ByName(protoreflect.Name(fieldIndex.ReplaceAllString(part, "")))
		if fd == nil {
			return false
		}
		md = fd.Message()
	}
	return true
}
