package client_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/bookd/bookd/client"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
)

type keyed interface {
	proto.Message
	GetIdempotencyKey() string
}

// mutations calls each mutation with a request whose idempotency key is
// empty, and returns that request so the test can check it was not changed.
var mutations = []struct {
	name string
	req  func() keyed
	call func(context.Context, *client.Client, keyed) error
}{
	{
		name: "CreateEvent",
		req:  func() keyed { return &bookdv1.CreateEventRequest{Name: "gig", Capacity: 10} },
		call: func(ctx context.Context, c *client.Client, r keyed) error {
			_, err := c.CreateEvent(ctx, r.(*bookdv1.CreateEventRequest))
			return err
		},
	},
	{
		name: "Hold",
		req: func() keyed {
			return &bookdv1.HoldRequest{EventId: "e1", CustomerId: "alice", Seats: []string{"A1", "A2"}, Ttl: durationpb.New(time.Minute)}
		},
		call: func(ctx context.Context, c *client.Client, r keyed) error {
			_, err := c.Hold(ctx, r.(*bookdv1.HoldRequest))
			return err
		},
	},
	{
		name: "Confirm",
		req:  func() keyed { return &bookdv1.ConfirmRequest{HoldId: "h1", PaymentRef: "pay-1"} },
		call: func(ctx context.Context, c *client.Client, r keyed) error {
			_, err := c.Confirm(ctx, r.(*bookdv1.ConfirmRequest))
			return err
		},
	},
	{
		name: "ReleaseHold",
		req:  func() keyed { return &bookdv1.ReleaseHoldRequest{HoldId: "h1"} },
		call: func(ctx context.Context, c *client.Client, r keyed) error {
			_, err := c.ReleaseHold(ctx, r.(*bookdv1.ReleaseHoldRequest))
			return err
		},
	},
	{
		name: "Book",
		req:  func() keyed { return &bookdv1.BookRequest{EventId: "e1", CustomerId: "bob", Quantity: 2} },
		call: func(ctx context.Context, c *client.Client, r keyed) error {
			_, err := c.Book(ctx, r.(*bookdv1.BookRequest))
			return err
		},
	},
	{
		name: "CancelBooking",
		req:  func() keyed { return &bookdv1.CancelBookingRequest{BookingId: "b1"} },
		call: func(ctx context.Context, c *client.Client, r keyed) error {
			_, err := c.CancelBooking(ctx, r.(*bookdv1.CancelBookingRequest))
			return err
		},
	},
}

func TestMutationRetriesReuseOneKey(t *testing.T) {
	for _, m := range mutations {
		t.Run(m.name, func(t *testing.T) {
			n := newFakeNode(t, "n1")
			n.script(unavailable(), unavailable())
			c := newClient(t, []string{n.Addr})
			req := m.req()
			pristine := proto.Clone(req)

			if err := m.call(t.Context(), c, req); err != nil {
				t.Fatalf("%s after two UNAVAILABLE answers: %v", m.name, err)
			}
			reqs := n.requests()
			if len(reqs) != 3 {
				t.Fatalf("node got %d requests, want 3", len(reqs))
			}
			key := reqs[0].(keyed).GetIdempotencyKey()
			if !isKey(key) {
				t.Errorf("generated idempotency key = %q, want 32 hex digits", key)
			}
			for i, r := range reqs {
				if got := r.(keyed).GetIdempotencyKey(); got != key {
					t.Errorf("attempt %d sent key %q, attempt 1 sent %q", i+1, got, key)
				}
			}
			if !proto.Equal(req, pristine) {
				t.Errorf("the caller's request changed: got %v, want %v", req, pristine)
			}
			if err := m.call(t.Context(), c, req); err != nil {
				t.Fatal(err)
			}
			if again := n.requests()[3].(keyed).GetIdempotencyKey(); again == key {
				t.Errorf("a second call with an empty key reused key %q", key)
			}
		})
	}
}

func TestMutationKeepsCallersKey(t *testing.T) {
	n := newFakeNode(t, "n1")
	n.script(unavailable())
	c := newClient(t, []string{n.Addr})
	if _, err := c.Hold(t.Context(), &bookdv1.HoldRequest{EventId: "e1", Quantity: 1, IdempotencyKey: "order-42"}); err != nil {
		t.Fatal(err)
	}
	for i, r := range n.requests() {
		if got := r.(keyed).GetIdempotencyKey(); got != "order-42" {
			t.Errorf("attempt %d sent key %q, want the caller's %q", i+1, got, "order-42")
		}
	}
}

func TestNilMutationGetsKey(t *testing.T) {
	n := newFakeNode(t, "n1")
	c := newClient(t, []string{n.Addr})
	if _, err := c.Book(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	if got := n.requests()[0].(keyed).GetIdempotencyKey(); !isKey(got) {
		t.Errorf("Book(nil) sent key %q, want a generated one", got)
	}
}

func TestReadsAreRetried(t *testing.T) {
	n := newFakeNode(t, "n1")
	n.script(unavailable(), unavailable())
	c := newClient(t, []string{n.Addr})
	ev, err := c.GetEvent(t.Context(), "e7")
	if err != nil {
		t.Fatal(err)
	}
	if ev.GetId() != "e7" {
		t.Errorf("GetEvent returned event %q, want e7", ev.GetId())
	}
	if got := n.calls(); got != 3 {
		t.Errorf("node got %d requests, want 3", got)
	}
}

// UNAVAILABLE, and CANCELED or DEADLINE_EXCEEDED while the caller's context
// is live (connect's codes for a reset connection or a dial timeout), are
// retried; every other code is the answer.
func TestOnlyTransportFailuresAreRetried(t *testing.T) {
	tests := []struct {
		code   connect.Code
		reason string
	}{
		{code: connect.CodeInvalidArgument},
		{code: connect.CodeInvalidArgument, reason: client.ReasonUnknownSeat},
		{code: connect.CodeNotFound},
		{code: connect.CodeFailedPrecondition, reason: client.ReasonSeatTaken},
		{code: connect.CodeFailedPrecondition, reason: client.ReasonHoldExpired},
		{code: connect.CodeAlreadyExists, reason: client.ReasonIdempotencyKeyReused},
		{code: connect.CodeInternal},
		{code: connect.CodeResourceExhausted},
	}
	for _, tt := range tests {
		t.Run(tt.code.String()+"/"+tt.reason, func(t *testing.T) {
			a, b := newFakeNode(t, "a"), newFakeNode(t, "b")
			a.failAlways(refusal(tt.code, tt.reason))
			c := newClient(t, []string{a.Addr, b.Addr})

			_, err := c.Hold(t.Context(), &bookdv1.HoldRequest{EventId: "e1", Seats: []string{"A1"}})
			if got := connect.CodeOf(err); got != tt.code {
				t.Errorf("Hold error = %v, want code %v", err, tt.code)
			}
			if got := client.Reason(err); got != tt.reason {
				t.Errorf("Reason(err) = %q, want %q", got, tt.reason)
			}
			if got := a.calls() + b.calls(); got != 1 {
				t.Errorf("nodes got %d requests in all, want 1", got)
			}
		})
	}
}

func TestGivesUpAfterMaxAttempts(t *testing.T) {
	n := newFakeNode(t, "n1")
	n.failAlways(unavailable())
	c := newClient(t, []string{n.Addr}, client.WithMaxAttempts(3))

	_, err := c.Confirm(t.Context(), &bookdv1.ConfirmRequest{HoldId: "h1"})
	if got := connect.CodeOf(err); got != connect.CodeUnavailable {
		t.Fatalf("Confirm error = %v, want code %v", err, connect.CodeUnavailable)
	}
	if got := n.calls(); got != 3 {
		t.Errorf("node got %d requests, want 3", got)
	}
	key := n.requests()[0].(keyed).GetIdempotencyKey()
	if !strings.Contains(err.Error(), key) {
		t.Errorf("error %q does not name the idempotency key %q to retry with", err, key)
	}
}

func TestMaxAttemptsOneDisablesRetries(t *testing.T) {
	n := newFakeNode(t, "n1")
	n.failAlways(unavailable())
	c := newClient(t, []string{n.Addr}, client.WithMaxAttempts(1))
	if _, err := c.GetHold(t.Context(), "h1"); connect.CodeOf(err) != connect.CodeUnavailable {
		t.Fatalf("GetHold error = %v, want code %v", err, connect.CodeUnavailable)
	}
	if got := n.calls(); got != 1 {
		t.Errorf("node got %d requests, want 1", got)
	}
}

func TestCancelStopsRetries(t *testing.T) {
	n := newFakeNode(t, "n1")
	n.failAlways(unavailable())
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	n.onCall = func(call int) {
		if call == 2 {
			cancel()
		}
	}
	c := newClient(t, []string{n.Addr}, client.WithBackoff(0, 0))

	_, err := c.Book(ctx, &bookdv1.BookRequest{EventId: "e1", Quantity: 1})
	if !errors.Is(err, context.Canceled) || connect.CodeOf(err) != connect.CodeCanceled {
		t.Errorf("Book error = %v, want context.Canceled with code %v", err, connect.CodeCanceled)
	}
	if got := n.calls(); got != 2 {
		t.Errorf("node got %d requests, want 2 (none after the cancel)", got)
	}
}

func TestDeadlineEndsBackoff(t *testing.T) {
	n := newFakeNode(t, "n1")
	n.failAlways(unavailable())
	// The first retry would wait an hour; the deadline must cut it short.
	c := newClient(t, []string{n.Addr}, client.WithBackoff(time.Hour, time.Hour))
	ctx := ctxWithTimeout(t, 200*time.Millisecond)

	_, err := c.Availability(ctx, "e1")
	if !errors.Is(err, context.DeadlineExceeded) || connect.CodeOf(err) != connect.CodeDeadlineExceeded {
		t.Errorf("Availability error = %v, want context.DeadlineExceeded with code %v", err, connect.CodeDeadlineExceeded)
	}
	if got := n.calls(); got > 1 {
		t.Errorf("node got %d requests, want at most 1", got)
	}
}

func TestUnreachableNodeIsSkipped(t *testing.T) {
	n := newFakeNode(t, "n1")
	c := newClient(t, []string{deadAddr(t), n.Addr})
	hold, err := c.Hold(t.Context(), &bookdv1.HoldRequest{EventId: "e1", Quantity: 2})
	if err != nil {
		t.Fatalf("Hold with the first endpoint down: %v", err)
	}
	if hold.GetEventId() != "e1" {
		t.Errorf("Hold returned %v", hold)
	}
	if got := n.calls(); got != 1 {
		t.Errorf("live node got %d requests, want 1", got)
	}
}

func TestAllNodesUnreachable(t *testing.T) {
	c := newClient(t, []string{deadAddr(t), deadAddr(t)}, client.WithMaxAttempts(4))
	_, err := c.GetBooking(t.Context(), "b1")
	if got := connect.CodeOf(err); got != connect.CodeUnavailable {
		t.Errorf("GetBooking error = %v, want code %v", err, connect.CodeUnavailable)
	}
}

func TestNilListRequestIsSentEmpty(t *testing.T) {
	n := newFakeNode(t, "n1")
	n.script(unavailable())
	c := newClient(t, []string{n.Addr})
	if _, err := c.ListEvents(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	if got := n.calls(); got != 2 {
		t.Errorf("node got %d requests, want 2", got)
	}
}

func TestWithLoggerLogsRetries(t *testing.T) {
	n := newFakeNode(t, "n1")
	n.script(unavailable())
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c := newClient(t, []string{n.Addr}, client.WithLogger(logger))
	if _, err := c.ReleaseHold(t.Context(), &bookdv1.ReleaseHoldRequest{HoldId: "h1"}); err != nil {
		t.Fatal(err)
	}
	key := n.requests()[0].(keyed).GetIdempotencyKey()
	for _, want := range []string{"retrying", "method=ReleaseHold", "attempt=1", "idempotency_key=" + key} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("log %q does not contain %q", buf.String(), want)
		}
	}
}

func TestBrokenConnectionIsRetriedWithTheSameKey(t *testing.T) {
	n := newFakeNode(t, "n1")
	n.script(refusal(connect.CodeCanceled, ""), refusal(connect.CodeDeadlineExceeded, ""))
	c := newClient(t, []string{n.Addr})
	if _, err := c.Book(t.Context(), &bookdv1.BookRequest{EventId: "e1", Quantity: 1}); err != nil {
		t.Fatalf("Book: %v", err)
	}
	reqs := n.requests()
	if len(reqs) != 3 {
		t.Fatalf("node got %d requests, want 3", len(reqs))
	}
	key := reqs[0].(*bookdv1.BookRequest).GetIdempotencyKey()
	for i, r := range reqs {
		if got := r.(*bookdv1.BookRequest).GetIdempotencyKey(); got != key || key == "" {
			t.Errorf("attempt %d sent key %q, first %q", i, got, key)
		}
	}
}

// silentAddr is a node that accepts connections and never answers, like a
// paused process.
func silentAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().String()
}

func TestSilentNodeCostsOneAttempt(t *testing.T) {
	n := newFakeNode(t, "n1")
	c := newClient(t, []string{silentAddr(t), n.Addr}, client.WithAttemptTimeout(100*time.Millisecond))
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	if _, err := c.Hold(ctx, &bookdv1.HoldRequest{EventId: "e1", Quantity: 2}); err != nil {
		t.Fatalf("Hold with the first endpoint silent: %v", err)
	}
	if got := n.calls(); got != 1 {
		t.Errorf("live node got %d requests, want 1", got)
	}
}

// badRequestAddr answers every request with a bare HTTP 400, as a proxy or a
// confused load balancer might: no bookd node said anything.
func badRequestAddr(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "Bad Request", http.StatusBadRequest)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func TestAnswerFromNoNodeIsRetried(t *testing.T) {
	n := newFakeNode(t, "n1")
	c := newClient(t, []string{badRequestAddr(t), n.Addr})
	if _, err := c.Hold(t.Context(), &bookdv1.HoldRequest{EventId: "e1", Quantity: 2}); err != nil {
		t.Fatalf("Hold with the first endpoint answering a bare 400: %v", err)
	}
	if got := n.calls(); got != 1 {
		t.Errorf("live node got %d requests, want 1", got)
	}
}
