package metrics

import (
	"time"

	"github.com/bookd/bookd/raftnode"
	"github.com/prometheus/client_golang/prometheus"
)

// descStart is the restart duration histogram: one observation per phase
// a start has passed (this process starts once; a Prometheus server sums
// the histograms of successive processes with increase() and rate()).
var descStart = desc("start_duration_seconds",
	"Time from the process opening its stores to a phase of its start: opened (stores open, Raft running, the RPC server about to serve), state_complete (the state holds everything the leader had committed when the node first heard from it), first_served (the first call answered).",
	"phase")

// startBuckets spans a warm restart (tens of milliseconds) to a slow one.
var startBuckets = []float64{.025, .05, .1, .2, .3, .5, .75, 1, 1.5, 2, 3, 5, 10, 30}

func collectStart(ch chan<- prometheus.Metric, node *raftnode.Node) {
	st := node.Startup()
	for _, p := range []struct {
		phase string
		at    time.Time
	}{{"opened", st.Opened}, {"state_complete", st.StateComplete}, {"first_served", st.FirstServed}} {
		buckets := make(map[float64]uint64, len(startBuckets))
		for _, b := range startBuckets {
			buckets[b] = 0
		}
		var count uint64
		var sum float64
		if !p.at.IsZero() {
			count, sum = 1, p.at.Sub(st.Started).Seconds()
			for _, b := range startBuckets {
				if sum <= b {
					buckets[b] = 1
				}
			}
		}
		ch <- prometheus.MustNewConstHistogram(descStart, count, sum, buckets, p.phase)
	}
}
