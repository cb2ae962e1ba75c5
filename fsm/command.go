package fsm

import (
	"crypto/sha256"
	"errors"
	"fmt"

	fsmv1 "github.com/bookd/bookd/proto/bookd/fsm/v1"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
)

// The log's record types, defined in proto/bookd/fsm/v1.
type (
	Command           = fsmv1.Command
	Change            = fsmv1.Change
	IdempotencyRecord = fsmv1.IdempotencyRecord
	EventCounters     = fsmv1.EventCounters
)

// commandVersion is the first byte of every encoded command. A node that
// meets a version it does not know stops rather than guess.
const commandVersion byte = 1

// EncodeCommand renders a command as a Raft log entry.
func EncodeCommand(c *Command) ([]byte, error) {
	b, err := marshalOptions.MarshalAppend([]byte{commandVersion}, c)
	if err != nil {
		return nil, fmt.Errorf("fsm: encode command: %w", err)
	}
	return b, nil
}

// DecodeCommand parses a Raft log entry. It fails on an unknown version, on
// bytes that are not a Command, and on a command with no known operation.
func DecodeCommand(data []byte) (*Command, error) {
	if len(data) == 0 {
		return nil, errors.New("fsm: empty command")
	}
	if data[0] != commandVersion {
		return nil, fmt.Errorf("fsm: unknown command version %d", data[0])
	}
	c := new(Command)
	if err := proto.Unmarshal(data[1:], c); err != nil {
		return nil, fmt.Errorf("fsm: decode command: %w", err)
	}
	if c.Op == nil {
		return nil, errors.New("fsm: command has no known operation (written by a newer bookd?)")
	}
	return c, nil
}

// RequestHash is the hash stored with an idempotency key: two requests with
// the same key must have the same hash to be the same request.
func RequestHash(req proto.Message) []byte {
	b, err := marshalOptions.Marshal(req)
	if err != nil {
		// Not encodable (a string that is not UTF-8): such a request cannot
		// be proposed either, so any stable hash will do.
		b = []byte(prototext.Format(req))
	}
	sum := sha256.Sum256(b)
	return sum[:]
}

// op is one command type's entry in the dispatch table.
type op struct {
	scope       string // idempotency scope: the mutation's name
	key         string // idempotency key, or "" for none
	run         func(*txn) (proto.Message, *Error)
	newResponse func() proto.Message
}

// opFor is the dispatch table from command type to handler: the one place
// that lists every command. Decoding guarantees Op is set; a type missing
// here is a programming error and stops the node.
func opFor(c *Command) op {
	switch o := c.Op.(type) {
	case *fsmv1.Command_CreateEvent:
		return op{"create_event", o.CreateEvent.GetIdempotencyKey(),
			func(t *txn) (proto.Message, *Error) { return t.createEvent(o.CreateEvent) },
			func() proto.Message { return new(bookdv1.CreateEventResponse) }}
	case *fsmv1.Command_Hold:
		return op{"hold", o.Hold.GetIdempotencyKey(),
			func(t *txn) (proto.Message, *Error) { return t.hold(o.Hold) },
			func() proto.Message { return new(bookdv1.HoldResponse) }}
	case *fsmv1.Command_Confirm:
		return op{"confirm", o.Confirm.GetIdempotencyKey(),
			func(t *txn) (proto.Message, *Error) { return t.confirm(o.Confirm) },
			func() proto.Message { return new(bookdv1.ConfirmResponse) }}
	case *fsmv1.Command_ReleaseHold:
		return op{"release_hold", o.ReleaseHold.GetIdempotencyKey(),
			func(t *txn) (proto.Message, *Error) { return t.releaseHold(o.ReleaseHold) },
			func() proto.Message { return new(bookdv1.ReleaseHoldResponse) }}
	case *fsmv1.Command_Book:
		return op{"book", o.Book.GetIdempotencyKey(),
			func(t *txn) (proto.Message, *Error) { return t.book(o.Book) },
			func() proto.Message { return new(bookdv1.BookResponse) }}
	case *fsmv1.Command_CancelBooking:
		return op{"cancel_booking", o.CancelBooking.GetIdempotencyKey(),
			func(t *txn) (proto.Message, *Error) { return t.cancelBooking(o.CancelBooking) },
			func() proto.Message { return new(bookdv1.CancelBookingResponse) }}
	case *fsmv1.Command_ExpireHolds:
		return op{run: func(*txn) (proto.Message, *Error) { return &fsmv1.ExpireHolds{}, nil }}
	case *fsmv1.Command_RegisterMember:
		return op{run: func(t *txn) (proto.Message, *Error) { return t.registerMember(o.RegisterMember) }}
	case *fsmv1.Command_UnregisterMember:
		return op{run: func(t *txn) (proto.Message, *Error) { return t.unregisterMember(o.UnregisterMember) }}
	}
	panic(fmt.Sprintf("fsm: no handler for command %T", c.Op))
}

// replay answers a retried mutation from its idempotency record.
func replay(rec *IdempotencyRecord, hash []byte, newResponse func() proto.Message) *Result {
	if string(rec.GetRequestHash()) != string(hash) {
		return &Result{Err: errorf(CodeAlreadyExists, ReasonKeyReused,
			"idempotency_key was already used for a different request")}
	}
	if rec.GetErrorCode() != 0 {
		return &Result{Err: &Error{Code: Code(rec.GetErrorCode()), Reason: rec.GetErrorReason(), Message: rec.GetErrorMessage()}}
	}
	resp := newResponse()
	must(proto.Unmarshal(rec.GetResponse(), resp))
	return &Result{Response: resp}
}
