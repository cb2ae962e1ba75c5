package metrics

import (
	"github.com/bookd/bookd/raftnode"
	"github.com/prometheus/client_golang/prometheus"
)

var descPause = desc("process_pause_seconds",
	"Stretches of at least 10 ms in which this process did not run (a 10 ms timer woke this much late): the CPU saturated, the hypervisor took the vCPU, or the Go runtime stopped the world. A leader paused past its lease (the heartbeat timeout) steps down although nothing failed.")

func collectPauses(ch chan<- prometheus.Metric, node *raftnode.Node) {
	p := node.Pauses()
	buckets := make(map[float64]uint64, len(raftnode.PauseBuckets))
	for i, b := range raftnode.PauseBuckets {
		buckets[b] = p.Buckets[i]
	}
	ch <- prometheus.MustNewConstHistogram(descPause, p.Count, p.Sum.Seconds(), buckets)
}
