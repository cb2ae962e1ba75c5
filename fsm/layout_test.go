package fsm_test

import (
	"encoding/binary"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bookd/bookd/fsm"
	"github.com/cockroachdb/pebble/v2"
)

// A store whose state another version of bookd laid out is refused when
// it opens, with a message saying what to do, instead of stopping the node
// at the first command that reads it.
func TestStoreInAnotherLayoutIsRefused(t *testing.T) {
	for _, tc := range []struct {
		name   string
		layout []byte // nil: no layout key, as before layouts were numbered
	}{{"unnumbered", nil}, {"older", layout(1)}, {"newer", layout(99)}} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.createEvent(gaEvent(10))
			h.reopen() // this version reads its own store
			h.close()
			db, err := pebble.Open(filepath.Join(h.dir, "state"), &pebble.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if tc.layout == nil {
				err = db.Delete([]byte("m/layout"), pebble.Sync)
			} else {
				err = db.Set([]byte("m/layout"), tc.layout, pebble.Sync)
			}
			if err != nil || db.Close() != nil {
				t.Fatalf("rewriting the layout: %v", err)
			}
			f, err := fsm.Open(h.dir, nil)
			if err == nil {
				f.Close()
			}
			if err == nil || !strings.Contains(err.Error(), "layout") {
				t.Fatalf("Open of a store in another layout: %v, want a layout error", err)
			}
		})
	}
}

func layout(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }
