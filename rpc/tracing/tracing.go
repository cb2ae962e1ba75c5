// Package tracing exports OpenTelemetry traces of a bookd node's RPCs over
// OTLP (gRPC) when an endpoint is configured; without one nothing is traced.
// Interceptor makes a server span for every call, unary or streaming, that
// continues the caller's trace (W3C traceparent), and a client span for each
// call the node makes to another node, whose headers carry the trace on, so
// a write forwarded by a follower is one trace across both nodes.
package tracing

import (
	"context"
	"fmt"
	"time"

	"connectrpc.com/connect"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"
)

// Config says where traces go.
type Config struct {
	Endpoint string // OTLP/gRPC collector, host:port
	Insecure bool   // plaintext gRPC to the collector
	NodeID   string
	// SampleRatio is the share of new traces recorded (0 or 1: all);
	// a caller's sampling decision is kept.
	SampleRatio float64
}

// Tracer records and exports spans.
type Tracer struct {
	tp     *sdktrace.TracerProvider
	tracer trace.Tracer
	prop   propagation.TextMapPropagator
}

// Start connects the exporter (lazily: an unreachable collector does not
// stop the node; spans are dropped) and returns the Tracer.
func Start(ctx context.Context, cfg Config) (*Tracer, error) {
	opts := []otlptracegrpc.Option{otlptracegrpc.WithEndpoint(cfg.Endpoint)}
	if cfg.Insecure {
		opts = append(opts, otlptracegrpc.WithInsecure())
	}
	exp, err := otlptracegrpc.New(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("tracing: OTLP exporter for %s: %w", cfg.Endpoint, err)
	}
	sampler := sdktrace.AlwaysSample()
	if cfg.SampleRatio > 0 && cfg.SampleRatio < 1 {
		sampler = sdktrace.TraceIDRatioBased(cfg.SampleRatio)
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp, sdktrace.WithBatchTimeout(time.Second)),
		sdktrace.WithSampler(sdktrace.ParentBased(sampler)),
		sdktrace.WithResource(resource.NewSchemaless(
			semconv.ServiceName("bookd"),
			semconv.ServiceInstanceID(cfg.NodeID),
		)),
	)
	return &Tracer{tp: tp, tracer: tp.Tracer("github.com/bookd/bookd/rpc"), prop: propagation.TraceContext{}}, nil
}

// Shutdown exports what is buffered and stops.
func (t *Tracer) Shutdown(ctx context.Context) error { return t.tp.Shutdown(ctx) }

// Interceptor traces calls; give it to both the server's handlers and its
// clients of other nodes.
func (t *Tracer) Interceptor() connect.Interceptor { return interceptor{t} }

type interceptor struct{ t *Tracer }

func (i interceptor) serverSpan(ctx context.Context, spec connect.Spec, h carrier) (context.Context, trace.Span) {
	ctx = i.t.prop.Extract(ctx, h)
	return i.t.tracer.Start(ctx, spec.Procedure, trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("rpc.system", "connect_rpc")))
}

func end(span trace.Span, err error) {
	code := "ok"
	if err != nil {
		code = connect.CodeOf(err).String()
		span.SetStatus(codes.Error, code)
	}
	span.SetAttributes(attribute.String("rpc.connect_rpc.status_code", code))
	span.End()
}

func (i interceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		var span trace.Span
		if req.Spec().IsClient {
			ctx, span = i.t.tracer.Start(ctx, req.Spec().Procedure, trace.WithSpanKind(trace.SpanKindClient))
			i.t.prop.Inject(ctx, carrier(req.Header()))
		} else {
			ctx, span = i.serverSpan(ctx, req.Spec(), carrier(req.Header()))
		}
		resp, err := next(ctx, req)
		end(span, err)
		return resp, err
	}
}

func (i interceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (i interceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		ctx, span := i.serverSpan(ctx, conn.Spec(), carrier(conn.RequestHeader()))
		err := next(ctx, conn)
		end(span, err)
		return err
	}
}
