package main

import (
	"crypto/tls"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime"
	"time"

	metrics "github.com/armon/go-metrics"
	"github.com/bookd/bookd/rpc/auth"
	bookdmetrics "github.com/bookd/bookd/rpc/metrics"
)

// startDebugServer starts the admin listener on addr, apart from the RPC
// port so that it can stay on a private interface: Prometheus metrics
// (/metrics), Go's profiles (/debug/pprof/) and Raft's timings of the last
// 10 seconds (/debug/metrics: commit time, dispatch, append RPCs, FSM
// apply). It also turns on mutex and block profiling at a low sampling rate.
// With a (non-nil) authorizer, /metrics needs a reader's token and the rest
// an admin's; with tlsCfg it is served over TLS, like the API.
func startDebugServer(addr string, logger *slog.Logger, m *bookdmetrics.Metrics, az *auth.Authorizer, tlsCfg *tls.Config) (func() error, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	if tlsCfg != nil {
		ln = tls.NewListener(ln, tlsCfg)
	}
	runtime.SetMutexProfileFraction(100)
	runtime.SetBlockProfileRate(100_000) // one sample per 100µs blocked
	sink := metrics.NewInmemSink(10*time.Second, time.Minute)
	conf := metrics.DefaultConfig("bookd")
	conf.EnableHostname = false
	conf.EnableRuntimeMetrics = false
	prom, err := m.RaftSink()
	if err != nil {
		ln.Close()
		return nil, err
	}
	if _, err := metrics.NewGlobal(conf, metrics.FanoutSink{sink, prom}); err != nil {
		ln.Close()
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", m.Handler())
	mux.HandleFunc("/debug/metrics", func(w http.ResponseWriter, r *http.Request) {
		summary, err := sink.DisplayMetrics(w, r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(summary)
	})
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	var h http.Handler = mux
	if az != nil {
		h = az.Guard(mux, func(path string) auth.Role {
			if path == "/metrics" {
				return auth.RoleReader
			}
			return auth.RoleAdmin
		})
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Warn("admin server stopped", "err", err)
		}
	}()
	logger.Info("serving metrics and profiles", "addr", ln.Addr().String())
	return srv.Close, nil
}
