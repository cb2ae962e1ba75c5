package client_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"

	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/proto/bookd/v1/bookdv1connect"
)

// fakeNode is a bookd node reduced to what the Client's routing and retries
// can observe: it records requests, fails calls as scripted and reports a
// leader. It is served over a real socket with HTTP/1.1 and cleartext HTTP/2.
type fakeNode struct {
	bookdv1connect.UnimplementedBookingServiceHandler
	bookdv1connect.UnimplementedClusterServiceHandler

	name string
	Addr string // host:port
	URL  string // http://host:port

	mu     sync.Mutex
	reqs   []proto.Message
	protos []int       // HTTP major version of each request
	marks  []string    // the Bookd-First-Attempt header of each request
	errs   []error     // the error of each call in turn; nil or past the end: success
	fail   error       // when set, the error of every call past errs
	leader string      // sent as Bookd-Leader when not empty
	onCall func(n int) // runs before answering call n (1-based)
}

func newFakeNode(t *testing.T, name string) *fakeNode {
	t.Helper()
	f := &fakeNode{name: name}
	mux := http.NewServeMux()
	mux.Handle(bookdv1connect.NewBookingServiceHandler(f))
	mux.Handle(bookdv1connect.NewClusterServiceHandler(f))
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.protos = append(f.protos, r.ProtoMajor)
		f.marks = append(f.marks, r.Header.Get("Bookd-First-Attempt"))
		leader := f.leader
		f.mu.Unlock()
		if leader != "" {
			w.Header().Set("Bookd-Leader", leader)
		}
		mux.ServeHTTP(w, r)
	}))
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetHTTP1(true)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Start()
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	f.Addr = srv.Listener.Addr().String()
	return f
}

// deadAddr returns the address of a port nothing listens on.
func deadAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func (f *fakeNode) setLeader(addr string) {
	f.mu.Lock()
	f.leader = addr
	f.mu.Unlock()
}

func (f *fakeNode) script(errs ...error) {
	f.mu.Lock()
	f.errs = errs
	f.mu.Unlock()
}

func (f *fakeNode) failAlways(err error) {
	f.mu.Lock()
	f.fail = err
	f.mu.Unlock()
}

// requests returns the requests the node has answered or refused.
func (f *fakeNode) requests() []proto.Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]proto.Message(nil), f.reqs...)
}

func (f *fakeNode) calls() int { return len(f.requests()) }

// firstMarks returns each request's first-attempt mark ("" for none).
func (f *fakeNode) firstMarks() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.marks...)
}

func (f *fakeNode) httpVersions() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]int(nil), f.protos...)
}

// answer records req and returns the scripted error of this call.
func (f *fakeNode) answer(req proto.Message) error {
	f.mu.Lock()
	f.reqs = append(f.reqs, req)
	n := len(f.reqs)
	err := f.fail
	if n <= len(f.errs) {
		err = f.errs[n-1]
	}
	onCall := f.onCall
	f.mu.Unlock()
	if onCall != nil {
		onCall(n)
	}
	return err
}

func reply[Res any](f *fakeNode, req proto.Message, res *Res) (*Res, error) {
	if err := f.answer(req); err != nil {
		return nil, err
	}
	return res, nil
}

// unavailable is the error of a node with no leader.
func unavailable() error {
	return connect.NewError(connect.CodeUnavailable, errors.New("no leader"))
}

// refusal is a business error with a Bookd-Reason.
func refusal(code connect.Code, reason string) error {
	err := connect.NewError(code, errors.New("refused"))
	if reason != "" {
		err.Meta().Set("Bookd-Reason", reason)
	}
	return err
}

func (f *fakeNode) CreateEvent(_ context.Context, r *bookdv1.CreateEventRequest) (*bookdv1.CreateEventResponse, error) {
	return reply(f, r, &bookdv1.CreateEventResponse{Event: &bookdv1.Event{Id: "e1", Name: r.GetName()}})
}

func (f *fakeNode) GetEvent(_ context.Context, r *bookdv1.GetEventRequest) (*bookdv1.GetEventResponse, error) {
	return reply(f, r, &bookdv1.GetEventResponse{Event: &bookdv1.Event{Id: r.GetEventId(), Name: f.name}})
}

func (f *fakeNode) ListEvents(_ context.Context, r *bookdv1.ListEventsRequest) (*bookdv1.ListEventsResponse, error) {
	return reply(f, r, &bookdv1.ListEventsResponse{})
}

func (f *fakeNode) GetAvailability(_ context.Context, r *bookdv1.GetAvailabilityRequest) (*bookdv1.GetAvailabilityResponse, error) {
	return reply(f, r, &bookdv1.GetAvailabilityResponse{EventId: r.GetEventId()})
}

func (f *fakeNode) Hold(_ context.Context, r *bookdv1.HoldRequest) (*bookdv1.HoldResponse, error) {
	return reply(f, r, &bookdv1.HoldResponse{Hold: &bookdv1.Hold{Id: "h1", EventId: r.GetEventId()}})
}

func (f *fakeNode) Confirm(_ context.Context, r *bookdv1.ConfirmRequest) (*bookdv1.ConfirmResponse, error) {
	return reply(f, r, &bookdv1.ConfirmResponse{Booking: &bookdv1.Booking{Id: "b1", HoldId: r.GetHoldId()}})
}

func (f *fakeNode) ReleaseHold(_ context.Context, r *bookdv1.ReleaseHoldRequest) (*bookdv1.ReleaseHoldResponse, error) {
	return reply(f, r, &bookdv1.ReleaseHoldResponse{Hold: &bookdv1.Hold{Id: r.GetHoldId()}})
}

func (f *fakeNode) Book(_ context.Context, r *bookdv1.BookRequest) (*bookdv1.BookResponse, error) {
	return reply(f, r, &bookdv1.BookResponse{Booking: &bookdv1.Booking{Id: "b1", EventId: r.GetEventId()}})
}

func (f *fakeNode) CancelBooking(_ context.Context, r *bookdv1.CancelBookingRequest) (*bookdv1.CancelBookingResponse, error) {
	return reply(f, r, &bookdv1.CancelBookingResponse{Booking: &bookdv1.Booking{Id: r.GetBookingId()}})
}

func (f *fakeNode) GetStatus(_ context.Context, r *bookdv1.GetStatusRequest) (*bookdv1.GetStatusResponse, error) {
	return reply(f, r, &bookdv1.GetStatusResponse{NodeId: f.name})
}

func (f *fakeNode) TransferLeadership(_ context.Context, r *bookdv1.TransferLeadershipRequest) (*bookdv1.TransferLeadershipResponse, error) {
	return reply(f, r, &bookdv1.TransferLeadershipResponse{LeaderId: r.GetId()})
}

func (f *fakeNode) GetHold(_ context.Context, r *bookdv1.GetHoldRequest) (*bookdv1.GetHoldResponse, error) {
	return reply(f, r, &bookdv1.GetHoldResponse{Hold: &bookdv1.Hold{Id: r.GetHoldId()}})
}

func (f *fakeNode) GetBooking(_ context.Context, r *bookdv1.GetBookingRequest) (*bookdv1.GetBookingResponse, error) {
	return reply(f, r, &bookdv1.GetBookingResponse{Booking: &bookdv1.Booking{Id: r.GetBookingId()}})
}

func (f *fakeNode) ListBookings(_ context.Context, r *bookdv1.ListBookingsRequest) (*bookdv1.ListBookingsResponse, error) {
	return reply(f, r, &bookdv1.ListBookingsResponse{})
}

func (f *fakeNode) AddNode(_ context.Context, r *bookdv1.AddNodeRequest) (*bookdv1.AddNodeResponse, error) {
	return reply(f, r, &bookdv1.AddNodeResponse{Members: []*bookdv1.Member{{Id: r.GetId()}}})
}

func (f *fakeNode) RemoveNode(_ context.Context, r *bookdv1.RemoveNodeRequest) (*bookdv1.RemoveNodeResponse, error) {
	return reply(f, r, &bookdv1.RemoveNodeResponse{})
}
