package fsm_test

import (
	"testing"

	"github.com/bookd/bookd/fsm"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/hashicorp/raft"
)

// A store that crashes after its idempotency filter was saved opens with
// that filter, topped up with the records stored since: it holds every
// stored key at once (no scan to wait for), and replaying the log from
// where the store stood gives the state of a replica that never crashed,
// retried keys replayed, not booked again. The crash loses every write not
// synced (a power cut), so the store may stand before the save.
func TestSavedKeyFilterSurvivesACrash(t *testing.T) {
	for _, tc := range []struct {
		name            string
		saveAt, crashAt int // entries applied when the filter is saved, when the node crashes
		flushAt         int // entries applied when the store is flushed
	}{
		{name: "saved, more stored, crash", saveAt: 20, crashAt: 50, flushAt: 45},
		{name: "saved after the store's last flush", saveAt: 30, crashAt: 50, flushAt: 10},
		{name: "saved right before the crash", saveAt: 50, crashAt: 50, flushAt: 50},
	} {
		t.Run(tc.name, func(t *testing.T) {
			log := crashLog(t)
			crashed := crashAfter(t, log, tc.crashAt, func(f *fsm.FSM, applied int) {
				if applied == 1 {
					f.BuildKeyFilter()
				}
				if applied == 6 && !fsm.WaitKeyFilter(f) {
					t.Fatal("no filter built")
				}
				if applied == tc.saveAt {
					if err := fsm.SaveKeyFilter(f); err != nil {
						t.Fatal(err)
					}
				}
				if applied == tc.flushAt {
					if err := fsm.FlushStore(f); err != nil {
						t.Fatal(err)
					}
				}
			})
			defer fsm.SetStoreFS(crashed)()
			g := openAt(t, "/crash")
			defer g.Close()
			if !fsm.KeyFilterReady(g) {
				t.Fatal("the saved filter was not loaded")
			}
			if misses, stored, err := fsm.KeyFilterMisses(g); err != nil || misses > 0 || stored == 0 {
				t.Fatalf("after the crash the filter misses %d of %d stored keys (err %v)", misses, stored, err)
			}
			replayMatchesReplica(t, g, log)
			if misses, stored, err := fsm.KeyFilterMisses(g); err != nil || misses > 0 {
				t.Fatalf("after the replay the filter misses %d of %d stored keys (err %v)", misses, stored, err)
			}
		})
	}
}

// A graceful stop saves the filter; the next open loads it, holding every
// key, and a torn file is ignored (the node builds a filter by a scan).
func TestSavedKeyFilterAtCloseAndTornFile(t *testing.T) {
	mem := vfs.NewMem()
	defer fsm.SetStoreFS(mem)()
	log := crashLog(t)
	f := openAt(t, "/stop")
	f.BuildKeyFilter()
	for i, l := range log {
		f.ApplyBatch([]*raft.Log{l})
		if i == 5 && !fsm.WaitKeyFilter(f) {
			t.Fatal("no filter built")
		}
	}
	f.Close()

	g := openAt(t, "/stop")
	if !fsm.KeyFilterReady(g) {
		t.Fatal("the filter saved at Close was not loaded")
	}
	if misses, stored, err := fsm.KeyFilterMisses(g); err != nil || misses > 0 || stored == 0 {
		t.Fatalf("the loaded filter misses %d of %d stored keys (err %v)", misses, stored, err)
	}
	g.Close()

	name := "/stop/state/idempotency-filter"
	st, err := mem.Stat(name)
	if err != nil {
		t.Fatal(err)
	}
	torn, err := mem.Create(name, vfs.WriteCategoryUnspecified)
	if err != nil {
		t.Fatal(err)
	}
	torn.Write(make([]byte, st.Size()/2))
	torn.Close()
	h := openAt(t, "/stop")
	defer h.Close()
	if fsm.KeyFilterReady(h) {
		t.Fatal("a torn filter file was loaded")
	}
}
