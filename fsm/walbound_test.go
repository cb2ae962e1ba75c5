package fsm_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/bookd/bookd/fsm"
	fsmv1 "github.com/bookd/bookd/proto/bookd/fsm/v1"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/hashicorp/raft"
	"google.golang.org/protobuf/proto"
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

// A follower catching up gets hundreds of entries in one ApplyBatch; the
// store commits them in several batches (fsm.applyChunkBytes), which must
// change nothing: every entry answers as it would alone, and the state
// equals that of a replica that applied the entries one at a time.
func TestCatchUpBatchEqualsEntriesAppliedOneByOne(t *testing.T) {
	log := []*raft.Log{{Index: 1, Term: 1, Type: raft.LogCommand, Data: encode(t, stampedCommand(t0, gaEvent(1_000_000)))}}
	ev := id("ev", 1)
	for index := uint64(2); index < 130; index++ {
		var cmds []*fsmv1.Command
		for i := range 250 {
			req := &bookdv1.BookRequest{EventId: ev, CustomerId: fmt.Sprintf("c%d", i), Quantity: 1, IdempotencyKey: fmt.Sprintf("key-%d-%d", index, i)}
			cmds = append(cmds, stampedCommand(t0+int64(index), req))
		}
		if index%10 == 0 { // a repeated key: answered from its record
			cmds[0] = stampedCommand(t0+int64(index), &bookdv1.BookRequest{EventId: ev, CustomerId: "c0", Quantity: 1, IdempotencyKey: "key-2-0"})
		}
		data, _, errs := fsm.EncodeBatch(cmds)
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		log = append(log, &raft.Log{Index: index, Term: 1, Type: raft.LogCommand, Data: data})
	}
	log = append(log, &raft.Log{Index: uint64(len(log) + 1), Term: 2, Type: raft.LogNoop})

	caughtUp := openAt(t, t.TempDir())
	defer caughtUp.Close()
	caughtUp.ApplyBatch(log[:1])
	all := caughtUp.ApplyBatch(log[1:])
	alone := openAt(t, t.TempDir())
	defer alone.Close()
	for i, l := range log {
		got := alone.ApplyBatch([]*raft.Log{l})[0]
		if i == 0 {
			continue
		}
		want, _ := got.([]*fsm.Result)
		have, _ := all[i-1].([]*fsm.Result)
		if len(want) != len(have) {
			t.Fatalf("entry %d: %d results in the catch-up batch, %d alone", l.Index, len(have), len(want))
		}
		for pos := range want {
			if (want[pos].Err == nil) != (have[pos].Err == nil) || !proto.Equal(want[pos].Response, have[pos].Response) {
				t.Fatalf("entry %d command %d: %v / %v in the catch-up batch, %v / %v alone", l.Index, pos, have[pos].Response, have[pos].Err, want[pos].Response, want[pos].Err)
			}
		}
	}
	if got, want := caughtUp.AppliedIndex(), uint64(len(log)); got != want {
		t.Errorf("applied index after the catch-up batch: %d, want %d", got, want)
	}
	sameDigest(t, caughtUp, alone)
}
