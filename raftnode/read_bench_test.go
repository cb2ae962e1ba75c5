package raftnode_test

import (
	"context"
	"testing"
)

// BenchmarkLinearizableRead: reads confirmed on the leader of an idle
// 3-node cluster on loopback, from 64 goroutines per CPU; it reports the
// log entries the reads appended per 1,000 reads (each one an fsync on
// every node).
//
//	go test ./raftnode -run '^$' -bench LinearizableRead -benchtime 20000x
func BenchmarkLinearizableRead(b *testing.B) {
	nodes, _ := startCluster(b, 3)
	leader := waitReady(b, nodes)
	ctx := context.Background()
	if err := leader.ReadBarrier(ctx); err != nil {
		b.Fatal(err)
	}
	last := leader.Raft().LastIndex()
	b.SetParallelism(64)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := leader.ReadBarrier(ctx); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(leader.Raft().LastIndex()-last)*1000/float64(b.N), "entries/1k-reads")
}
