package fsm_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bookd/bookd/fsm"
	fsmv1 "github.com/bookd/bookd/proto/bookd/fsm/v1"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/hashicorp/raft"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
)

// t0 is the stamp of the first command in most tests: a fixed instant, so
// that expected timestamps are constants.
const t0 = int64(1_700_000_000) * int64(time.Second)

const sec = int64(time.Second)

// harness drives one FSM stored in a temporary directory. It hands out Raft
// indexes in order and stamps commands with now.
type harness struct {
	t    testing.TB
	dir  string
	f    *fsm.FSM
	next uint64 // Raft index of the next entry
	now  int64  // stamp of the next command, Unix ns
}

func newHarness(t testing.TB) *harness {
	t.Helper()
	h := &harness{t: t, dir: t.TempDir(), now: t0}
	h.open()
	t.Cleanup(h.close)
	return h
}

func (h *harness) open() {
	h.t.Helper()
	f, err := fsm.Open(h.dir, nil)
	if err != nil {
		h.t.Fatalf("Open(%s): %v", h.dir, err)
	}
	f.BuildKeyFilter() // as a node does once its state is complete
	h.f = f
	h.next = f.AppliedIndex() + 1
}

func (h *harness) close() {
	h.t.Helper()
	if h.f == nil {
		return
	}
	if err := h.f.Close(); err != nil {
		h.t.Errorf("Close: %v", err)
	}
	h.f = nil
}

// reopen closes the FSM and opens it again from its directory, as after a restart.
func (h *harness) reopen() {
	h.t.Helper()
	h.close()
	h.open()
}

// command wraps a request in a log command with its request hash. The stamp
// is left for the caller.
func command(req proto.Message) *fsmv1.Command {
	c := &fsmv1.Command{RequestHash: fsm.RequestHash(req)}
	switch r := req.(type) {
	case *bookdv1.CreateEventRequest:
		c.Op = &fsmv1.Command_CreateEvent{CreateEvent: r}
	case *bookdv1.HoldRequest:
		c.Op = &fsmv1.Command_Hold{Hold: r}
	case *bookdv1.ConfirmRequest:
		c.Op = &fsmv1.Command_Confirm{Confirm: r}
	case *bookdv1.ReleaseHoldRequest:
		c.Op = &fsmv1.Command_ReleaseHold{ReleaseHold: r}
	case *bookdv1.BookRequest:
		c.Op = &fsmv1.Command_Book{Book: r}
	case *bookdv1.CancelBookingRequest:
		c.Op = &fsmv1.Command_CancelBooking{CancelBooking: r}
	case *fsmv1.ExpireHolds:
		c.Op = &fsmv1.Command_ExpireHolds{ExpireHolds: r}
	case *fsmv1.RegisterMember:
		c.Op = &fsmv1.Command_RegisterMember{RegisterMember: r}
	case *fsmv1.UnregisterMember:
		c.Op = &fsmv1.Command_UnregisterMember{UnregisterMember: r}
	case *bookdv1.CreateProductRequest:
		c.Op = &fsmv1.Command_CreateProduct{CreateProduct: r}
	case *bookdv1.CloseEventRequest:
		c.Op = &fsmv1.Command_CloseEvent{CloseEvent: r}
	case *bookdv1.CancelEventRequest:
		c.Op = &fsmv1.Command_CancelEvent{CancelEvent: r}
	case *bookdv1.ExtendHoldRequest:
		c.Op = &fsmv1.Command_ExtendHold{ExtendHold: r}
	case *bookdv1.JoinWaitlistRequest:
		c.Op = &fsmv1.Command_JoinWaitlist{JoinWaitlist: r}
	case *bookdv1.LeaveWaitlistRequest:
		c.Op = &fsmv1.Command_LeaveWaitlist{LeaveWaitlist: r}
	case *fsmv1.Purge:
		c.Op = &fsmv1.Command_Purge{Purge: r}
	case *bookdv1.CreateQueueRequest:
		c.Op = &fsmv1.Command_CreateQueue{CreateQueue: r}
	case *bookdv1.DeleteQueueRequest:
		c.Op = &fsmv1.Command_DeleteQueue{DeleteQueue: r}
	case *bookdv1.PurgeQueueRequest:
		c.Op = &fsmv1.Command_PurgeQueue{PurgeQueue: r}
	case *bookdv1.EnqueueRequest:
		c.Op = &fsmv1.Command_Enqueue{Enqueue: r}
	case *bookdv1.ReceiveRequest:
		c.Op = &fsmv1.Command_Receive{Receive: r}
	case *bookdv1.AckRequest:
		c.Op = &fsmv1.Command_Ack{Ack: r}
	case *bookdv1.NackRequest:
		c.Op = &fsmv1.Command_Nack{Nack: r}
	case *bookdv1.ExtendLeaseRequest:
		c.Op = &fsmv1.Command_ExtendLease{ExtendLease: r}
	case *bookdv1.RedriveRequest:
		c.Op = &fsmv1.Command_Redrive{Redrive: r}
	case *bookdv1.CreateQuotaRequest:
		c.Op = &fsmv1.Command_CreateQuota{CreateQuota: r}
	case *bookdv1.CreateVoucherRequest:
		c.Op = &fsmv1.Command_CreateVoucher{CreateVoucher: r}
	default:
		panic(fmt.Sprintf("command: unsupported request %T", req))
	}
	return c
}

func stampedCommand(stamp int64, req proto.Message) *fsmv1.Command {
	c := command(req)
	c.StampUnixNanos = stamp
	return c
}

func encode(t testing.TB, c *fsmv1.Command) []byte {
	t.Helper()
	data, err := fsm.EncodeCommand(c)
	if err != nil {
		t.Fatalf("EncodeCommand: %v", err)
	}
	return data
}

// entries turns commands into log entries at the next indexes.
func (h *harness) entries(cmds ...*fsmv1.Command) []*raft.Log {
	h.t.Helper()
	logs := make([]*raft.Log, len(cmds))
	for i, c := range cmds {
		logs[i] = &raft.Log{Index: h.next, Term: 1, Type: raft.LogCommand, Data: encode(h.t, c)}
		h.next++
	}
	return logs
}

// applyCommands applies commands, stamped by the caller, in one batch.
func (h *harness) applyCommands(cmds ...*fsmv1.Command) []*fsm.Result {
	h.t.Helper()
	return results(h.t, h.f.ApplyBatch(h.entries(cmds...)))
}

func results(t testing.TB, out []any) []*fsm.Result {
	t.Helper()
	rs := make([]*fsm.Result, len(out))
	for i, r := range out {
		res, ok := r.(*fsm.Result)
		if !ok || res == nil {
			t.Fatalf("result %d is %T (%v), want a non-nil *fsm.Result", i, r, r)
		}
		if (res.Err == nil) == (res.Response == nil) {
			t.Fatalf("result %d: exactly one of Response (%v) and Err (%v) must be set", i, res.Response, res.Err)
		}
		rs[i] = res
	}
	return rs
}

// do applies one request stamped with h.now, alone in its batch.
func (h *harness) do(req proto.Message) *fsm.Result {
	h.t.Helper()
	return h.applyCommands(stampedCommand(h.now, req))[0]
}

// doAll applies requests stamped with h.now in one batch.
func (h *harness) doAll(reqs ...proto.Message) []*fsm.Result {
	h.t.Helper()
	cmds := make([]*fsmv1.Command, len(reqs))
	for i, r := range reqs {
		cmds[i] = stampedCommand(h.now, r)
	}
	return h.applyCommands(cmds...)
}

func mustOK[T proto.Message](t testing.TB, res *fsm.Result) T {
	t.Helper()
	if res == nil {
		t.Fatal("nil result")
	}
	if res.Err != nil {
		t.Fatalf("unexpected refusal: code %d reason %q: %s", res.Err.Code, res.Err.Reason, res.Err.Message)
	}
	resp, ok := res.Response.(T)
	if !ok {
		var want T
		t.Fatalf("response is %T, want %T", res.Response, want)
	}
	return resp
}

// wantErr checks that a command was refused with code and reason and a
// message containing every one of substrs.
func wantErr(t testing.TB, res *fsm.Result, code fsm.Code, reason string, substrs ...string) {
	t.Helper()
	if res == nil {
		t.Fatal("nil result")
	}
	if res.Err == nil {
		t.Fatalf("command succeeded with %v, want code %d reason %q", res.Response, code, reason)
	}
	if res.Response != nil {
		t.Errorf("refused command also has a response %v", res.Response)
	}
	checkError(t, res.Err, code, reason, substrs...)
}

func checkError(t testing.TB, err error, code fsm.Code, reason string, substrs ...string) {
	t.Helper()
	var e *fsm.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *fsm.Error", err, err)
	}
	if e.Code != code || e.Reason != reason {
		t.Errorf("error code %d reason %q (%s), want code %d reason %q", e.Code, e.Reason, e.Message, code, reason)
	}
	for _, s := range substrs {
		if !strings.Contains(e.Message, s) {
			t.Errorf("error message %q does not contain %q", e.Message, s)
		}
	}
	if !strings.HasPrefix(e.Error(), "fsm: ") {
		t.Errorf("Error() = %q, want the fsm: prefix", e.Error())
	}
}

func (h *harness) createEvent(req *bookdv1.CreateEventRequest) *bookdv1.Event {
	h.t.Helper()
	return mustOK[*bookdv1.CreateEventResponse](h.t, h.do(req)).GetEvent()
}

func (h *harness) hold(req *bookdv1.HoldRequest) *bookdv1.Hold {
	h.t.Helper()
	return mustOK[*bookdv1.HoldResponse](h.t, h.do(req)).GetHold()
}

func (h *harness) confirm(holdID string) *bookdv1.Booking {
	h.t.Helper()
	return mustOK[*bookdv1.ConfirmResponse](h.t, h.do(&bookdv1.ConfirmRequest{HoldId: holdID, PaymentRef: "pay-" + holdID})).GetBooking()
}

func (h *harness) release(holdID string) *bookdv1.Hold {
	h.t.Helper()
	return mustOK[*bookdv1.ReleaseHoldResponse](h.t, h.do(&bookdv1.ReleaseHoldRequest{HoldId: holdID})).GetHold()
}

func (h *harness) book(req *bookdv1.BookRequest) *bookdv1.Booking {
	h.t.Helper()
	return mustOK[*bookdv1.BookResponse](h.t, h.do(req)).GetBooking()
}

func (h *harness) cancel(bookingID string) *bookdv1.Booking {
	h.t.Helper()
	return mustOK[*bookdv1.CancelBookingResponse](h.t, h.do(&bookdv1.CancelBookingRequest{BookingId: bookingID})).GetBooking()
}

// avail reads an event's availability as of h.now.
func (h *harness) avail(eventID string) *bookdv1.GetAvailabilityResponse {
	h.t.Helper()
	return availAt(h.t, h.f, eventID, h.now)
}

func availAt(t testing.TB, f *fsm.FSM, eventID string, now int64) *bookdv1.GetAvailabilityResponse {
	t.Helper()
	a, err := f.Availability(eventID, now)
	if err != nil {
		t.Fatalf("Availability(%s, %d): %v", eventID, now, err)
	}
	return a
}

// readHold reads a hold as of time now.
func (h *harness) readHold(id string, now int64) *bookdv1.Hold {
	h.t.Helper()
	hd, err := h.f.Hold(id, now)
	if err != nil {
		h.t.Fatalf("Hold(%s): %v", id, err)
	}
	return hd
}

func (h *harness) readBooking(id string) *bookdv1.Booking {
	h.t.Helper()
	b, err := h.f.Booking(id)
	if err != nil {
		h.t.Fatalf("Booking(%s): %v", id, err)
	}
	return b
}

// checkAvail compares the GA and seat figures of an availability answer.
func checkAvail(t testing.TB, a *bookdv1.GetAvailabilityResponse, available, held, booked int64, free []string) {
	t.Helper()
	if a.GetAvailableQuantity() != available || a.GetHeldQuantity() != held || a.GetBookedQuantity() != booked {
		t.Errorf("availability of %s: available/held/booked = %d/%d/%d, want %d/%d/%d", a.GetEventId(),
			a.GetAvailableQuantity(), a.GetHeldQuantity(), a.GetBookedQuantity(), available, held, booked)
	}
	if !slices.Equal(a.GetFreeSeats(), free) {
		t.Errorf("free seats of %s = %q, want %q", a.GetEventId(), a.GetFreeSeats(), free)
	}
}

// Request builders.

func gaEvent(capacity int64) *bookdv1.CreateEventRequest {
	return &bookdv1.CreateEventRequest{Name: "GA show", Capacity: capacity}
}

func seatEvent(seats ...string) *bookdv1.CreateEventRequest {
	return &bookdv1.CreateEventRequest{Name: "Seated show", Seats: seats}
}

func gaHold(eventID string, quantity int64, ttl time.Duration) *bookdv1.HoldRequest {
	return &bookdv1.HoldRequest{EventId: eventID, CustomerId: "alice", Quantity: quantity, Ttl: durationpb.New(ttl)}
}

func seatHold(eventID string, ttl time.Duration, seats ...string) *bookdv1.HoldRequest {
	return &bookdv1.HoldRequest{EventId: eventID, CustomerId: "alice", Seats: seats, Ttl: durationpb.New(ttl)}
}

func gaBook(eventID string, quantity int64) *bookdv1.BookRequest {
	return &bookdv1.BookRequest{EventId: eventID, CustomerId: "bob", Quantity: quantity, PaymentRef: "pay"}
}

func seatBook(eventID string, seats ...string) *bookdv1.BookRequest {
	return &bookdv1.BookRequest{EventId: eventID, CustomerId: "bob", Seats: seats, PaymentRef: "pay"}
}

// Snapshots.

// memSink is a raft.SnapshotSink that keeps the snapshot in memory.
type memSink struct {
	bytes.Buffer
	closed, canceled bool
}

var _ raft.SnapshotSink = (*memSink)(nil)

func (s *memSink) ID() string { return "mem" }

func (s *memSink) Cancel() error {
	s.canceled = true
	return nil
}

func (s *memSink) Close() error {
	s.closed = true
	return nil
}

// snapshotOf takes a snapshot of f and persists it into memory.
func snapshotOf(t testing.TB, f *fsm.FSM) []byte {
	t.Helper()
	snap, err := f.Snapshot()
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	defer snap.Release()
	var sink memSink
	if err := snap.Persist(&sink); err != nil {
		t.Fatalf("Persist: %v", err)
	}
	if !sink.closed || sink.canceled {
		t.Fatalf("Persist left the sink closed=%v canceled=%v, want closed", sink.closed, sink.canceled)
	}
	return sink.Bytes()
}

// closeTracker records that Restore closed its reader.
type closeTracker struct {
	io.Reader
	closed bool
}

func (c *closeTracker) Close() error {
	c.closed = true
	return nil
}

func restore(t testing.TB, f *fsm.FSM, data []byte) error {
	t.Helper()
	rc := &closeTracker{Reader: bytes.NewReader(data)}
	err := f.Restore(rc)
	if !rc.closed {
		t.Errorf("Restore did not close its reader")
	}
	return err
}

func digest(t testing.TB, f *fsm.FSM) (uint64, []byte) {
	t.Helper()
	applied, sum, err := f.Digest()
	if err != nil {
		t.Fatalf("Digest: %v", err)
	}
	return applied, sum
}

func sameDigest(t testing.TB, a, b *fsm.FSM) {
	t.Helper()
	ia, da := digest(t, a)
	ib, db := digest(t, b)
	if ia != ib || !bytes.Equal(da, db) {
		t.Errorf("digests differ: index %d %x vs index %d %x", ia, da, ib, db)
	}
}

func dirNames(t testing.TB, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("ReadDir(%s): %v", dir, err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func id(kind string, index uint64) string { return fmt.Sprintf("%s_%d", kind, index) }
