package edge_test

import (
	"context"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/proto/bookd/v1/bookdv1connect"
	"github.com/bookd/bookd/rpc/clustertest"
	"github.com/bookd/bookd/rpc/edge"
)

// forwardedFor is a client of run whose calls say they were forwarded for
// addr (as a load balancer in front of the edge would say).
func forwardedFor(run *edge.Running, addr string) bookdv1connect.BookingServiceClient {
	xff := connect.UnaryInterceptorFunc(func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			req.Header().Set("X-Forwarded-For", addr)
			return next(ctx, req)
		}
	})
	return bookdv1connect.NewBookingServiceClient(&http.Client{Jar: newJar()}, "http://"+run.Addr(), connect.WithProtoJSON(), connect.WithInterceptors(xff))
}

// TestRateLimitSparesConfirmAndRelease: a shopper past the per-client rate
// can still confirm and let go of what they hold.
func TestRateLimitSparesConfirmAndRelease(t *testing.T) {
	c := clustertest.Start(t, 1, clustertest.Options{})
	cl := newClient(t, c.Endpoints())
	ev := createEvent(t, cl, &bookdv1.CreateEventRequest{Name: "Rate", Capacity: 10})
	run, _ := startEdge(t, c, edge.Config{ClientRate: 0.01, ClientBurst: 2})
	ec := edgeClient(run)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, err := ec.Hold(ctx, &bookdv1.HoldRequest{EventId: ev.GetId(), Quantity: 1})
	if err != nil {
		t.Fatal(err)
	}
	b, err := ec.Hold(ctx, &bookdv1.HoldRequest{EventId: ev.GetId(), Quantity: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ec.GetAvailability(ctx, &bookdv1.GetAvailabilityRequest{EventId: ev.GetId()}); connect.CodeOf(err) != connect.CodeResourceExhausted {
		t.Fatalf("a read past the rate: %v, want RESOURCE_EXHAUSTED", err)
	}
	if _, err := ec.Confirm(ctx, &bookdv1.ConfirmRequest{HoldId: a.GetHold().GetId(), PaymentRef: "p"}); err != nil {
		t.Fatalf("confirm past the rate: %v", err)
	}
	if _, err := ec.ReleaseHold(ctx, &bookdv1.ReleaseHoldRequest{HoldId: b.GetHold().GetId()}); err != nil {
		t.Fatalf("release past the rate: %v", err)
	}
}

// TestRateLimitBelievesOnlyTrustedProxies: behind a trusted load balancer
// each client is limited by the address the balancer appended; without
// the trust, X-Forwarded-For is the caller's own words and changes nothing.
func TestRateLimitBelievesOnlyTrustedProxies(t *testing.T) {
	c := clustertest.Start(t, 1, clustertest.Options{})
	cl := newClient(t, c.Endpoints())
	ev := createEvent(t, cl, &bookdv1.CreateEventRequest{Name: "Proxy", Capacity: 10})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	read := func(ec bookdv1connect.BookingServiceClient) error {
		_, err := ec.GetAvailability(ctx, &bookdv1.GetAvailabilityRequest{EventId: ev.GetId()})
		return err
	}

	trusting, _ := startEdge(t, c, edge.Config{ClientRate: 0.01, ClientBurst: 1, TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	if err := read(forwardedFor(trusting, "203.0.113.7")); err != nil {
		t.Fatal(err)
	}
	if err := read(forwardedFor(trusting, "203.0.113.7")); connect.CodeOf(err) != connect.CodeResourceExhausted {
		t.Fatalf("same client again past its rate: %v, want RESOURCE_EXHAUSTED", err)
	}
	// A spoofed entry to the left of the balancer's is not believed.
	if err := read(forwardedFor(trusting, "198.51.100.1, 203.0.113.7")); connect.CodeOf(err) != connect.CodeResourceExhausted {
		t.Fatalf("same client with a spoofed address in front: %v, want RESOURCE_EXHAUSTED", err)
	}
	if err := read(forwardedFor(trusting, "203.0.113.8")); err != nil {
		t.Fatalf("another client behind the balancer: %v", err)
	}

	plain, _ := startEdge(t, c, edge.Config{ClientRate: 0.01, ClientBurst: 1})
	if err := read(forwardedFor(plain, "203.0.113.7")); err != nil {
		t.Fatal(err)
	}
	if err := read(forwardedFor(plain, "203.0.113.9")); connect.CodeOf(err) != connect.CodeResourceExhausted {
		t.Fatalf("an untrusted caller naming another address: %v, want RESOURCE_EXHAUSTED (counted by its own)", err)
	}
}

// TestEdgeCORS: a page on an allowed origin gets its preflight answered
// and may send the session cookie; another origin's preflight is refused
// and never reaches the API.
func TestEdgeCORS(t *testing.T) {
	c := clustertest.Start(t, 1, clustertest.Options{})
	run, _ := startEdge(t, c, edge.Config{CORSOrigins: []string{"https://shop.example"}})
	preflight := func(origin string) *http.Response {
		req, _ := http.NewRequest("OPTIONS", "http://"+run.Addr()+"/bookd.v1.BookingService/Hold", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "content-type,authorization")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	ok := preflight("https://shop.example")
	if ok.StatusCode != http.StatusNoContent || ok.Header.Get("Access-Control-Allow-Origin") != "https://shop.example" ||
		ok.Header.Get("Access-Control-Allow-Credentials") != "true" || !strings.Contains(strings.ToLower(ok.Header.Get("Access-Control-Allow-Headers")), "authorization") {
		t.Fatalf("allowed origin's preflight: %d %v", ok.StatusCode, ok.Header)
	}
	if ok.Header.Get("Set-Cookie") != "" {
		t.Fatal("a preflight was given a session")
	}
	bad := preflight("https://evil.example")
	if bad.StatusCode != http.StatusForbidden || bad.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("other origin's preflight: %d %v", bad.StatusCode, bad.Header)
	}
}
