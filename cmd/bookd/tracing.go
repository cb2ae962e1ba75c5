package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/bookd/bookd/rpc"
	"github.com/bookd/bookd/rpc/tracing"
	"github.com/spf13/pflag"
)

// tracingFlags are `bookd server`'s OpenTelemetry settings (off unless
// --otlp-endpoint is given).
type tracingFlags struct{ cfg tracing.Config }

func (t *tracingFlags) register(f *pflag.FlagSet) {
	f.StringVar(&t.cfg.Endpoint, "otlp-endpoint", "", "export traces over OTLP/gRPC to this collector (host:port); empty: no tracing")
	f.BoolVar(&t.cfg.Insecure, "otlp-insecure", false, "talk plaintext gRPC to the OTLP collector")
	f.Float64Var(&t.cfg.SampleRatio, "trace-sample-ratio", 1, "share of new traces recorded (a caller's decision is kept)")
}

// start adds the tracing interceptor to cfg and returns what flushes the
// traces at shutdown (nil when tracing is off).
func (t *tracingFlags) start(cfg *rpc.ServerConfig, logger *slog.Logger) (func(), error) {
	if t.cfg.Endpoint == "" {
		return nil, nil
	}
	t.cfg.NodeID = cfg.Node.ID
	tr, err := tracing.Start(context.Background(), t.cfg)
	if err != nil {
		return nil, err
	}
	cfg.Interceptors = append(cfg.Interceptors, tr.Interceptor())
	logger.Info("exporting traces", "otlp_endpoint", t.cfg.Endpoint)
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := tr.Shutdown(ctx); err != nil {
			logger.Warn("flush traces", "err", err)
		}
	}, nil
}
