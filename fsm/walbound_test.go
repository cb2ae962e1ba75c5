package fsm_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/bookd/bookd/fsm"
	fsmv1 "github.com/bookd/bookd/proto/bookd/fsm/v1"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/hashicorp/raft"
)

// A store flushes its memtable once it holds some megabytes of committed
// batches, long before the 64 MiB memtable is full: what a crash leaves
// for the next start to replay from the WAL stays small whatever the load.
func TestStoreFlushesBeforeTheMemtableFills(t *testing.T) {
	f := openAt(t, t.TempDir())
	defer f.Close()
	f.ApplyBatch([]*raft.Log{{Index: 1, Term: 1, Type: raft.LogCommand, Data: encode(t, stampedCommand(t0, gaEvent(1_000_000)))}})
	ev := id("ev", 1)
	index := uint64(2)
	for f.PebbleMetrics().Flush.Count == 0 {
		if index > 400 {
			t.Fatalf("no flush after %d entries of 250 bookings", index-2)
		}
		var cmds []*fsmv1.Command
		for i := range 250 {
			req := &bookdv1.BookRequest{EventId: ev, CustomerId: fmt.Sprintf("c%d", i), Quantity: 1, IdempotencyKey: fmt.Sprintf("key-%d-%d", index, i)}
			cmds = append(cmds, stampedCommand(t0+int64(index), req))
		}
		data, _, errs := fsm.EncodeBatch(cmds)
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		f.ApplyBatch([]*raft.Log{{Index: index, Term: 1, Type: raft.LogCommand, Data: data}})
		index++
	}
	if size := f.PebbleMetrics().MemTable.Size; size >= 64<<20 {
		t.Errorf("memtables hold %d bytes after the flush", size)
	}
	t.Logf("first flush after %d entries of 250 bookings", index-2)
}
