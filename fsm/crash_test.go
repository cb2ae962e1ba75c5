package fsm_test

import (
	"errors"
	"fmt"
	"math/rand"
	"testing"
	"time"

	"github.com/bookd/bookd/fsm"
	fsmv1 "github.com/bookd/bookd/proto/bookd/fsm/v1"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/hashicorp/raft"
)

// TestCrashThenReplayEqualsTheLog crashes a store (losing every write not
// synced to its disk, as a power cut does; SIGKILL loses less), reopens it
// and replays the log as Raft does on a restart without a snapshot: from
// the start, the store skipping what it holds. The state must then equal
// that of a replica that applied the same log once without crashing: no
// entry lost, none counted twice.
func TestCrashThenReplayEqualsTheLog(t *testing.T) {
	for _, tc := range []struct {
		name     string
		flushAt  int  // entries applied when the store is flushed; -1: never
		crashAt  int  // entries applied when the node crashes
		wantLeft bool // the crash must leave applied state behind
	}{
		{name: "no flush", flushAt: -1, crashAt: 40},
		{name: "flush midway", flushAt: 15, crashAt: 40, wantLeft: true},
		{name: "flush then crash", flushAt: 40, crashAt: 40, wantLeft: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			log := crashLog(t)
			crashed := crashAfter(t, log, tc.crashAt, func(f *fsm.FSM, applied int) {
				if applied == tc.flushAt {
					if err := fsm.FlushStore(f); err != nil {
						t.Fatal(err)
					}
				}
			})
			defer fsm.SetStoreFS(crashed)()
			g := openAt(t, "/crash")
			defer g.Close()
			left := g.AppliedIndex()
			if tc.wantLeft && left < uint64(tc.flushAt) {
				t.Fatalf("after the crash the store is at index %d, below the flush at %d", left, tc.flushAt)
			}
			replayMatchesReplica(t, g, log)
		})
	}
}

// crashAfter applies log[:n] to a store at /crash, calling after once an
// entry is applied with the count applied, and returns the file system as
// a power cut leaves it: every write not synced is lost.
func crashAfter(t *testing.T, log []*raft.Log, n int, after func(f *fsm.FSM, applied int)) vfs.FS {
	t.Helper()
	mem := vfs.NewCrashableMem()
	defer fsm.SetStoreFS(mem)()
	f := openAt(t, "/crash")
	for i, l := range log[:n] {
		f.ApplyBatch([]*raft.Log{l})
		after(f, i+1)
	}
	crashed := mem.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: 0})
	f.Close()
	return crashed
}

// replayMatchesReplica applies the whole log to g, as Raft does on a
// restart without a snapshot (the store skipping what it holds), and
// checks that g then equals a replica that applied it once, uncrashed.
func replayMatchesReplica(t *testing.T, g *fsm.FSM, log []*raft.Log) {
	t.Helper()
	for _, l := range log {
		g.ApplyBatch([]*raft.Log{l})
	}
	defer fsm.SetStoreFS(vfs.NewMem())()
	ref := openAt(t, "/ref")
	defer ref.Close()
	for _, l := range log {
		ref.ApplyBatch([]*raft.Log{l})
	}
	sameDigest(t, g, ref)
}

// crashLog is 60 entries of bookings, holds and cancellations on one
// event, two commands an entry, with a retry of an earlier key now and
// then (which must replay, not book again).
func crashLog(t *testing.T) []*raft.Log {
	h := &harness{t: t, next: 1, now: t0}
	r := rand.New(rand.NewSource(7))
	cmds := [][]*fsmv1.Command{{stampedCommand(h.now, gaEvent(1000))}}
	ev := id("ev", 1)
	for i := range 59 {
		h.now += sec
		var pair []*fsmv1.Command
		for j := range 2 {
			key := fmt.Sprintf("k%d-%d", i, j)
			if i > 5 && r.Intn(4) == 0 {
				key = fmt.Sprintf("k%d-%d", r.Intn(i), j) // a retry
			}
			req := &bookdv1.BookRequest{EventId: ev, CustomerId: "c", Quantity: 1 + int64(r.Intn(3)), IdempotencyKey: key}
			pair = append(pair, stampedCommand(h.now, req))
		}
		if i%7 == 3 {
			pair = append(pair, stampedCommand(h.now, gaHold(ev, 2, time.Minute)))
		}
		cmds = append(cmds, pair)
	}
	var log []*raft.Log
	for _, c := range cmds {
		var data []byte
		if len(c) == 1 {
			data = encode(t, c[0])
		} else {
			var errs []error
			if data, _, errs = fsm.EncodeBatch(c); errors.Join(errs...) != nil {
				t.Fatal(errs)
			}
		}
		log = append(log, &raft.Log{Index: h.next, Term: 1, Type: raft.LogCommand, Data: data})
		h.next++
	}
	return log
}

func openAt(t *testing.T, dir string) *fsm.FSM {
	t.Helper()
	f, err := fsm.Open(dir, nil)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	return f
}
