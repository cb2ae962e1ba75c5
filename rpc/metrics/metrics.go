package metrics

import (
	"fmt"
	"net/http"
	"sync/atomic"

	gometrics "github.com/armon/go-metrics"
	promsink "github.com/armon/go-metrics/prometheus"
	"github.com/bookd/bookd/raftnode"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is one node's registry.
type Metrics struct {
	reg  *prometheus.Registry
	rpc  *prometheus.HistogramVec
	node atomic.Pointer[raftnode.Node]
}

// New makes a registry with the Go runtime and process collectors and the
// RPC histogram; Watch adds the node's state once it runs.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.rpc = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "bookd",
		Name:      "rpc_duration_seconds",
		Help:      "Time to answer an RPC, by procedure, Connect code (ok for success) and whether another node forwarded it.",
		Buckets:   []float64{.0005, .001, .002, .005, .01, .02, .05, .1, .2, .5, 1, 2, 5},
	}, []string{"procedure", "code", "forwarded"})
	m.reg.MustRegister(m.rpc,
		// How long goroutines waited for a P, and how long GC stopped
		// the world: beside bookd_process_pause_seconds they tell the Go
		// runtime's share of a pause from the machine's.
		collectors.NewGoCollector(collectors.WithGoCollectorRuntimeMetrics(collectors.MetricsScheduler)),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&nodeCollector{m: m}, &queueCollector{m: m})
	return m
}

// Watch reports node's Raft state, Pebble statistics and events from now on.
func (m *Metrics) Watch(node *raftnode.Node) { m.node.Store(node) }

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Registry is the registry the metrics live in.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// RaftSink returns a go-metrics sink that feeds the timings hashicorp/raft
// and its log store emit (bookd_raft_commitTime, bookd_raft_fsm_apply,
// bookd_raft_boltdb_storeLogs, ...) into this registry, as summaries.
func (m *Metrics) RaftSink() (gometrics.MetricSink, error) {
	sink, err := promsink.NewPrometheusSinkFrom(promsink.PrometheusOpts{Registerer: m.reg, Name: "bookd_raft_sink"})
	if err != nil {
		return nil, fmt.Errorf("metrics: raft sink: %w", err)
	}
	return sink, nil
}
