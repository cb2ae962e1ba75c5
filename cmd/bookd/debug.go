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
	_, stop, err := startDebugServers([]string{addr}, logger, []*bookdmetrics.Metrics{m}, az, tlsCfg)
	return stop, err
}

// startDebugServers starts one admin listener (as startDebugServer) for
// each node of a process, on addrs[i] for the node ms[i] measures, and
// returns the addresses they listen on. Raft's timings are the process's:
// with several nodes in one process (bookd dev) each listener reports all
// of theirs together.
func startDebugServers(addrs []string, logger *slog.Logger, ms []*bookdmetrics.Metrics, az *auth.Authorizer, tlsCfg *tls.Config) ([]string, func() error, error) {
	var lns []net.Listener
	closeAll := func() {
		for _, ln := range lns {
			ln.Close()
		}
	}
	var bound []string
	for _, addr := range addrs {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		bound = append(bound, ln.Addr().String())
		if tlsCfg != nil {
			ln = tls.NewListener(ln, tlsCfg)
		}
		lns = append(lns, ln)
	}
	runtime.SetMutexProfileFraction(100)
	runtime.SetBlockProfileRate(100_000) // one sample per 100µs blocked
	sink := metrics.NewInmemSink(10*time.Second, time.Minute)
	conf := metrics.DefaultConfig("bookd")
	conf.EnableHostname = false
	conf.EnableRuntimeMetrics = false
	fanout := metrics.FanoutSink{sink}
	for _, m := range ms {
		prom, err := m.RaftSink()
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		fanout = append(fanout, prom)
	}
	if _, err := metrics.NewGlobal(conf, fanout); err != nil {
		closeAll()
		return nil, nil, err
	}
	var srvs []*http.Server
	for i, ln := range lns {
		srv := &http.Server{Handler: debugHandler(ms[i], sink, az), ReadHeaderTimeout: 10 * time.Second}
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				logger.Warn("admin server stopped", "err", err)
			}
		}()
		logger.Info("serving metrics and profiles", "addr", bound[i])
		srvs = append(srvs, srv)
	}
	return bound, func() error {
		var errs []error
		for _, srv := range srvs {
			errs = append(errs, srv.Close())
		}
		return errors.Join(errs...)
	}, nil
}

// debugHandler serves one node's admin listener.
func debugHandler(m *bookdmetrics.Metrics, sink *metrics.InmemSink, az *auth.Authorizer) http.Handler {
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
	if az == nil {
		return mux
	}
	return az.Guard(mux, func(path string) auth.Role {
		if path == "/metrics" {
			return auth.RoleReader
		}
		return auth.RoleAdmin
	})
}
