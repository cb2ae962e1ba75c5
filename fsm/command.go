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
	CategoryCounters  = fsmv1.CategoryCounters
)

// The first byte of every log entry says what follows: one Command, or a
// CommandBatch. A node that meets a version it does not know stops rather
// than guess.
const (
	commandVersion byte = 1
	batchVersion   byte = 2
)

// MaxCommandsPerEntry bounds the commands of one batch entry. A command's
// objects are numbered by its entry's Raft index and its place in the entry
// (see formatID), which leaves room for 1024.
const MaxCommandsPerEntry = 1000

// EncodeCommand renders a command as a Raft log entry.
func EncodeCommand(c *Command) ([]byte, error) {
	b, err := marshalOptions.MarshalAppend([]byte{commandVersion}, c)
	if err != nil {
		return nil, fmt.Errorf("fsm: encode command: %w", err)
	}
	return b, nil
}

// EncodeBatch renders commands as one Raft log entry, to be applied in order.
// It encodes each command on its own: errs[i] is command i's encoding error,
// and such a command is left out of the entry. data is nil when none is left.
// Order of the rest is kept.
func EncodeBatch(cmds []*Command) (data []byte, included []int, errs []error) {
	if len(cmds) > MaxCommandsPerEntry {
		panic(fmt.Sprintf("fsm: %d commands in one entry, at most %d", len(cmds), MaxCommandsPerEntry))
	}
	errs = make([]error, len(cmds))
	batch := &fsmv1.CommandBatch{}
	for i, c := range cmds {
		b, err := marshalOptions.Marshal(c)
		if err != nil {
			errs[i] = fmt.Errorf("fsm: encode command: %w", err)
			continue
		}
		batch.Commands = append(batch.Commands, b)
		included = append(included, i)
	}
	if len(included) == 0 {
		return nil, nil, errs
	}
	data, err := marshalOptions.MarshalAppend([]byte{batchVersion}, batch)
	if err != nil {
		panic(fmt.Sprintf("fsm: encode batch of encoded commands: %v", err))
	}
	return data, included, errs
}

// DecodeEntry parses a Raft log entry into its commands; batch reports an
// entry written by EncodeBatch (whose result is a []*Result).
func DecodeEntry(data []byte) (cmds []*Command, batch bool, err error) {
	if len(data) > 0 && data[0] == batchVersion {
		b := new(fsmv1.CommandBatch)
		if err := proto.Unmarshal(data[1:], b); err != nil {
			return nil, true, fmt.Errorf("fsm: decode command batch: %w", err)
		}
		if n := len(b.GetCommands()); n == 0 || n > MaxCommandsPerEntry {
			return nil, true, fmt.Errorf("fsm: command batch of %d commands", n)
		}
		for i, raw := range b.GetCommands() {
			c, err := decodeBody(raw)
			if err != nil {
				return nil, true, fmt.Errorf("command %d of batch: %w", i, err)
			}
			cmds = append(cmds, c)
		}
		return cmds, true, nil
	}
	c, err := DecodeCommand(data)
	if err != nil {
		return nil, false, err
	}
	return []*Command{c}, false, nil
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
	return decodeBody(data[1:])
}

func decodeBody(data []byte) (*Command, error) {
	c := new(Command)
	if err := proto.Unmarshal(data, c); err != nil {
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
	// scope is the idempotency key's scope: the mutation's name and whom
	// it acts for. A claim (Hold, Book, JoinWaitlist) is scoped to its
	// customer; a mutation acting on a hold, booking or waitlist entry, to
	// that object, which belongs to one customer; an operator's mutation to
	// the operator. So one customer's keys never meet another's, and a
	// scope never changes when an object comes into existence.
	scope       string
	key         string // idempotency key, or "" for none
	run         func(*txn) (proto.Message, *Error)
	newResponse func() proto.Message
}

// mutation builds the dispatch entry of a keyed mutation.
func mutation[Req proto.Message, Resp proto.Message](name, owner string, req Req, key string,
	run func(*txn, Req) (proto.Message, *Error), newResponse func() Resp) op {
	return op{
		scope:       name + ":" + owner,
		key:         key,
		run:         func(t *txn) (proto.Message, *Error) { return run(t, req) },
		newResponse: func() proto.Message { return newResponse() },
	}
}

// opFor is the dispatch table from command type to handler: the one place
// that lists every command. Decoding guarantees Op is set; a type missing
// here is a programming error and stops the node.
func opFor(c *Command) op {
	switch o := c.Op.(type) {
	case *fsmv1.Command_CreateProduct:
		r := o.CreateProduct
		return mutation("create_product", "", r, r.GetIdempotencyKey(), (*txn).createProduct, newMsg[bookdv1.CreateProductResponse])
	case *fsmv1.Command_CreateQuota:
		r := o.CreateQuota
		return mutation("create_quota", "", r, r.GetIdempotencyKey(), (*txn).createQuota, newMsg[bookdv1.CreateQuotaResponse])
	case *fsmv1.Command_CreateVoucher:
		r := o.CreateVoucher
		return mutation("create_voucher", "", r, r.GetIdempotencyKey(), (*txn).createVoucher, newMsg[bookdv1.CreateVoucherResponse])
	case *fsmv1.Command_CreateEvent:
		r := o.CreateEvent
		return mutation("create_event", "", r, r.GetIdempotencyKey(), (*txn).createEvent, newMsg[bookdv1.CreateEventResponse])
	case *fsmv1.Command_CloseEvent:
		r := o.CloseEvent
		return mutation("close_event", r.GetEventId(), r, r.GetIdempotencyKey(), (*txn).closeEvent, newMsg[bookdv1.CloseEventResponse])
	case *fsmv1.Command_CancelEvent:
		r := o.CancelEvent
		return mutation("cancel_event", r.GetEventId(), r, r.GetIdempotencyKey(), (*txn).cancelEvent, newMsg[bookdv1.CancelEventResponse])
	case *fsmv1.Command_Hold:
		r := o.Hold
		return mutation("hold", r.GetCustomerId(), r, r.GetIdempotencyKey(), (*txn).hold, newMsg[bookdv1.HoldResponse])
	case *fsmv1.Command_Confirm:
		r := o.Confirm
		return mutation("confirm", r.GetHoldId(), r, r.GetIdempotencyKey(), (*txn).confirm, newMsg[bookdv1.ConfirmResponse])
	case *fsmv1.Command_ReleaseHold:
		r := o.ReleaseHold
		return mutation("release_hold", r.GetHoldId(), r, r.GetIdempotencyKey(), (*txn).releaseHold, newMsg[bookdv1.ReleaseHoldResponse])
	case *fsmv1.Command_ExtendHold:
		r := o.ExtendHold
		return mutation("extend_hold", r.GetHoldId(), r, r.GetIdempotencyKey(), (*txn).extendHold, newMsg[bookdv1.ExtendHoldResponse])
	case *fsmv1.Command_Book:
		r := o.Book
		return mutation("book", r.GetCustomerId(), r, r.GetIdempotencyKey(), (*txn).book, newMsg[bookdv1.BookResponse])
	case *fsmv1.Command_CancelBooking:
		r := o.CancelBooking
		return mutation("cancel_booking", r.GetBookingId(), r, r.GetIdempotencyKey(), (*txn).cancelBooking, newMsg[bookdv1.CancelBookingResponse])
	case *fsmv1.Command_JoinWaitlist:
		r := o.JoinWaitlist
		return mutation("join_waitlist", r.GetCustomerId(), r, r.GetIdempotencyKey(), (*txn).joinWaitlist, newMsg[bookdv1.JoinWaitlistResponse])
	case *fsmv1.Command_LeaveWaitlist:
		r := o.LeaveWaitlist
		return mutation("leave_waitlist", r.GetEntryId(), r, r.GetIdempotencyKey(), (*txn).leaveWaitlist, newMsg[bookdv1.LeaveWaitlistResponse])
	case *fsmv1.Command_CreateQueue:
		r := o.CreateQueue
		return mutation("create_queue", "", r, r.GetIdempotencyKey(), (*txn).createQueue, newMsg[bookdv1.CreateQueueResponse])
	case *fsmv1.Command_DeleteQueue:
		r := o.DeleteQueue
		return mutation("delete_queue", r.GetQueue(), r, r.GetIdempotencyKey(), (*txn).deleteQueue, newMsg[bookdv1.DeleteQueueResponse])
	case *fsmv1.Command_PurgeQueue:
		r := o.PurgeQueue
		return mutation("purge_queue", r.GetQueue(), r, r.GetIdempotencyKey(), (*txn).purgeQueue, newMsg[bookdv1.PurgeQueueResponse])
	case *fsmv1.Command_Redrive:
		r := o.Redrive
		return mutation("redrive", r.GetQueue(), r, r.GetIdempotencyKey(), (*txn).redrive, newMsg[bookdv1.RedriveResponse])
	case *fsmv1.Command_Enqueue:
		r := o.Enqueue
		return mutation("enqueue", r.GetQueue(), r, r.GetIdempotencyKey(), (*txn).enqueue, newMsg[bookdv1.EnqueueResponse])
	case *fsmv1.Command_Receive:
		return op{run: func(t *txn) (proto.Message, *Error) { return t.receive(o.Receive) }}
	case *fsmv1.Command_Ack:
		return op{run: func(t *txn) (proto.Message, *Error) { return t.ack(o.Ack) }}
	case *fsmv1.Command_Nack:
		return op{run: func(t *txn) (proto.Message, *Error) { return t.nack(o.Nack) }}
	case *fsmv1.Command_ExtendLease:
		return op{run: func(t *txn) (proto.Message, *Error) { return t.extendLease(o.ExtendLease) }}
	case *fsmv1.Command_ExpireHolds:
		return op{run: func(*txn) (proto.Message, *Error) { return &fsmv1.ExpireHolds{}, nil }}
	case *fsmv1.Command_Purge:
		return op{run: func(t *txn) (proto.Message, *Error) { return t.purge(o.Purge) }}
	case *fsmv1.Command_RegisterMember:
		return op{run: func(t *txn) (proto.Message, *Error) { return t.registerMember(o.RegisterMember) }}
	case *fsmv1.Command_UnregisterMember:
		return op{run: func(t *txn) (proto.Message, *Error) { return t.unregisterMember(o.UnregisterMember) }}
	}
	panic(fmt.Sprintf("fsm: no handler for command %T", c.Op))
}

// newMsg allocates a response message.
func newMsg[T any, P interface {
	*T
	proto.Message
}]() P {
	return P(new(T))
}

// replay answers a retried mutation from its idempotency record.
func replay(rec *IdempotencyRecord, hash []byte, newResponse func() proto.Message) *Result {
	if string(rec.GetRequestHash()) != string(hash) {
		return &Result{Err: errorf(CodeAlreadyExists, ReasonKeyReused,
			"idempotency_key was already used for a different request")}
	}
	if rec.GetErrorCode() != 0 {
		return &Result{Err: &Error{Code: Code(rec.GetErrorCode()), Reason: rec.GetErrorReason(), Message: rec.GetErrorMessage(),
			Metadata: rec.GetErrorMetadata()}}
	}
	resp := newResponse()
	must(proto.Unmarshal(rec.GetResponse(), resp))
	return &Result{Response: resp}
}
