package tracing_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/proto/bookd/v1/bookdv1connect"
	"github.com/bookd/bookd/rpc"
	"github.com/bookd/bookd/rpc/clustertest"
	"github.com/bookd/bookd/rpc/tracing"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracev1 "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
)

// collector is an OTLP/gRPC trace receiver that keeps every span.
type collector struct {
	collectortrace.UnimplementedTraceServiceServer
	mu    sync.Mutex
	spans []*tracev1.Span
}

func (c *collector) Export(_ context.Context, req *collectortrace.ExportTraceServiceRequest) (*collectortrace.ExportTraceServiceResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, rs := range req.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			c.spans = append(c.spans, ss.Spans...)
		}
	}
	return &collectortrace.ExportTraceServiceResponse{}, nil
}

func (c *collector) named(name string) []*tracev1.Span {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*tracev1.Span
	for _, s := range c.spans {
		if s.Name == name {
			out = append(out, s)
		}
	}
	return out
}

// A write sent to a follower is one trace: the follower's server span, its
// client span forwarding to the leader, and the leader's server span as its
// child, all exported over OTLP.
func TestForwardedWriteIsOneTrace(t *testing.T) {
	col := &collector{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	collectortrace.RegisterTraceServiceServer(gs, col)
	go gs.Serve(ln)
	defer gs.Stop()

	var mu sync.Mutex
	var tracers []*tracing.Tracer
	c := clustertest.Start(t, 3, clustertest.Options{Configure: func(id string, cfg *rpc.ServerConfig) {
		tr, err := tracing.Start(context.Background(), tracing.Config{Endpoint: ln.Addr().String(), Insecure: true, NodeID: id})
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		tracers = append(tracers, tr)
		mu.Unlock()
		cfg.Interceptors = append(cfg.Interceptors, tr.Interceptor())
	}})
	leader := c.WaitReady()
	follower := c.Nodes[0]
	if follower == leader {
		follower = c.Nodes[1]
	}
	cl := bookdv1connect.NewBookingServiceClient(http.DefaultClient, "http://"+follower.RPCAddr)
	if _, err := cl.CreateEvent(context.Background(), &bookdv1.CreateEventRequest{Name: "Traced", Capacity: 1, IdempotencyKey: "traced"}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	for _, tr := range tracers {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := tr.Shutdown(ctx); err != nil {
			t.Errorf("flush traces: %v", err)
		}
		cancel()
	}
	mu.Unlock()

	const proc = "/bookd.v1.BookingService/CreateEvent"
	var server, client []*tracev1.Span
	for _, s := range col.named(proc) {
		switch s.Kind {
		case tracev1.Span_SPAN_KIND_SERVER:
			server = append(server, s)
		case tracev1.Span_SPAN_KIND_CLIENT:
			client = append(client, s)
		}
	}
	if len(server) != 2 || len(client) != 1 {
		t.Fatalf("spans of %s: %d server, %d client; want 2 and 1", proc, len(server), len(client))
	}
	trace := hex.EncodeToString(client[0].TraceId)
	var childOfForward int
	for _, s := range server {
		if got := hex.EncodeToString(s.TraceId); got != trace {
			t.Errorf("server span in trace %s, the forward in %s", got, trace)
		}
		if fmt.Sprint(s.ParentSpanId) == fmt.Sprint(client[0].SpanId) {
			childOfForward++
		}
	}
	if childOfForward != 1 || fmt.Sprint(client[0].ParentSpanId) == fmt.Sprint([]byte(nil)) {
		t.Errorf("the leader's span is not the forward's child, or the forward has no parent: %v %v", server, client)
	}
}
