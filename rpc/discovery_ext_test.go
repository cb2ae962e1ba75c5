package rpc_test

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpcreflect"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectv1alpha "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"

	"github.com/bookd/bookd/rpc/clustertest"
)

// discoverable are services a node's reflection must list, as `grpcurl
// list` shows them (with any other bookd service).
var discoverable = []string{
	"bookd.v1.BookingService",
	"bookd.v1.ClusterService",
	"grpc.health.v1.Health",
	"grpc.reflection.v1.ServerReflection",
	"grpc.reflection.v1alpha.ServerReflection",
}

// h2 speaks cleartext HTTP/2 only, as reflection's bidirectional stream needs.
var h2 = func() *http.Client {
	t := &http.Transport{Protocols: new(http.Protocols)}
	t.Protocols.SetUnencryptedHTTP2(true)
	return &http.Client{Transport: t}
}()

// TestReflectionListsHealthAndItself: over a real socket, reflection (v1,
// through connect's reflection client, and v1alpha, by a raw request as an
// older grpcurl sends it) lists bookd's services, gRPC health and
// reflection itself, and describes each; health answers per service.
func TestReflectionListsHealthAndItself(t *testing.T) {
	c := clustertest.Start(t, 3, clustertest.Options{})
	nd := c.WaitReady()
	base := "http://" + nd.RPCAddr
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	t.Run("v1", func(t *testing.T) {
		stream := grpcreflect.NewClient(h2, base, connect.WithGRPC()).NewStream(ctx)
		defer stream.Close()
		names, err := stream.ListServices()
		if err != nil {
			t.Fatalf("list services: %v", err)
		}
		var got []string
		for _, n := range names {
			got = append(got, string(n))
		}
		wantListed(t, got)
		for _, name := range names {
			files, err := stream.FileContainingSymbol(name)
			if err != nil || len(files) == 0 {
				t.Errorf("describe %s: %d files, %v", name, len(files), err)
			}
		}
	})

	t.Run("v1alpha", func(t *testing.T) {
		rc := connect.NewClient[reflectv1alpha.ServerReflectionRequest, reflectv1alpha.ServerReflectionResponse](
			h2, base+"/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", connect.WithGRPC())
		stream := rc.CallBidiStream(ctx)
		if err := stream.Send(&reflectv1alpha.ServerReflectionRequest{
			MessageRequest: &reflectv1alpha.ServerReflectionRequest_ListServices{ListServices: "*"},
		}); err != nil {
			t.Fatalf("send: %v", err)
		}
		if err := stream.CloseRequest(); err != nil {
			t.Fatalf("close request: %v", err)
		}
		resp, err := stream.Receive()
		if err != nil {
			t.Fatalf("receive: %v", err)
		}
		stream.CloseResponse()
		var got []string
		for _, s := range resp.GetListServicesResponse().GetService() {
			got = append(got, s.GetName())
		}
		wantListed(t, got)
	})

	t.Run("health", func(t *testing.T) {
		hc := connect.NewClient[healthpb.HealthCheckRequest, healthpb.HealthCheckResponse](
			h2c, base+"/grpc.health.v1.Health/Check", connect.WithGRPC())
		for _, svc := range []string{"", "bookd.v1.BookingService", "bookd.v1.ClusterService"} {
			resp, err := hc.CallUnary(ctx, connect.NewRequest(&healthpb.HealthCheckRequest{Service: svc}))
			if err != nil {
				t.Errorf("health of %q: %v", svc, err)
			} else if st := resp.Msg.GetStatus(); st != healthpb.HealthCheckResponse_SERVING {
				t.Errorf("health of %q: %v, want SERVING", svc, st)
			}
		}
		if _, err := hc.CallUnary(ctx, connect.NewRequest(&healthpb.HealthCheckRequest{Service: "no.such.Service"})); connect.CodeOf(err) != connect.CodeNotFound {
			t.Errorf("health of an unknown service: %v, want NOT_FOUND", err)
		}
	})
}

// wantListed checks that listed holds every discoverable service, once.
func wantListed(t *testing.T, listed []string) {
	t.Helper()
	for _, name := range discoverable {
		if n := slices.Index(listed, name); n < 0 || slices.Index(listed[n+1:], name) >= 0 {
			t.Errorf("reflection lists %q: want %s once", listed, name)
		}
	}
}
