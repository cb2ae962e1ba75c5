package rpc_test

import (
	"context"
	"crypto/tls"
	"net/http"
	"testing"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpcreflect"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/proto/bookd/v1/bookdv1connect"
	"github.com/bookd/bookd/rpc/clustertest"
)

// A cluster with TLS, mutual TLS between nodes and tokens refuses calls
// without valid credentials (UNAUTHENTICATED) or with a role too weak
// (PERMISSION_DENIED), unary and streaming alike, and serves the rest,
// including writes a follower forwards to the leader over mutual TLS.
func TestTokensAndRoles(t *testing.T) {
	c := clustertest.Start(t, 3, clustertest.Options{Secure: true})
	sec := c.Security
	leader := c.WaitReady()
	follower := c.Nodes[0]
	if follower == leader {
		follower = c.Nodes[1]
	}
	sc := secureClients{base: "https://" + follower.RPCAddr, tls: sec.ClientTLS()}
	ctx := context.Background()
	admin, booker, reader := sec.Tokens["admin"], sec.Tokens["booker"], sec.Tokens["reader"]

	var ev *bookdv1.Event
	createEvent := func(tok string) error {
		resp, err := sc.booking(tok).CreateEvent(ctx, &bookdv1.CreateEventRequest{Name: "Secured", Capacity: 10, IdempotencyKey: "secured-create"})
		if err == nil {
			ev = resp.Event
		}
		return err
	}
	book := func(tok string) error {
		_, err := sc.booking(tok).Book(ctx, &bookdv1.BookRequest{EventId: ev.GetId(), CustomerId: "c", Quantity: 1, IdempotencyKey: "secured-book-" + tok})
		return err
	}
	availability := func(tok string) error {
		av, err := sc.booking(tok).GetAvailability(ctx, &bookdv1.GetAvailabilityRequest{EventId: ev.GetId()})
		if err == nil && av.BookedQuantity != 1 {
			t.Errorf("availability %v, want 1 booked", av)
		}
		return err
	}
	removeNode := func(tok string) error {
		_, err := sc.cluster(tok).RemoveNode(ctx, &bookdv1.RemoveNodeRequest{Id: "n9"})
		return err
	}
	status := func(tok string) error {
		_, err := sc.cluster(tok).GetStatus(ctx, &bookdv1.GetStatusRequest{})
		return err
	}
	// gRPC reflection is a bidirectional stream.
	stream := func(opts ...connect.ClientOption) func(string) error {
		return func(tok string) error {
			s := grpcreflect.NewClient(sc.http(tok), sc.base, opts...).NewStream(ctx)
			defer s.Close()
			_, err := s.ListServices()
			return err
		}
	}

	// WatchChanges is a server stream: the first change (event_created)
	// comes only to a caller allowed to read.
	watchFeed := func(tok string) error {
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		s, err := sc.booking(tok).WatchChanges(wctx, &bookdv1.WatchChangesRequest{})
		if err != nil {
			return err
		}
		defer s.Close()
		if !s.Receive() {
			return s.Err()
		}
		return nil
	}

	for _, tc := range []struct {
		name  string
		token string
		call  func(token string) error
		want  connect.Code // 0: success
	}{
		{"create event without a token", "", createEvent, connect.CodeUnauthenticated},
		{"create event with a wrong token", "not-a-token-of-this-cluster", createEvent, connect.CodeUnauthenticated},
		{"create event as reader", reader, createEvent, connect.CodePermissionDenied},
		{"create event as booker", booker, createEvent, connect.CodePermissionDenied},
		{"create event as admin", admin, createEvent, 0},
		{"book as reader", reader, book, connect.CodePermissionDenied},
		{"book without a token", "", book, connect.CodeUnauthenticated},
		{"book as booker", booker, book, 0},
		{"read as reader", reader, availability, 0},
		{"remove a node as booker", booker, removeNode, connect.CodePermissionDenied},
		{"status as reader", reader, status, 0},
		{"stream without a token (gRPC)", "", stream(connect.WithGRPC()), connect.CodeUnauthenticated},
		{"stream with a wrong token (Connect)", "wrong-token-0123456789", stream(), connect.CodeUnauthenticated},
		{"stream as reader", reader, stream(), 0},
		{"watch the feed without a token", "", watchFeed, connect.CodeUnauthenticated},
		{"watch the feed with a wrong token", "wrong-token-0123456789", watchFeed, connect.CodeUnauthenticated},
		{"watch the feed as reader", reader, watchFeed, 0},
	} {
		err := tc.call(tc.token)
		for i := 0; tc.want == 0 && err != nil && outcomeUnknown(err) && i < 20; i++ {
			time.Sleep(100 * time.Millisecond) // a leader change: retry
			err = tc.call(tc.token)
		}
		if got := connect.CodeOf(err); (tc.want == 0 && err != nil) || (tc.want != 0 && got != tc.want) {
			t.Errorf("%s: %v, want code %v", tc.name, err, tc.want)
		}
	}

	// Cleartext HTTP to a TLS port is no way around it.
	plain := bookdv1connect.NewBookingServiceClient(http.DefaultClient, "http://"+follower.RPCAddr)
	if _, err := plain.ListEvents(ctx, &bookdv1.ListEventsRequest{}); err == nil {
		t.Errorf("a cleartext call to a TLS port succeeded")
	}
}

// secureClients makes clients of one node that trust the cluster's CA.
type secureClients struct {
	base string
	tls  *tls.Config
}

func (s secureClients) http(token string) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = s.tls
	t.Protocols = new(http.Protocols)
	t.Protocols.SetHTTP1(true)
	t.Protocols.SetHTTP2(true)
	return &http.Client{Transport: withToken{t, token}}
}

func (s secureClients) booking(token string) bookdv1connect.BookingServiceClient {
	return bookdv1connect.NewBookingServiceClient(s.http(token), s.base)
}

func (s secureClients) cluster(token string) bookdv1connect.ClusterServiceClient {
	return bookdv1connect.NewClusterServiceClient(s.http(token), s.base)
}

type withToken struct {
	next  http.RoundTripper
	token string
}

func (w withToken) RoundTrip(r *http.Request) (*http.Response, error) {
	if w.token != "" {
		r = r.Clone(r.Context())
		r.Header.Set("Authorization", "Bearer "+w.token)
	}
	return w.next.RoundTrip(r)
}
