package rpc_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/rpc/clustertest"
)

// BenchmarkBook measures Book throughput on a 3-node cluster in this
// process, with many concurrent callers on one hot GA event, sent to the
// leader (to=leader) or spread over all nodes (to=any, followers forward).
//
//	go test -run '^$' -bench BenchmarkBook -benchtime 20000x ./rpc/
func BenchmarkBook(b *testing.B) {
	for _, to := range []string{"leader", "any"} {
		b.Run("to="+to, func(b *testing.B) {
			c := clustertest.Start(b, 3, clustertest.Options{})
			leader := c.WaitReady()
			ev := createEvent(b, leader.RPCAddr, 10_000_000, nil)
			var worker atomic.Int64
			b.SetParallelism(64)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				w := worker.Add(1)
				addr := leader.RPCAddr
				if to == "any" {
					addr = c.Nodes[int(w)%len(c.Nodes)].RPCAddr
				}
				cl := bookingClient(addr)
				for i := 0; pb.Next(); i++ {
					_, err := cl.Book(context.Background(), &bookdv1.BookRequest{EventId: ev.Id, CustomerId: "c",
						Quantity: 1, IdempotencyKey: fmt.Sprintf("w%d-%d", w, i)})
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "bookings/s")
		})
	}
}
