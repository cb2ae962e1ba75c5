package client_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/bookd/bookd/client"
)

// newClient returns a Client for endpoints that retries without noticeable
// waits, closed when the test ends.
func newClient(t *testing.T, endpoints []string, opts ...client.Option) *client.Client {
	t.Helper()
	opts = append([]client.Option{client.WithBackoff(time.Millisecond, 4*time.Millisecond)}, opts...)
	c, err := client.New(endpoints, opts...)
	if err != nil {
		t.Fatalf("New(%q): %v", endpoints, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestNew(t *testing.T) {
	tests := []struct {
		name      string
		endpoints []string
		opts      []client.Option
		wantErr   bool
	}{
		{name: "host:port", endpoints: []string{"10.0.0.1:7070"}},
		{name: "http URL", endpoints: []string{"http://node1:7070"}},
		{name: "https URL with slash", endpoints: []string{"https://node1:7070/"}},
		{name: "IPv6", endpoints: []string{"[::1]:7070"}},
		{name: "duplicates", endpoints: []string{"node1:7070", "http://node1:7070"}},
		{name: "options", endpoints: []string{"node1:7070"}, opts: []client.Option{
			client.WithMaxAttempts(1), client.WithBackoff(0, 0), client.WithHTTPClient(&http.Client{}), client.WithLogger(nil),
		}},
		{name: "no endpoints", wantErr: true},
		{name: "empty endpoint", endpoints: []string{"node1:7070", ""}, wantErr: true},
		{name: "no port", endpoints: []string{"node1"}, wantErr: true},
		{name: "no host", endpoints: []string{":7070"}, wantErr: true},
		{name: "port zero", endpoints: []string{"node1:0"}, wantErr: true},
		{name: "port too large", endpoints: []string{"node1:70000"}, wantErr: true},
		{name: "other scheme", endpoints: []string{"grpc://node1:7070"}, wantErr: true},
		{name: "path", endpoints: []string{"http://node1:7070/api"}, wantErr: true},
		{name: "zero attempts", endpoints: []string{"node1:7070"}, opts: []client.Option{client.WithMaxAttempts(0)}, wantErr: true},
		{name: "backoff max below initial", endpoints: []string{"node1:7070"}, opts: []client.Option{client.WithBackoff(time.Second, time.Millisecond)}, wantErr: true},
		{name: "negative backoff", endpoints: []string{"node1:7070"}, opts: []client.Option{client.WithBackoff(-time.Second, time.Second)}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := client.New(tt.endpoints, tt.opts...)
			if (err != nil) != tt.wantErr {
				t.Fatalf("New(%q) error = %v, want error %v", tt.endpoints, err, tt.wantErr)
			}
			if c != nil {
				if got := c.Leader(); got != "" {
					t.Errorf("Leader() of a new Client = %q, want \"\"", got)
				}
				c.Close()
			}
		})
	}
}

func TestDefaultTransportSpeaksCleartextHTTP2(t *testing.T) {
	n := newFakeNode(t, "n1")
	c := newClient(t, []string{n.Addr})
	for range 3 {
		if _, err := c.GetEvent(t.Context(), "e1"); err != nil {
			t.Fatal(err)
		}
	}
	for i, v := range n.httpVersions() {
		if v != 2 {
			t.Errorf("request %d used HTTP/%d, want HTTP/2", i, v)
		}
	}
}

type countingTransport struct {
	n    atomic.Int64
	next http.RoundTripper
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.next.RoundTrip(r)
}

func TestWithHTTPClient(t *testing.T) {
	n := newFakeNode(t, "n1")
	n.setLeader(n.Addr)
	rt := &countingTransport{next: http.DefaultTransport}
	c := newClient(t, []string{n.URL}, client.WithHTTPClient(&http.Client{Transport: rt}))
	if _, err := c.Status(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := rt.n.Load(); got != 1 {
		t.Errorf("the given HTTP client sent %d requests, want 1", got)
	}
	if got := c.Leader(); got != n.Addr {
		t.Errorf("Leader() over HTTP/1.1 = %q, want %q", got, n.Addr)
	}
}

func TestReason(t *testing.T) {
	withReason := connect.NewError(connect.CodeFailedPrecondition, errors.New("seat A1 is taken"))
	withReason.Meta().Set("Bookd-Reason", client.ReasonSeatTaken)
	tests := []struct {
		name string
		err  error
		want string
	}{
		{name: "nil", err: nil, want: ""},
		{name: "not a connect error", err: errors.New("boom"), want: ""},
		{name: "no reason", err: connect.NewError(connect.CodeNotFound, errors.New("no such event")), want: ""},
		{name: "reason", err: withReason, want: client.ReasonSeatTaken},
		{name: "wrapped", err: fmt.Errorf("hold: %w", withReason), want: client.ReasonSeatTaken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := client.Reason(tt.err); got != tt.want {
				t.Errorf("Reason(%v) = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
}

func TestNewIdempotencyKey(t *testing.T) {
	a, b := client.NewIdempotencyKey(), client.NewIdempotencyKey()
	if !isKey(a) || !isKey(b) {
		t.Fatalf("NewIdempotencyKey() = %q, %q, want 32 hex digits", a, b)
	}
	if a == b {
		t.Errorf("two calls to NewIdempotencyKey() returned %q", a)
	}
	// Keys lead with the time in milliseconds: one made later sorts after.
	time.Sleep(2 * time.Millisecond)
	if c := client.NewIdempotencyKey(); c <= a || c <= b {
		t.Errorf("NewIdempotencyKey() = %q after %q and %q, want it to sort after both", c, a, b)
	}
	ms, err := strconv.ParseInt(a[:12], 16, 64)
	if now := time.Now().UnixMilli(); err != nil || ms > now || ms < now-60_000 {
		t.Errorf("NewIdempotencyKey() = %q: its first 12 digits are not the time in ms (now %x)", a, now)
	}
}

// isKey reports whether k looks like a key the Client generates.
func isKey(k string) bool {
	if len(k) != 32 {
		return false
	}
	for _, r := range k {
		if !('0' <= r && r <= '9' || 'a' <= r && r <= 'f') {
			return false
		}
	}
	return true
}

// ctxWithTimeout is t.Context bounded by d.
func ctxWithTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}
