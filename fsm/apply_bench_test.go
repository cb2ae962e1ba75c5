package fsm_test

import (
	"fmt"
	"testing"

	"github.com/bookd/bookd/fsm"
	fsmv1 "github.com/bookd/bookd/proto/bookd/fsm/v1"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
)

// BenchmarkApplyBook applies batches of GA bookings of one hot event, each
// with a fresh idempotency key, as the Raft log delivers them under load.
//
//	go test -run '^$' -bench ApplyBook -benchtime 200000x ./fsm/
func BenchmarkApplyBook(b *testing.B) {
	for _, batch := range []int{1, 64, 512} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			h := newHarness(b)
			ev := h.createEvent(gaEvent(fsm.MaxCapacity))
			cmds := make([]*fsmv1.Command, 0, batch)
			b.ResetTimer()
			for i := 0; i < b.N; i += batch {
				cmds = cmds[:0]
				for j := i; j < min(i+batch, b.N); j++ {
					h.now++
					cmds = append(cmds, stampedCommand(h.now, &bookdv1.BookRequest{EventId: ev.Id, CustomerId: "customer",
						Quantity: 1, IdempotencyKey: fmt.Sprintf("bench-customer-%d", j)}))
				}
				h.applyCommands(cmds...)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "bookings/s")
		})
	}
}
