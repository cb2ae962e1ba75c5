package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bookd/bookd/raftnode"
	"github.com/bookd/bookd/rpc/clustertest"
)

// bookd backup from a running cluster and bookd restore into each member
// of a new one keep every booking.
func TestBackupRestoreFromTheCLI(t *testing.T) {
	a := clustertest.Start(t, 3, clustertest.Options{})
	t.Setenv("BOOKD_ENDPOINTS", strings.Join(a.Endpoints(), ","))
	var ev struct{ ID string }
	runJSON(t, &ev, "events", "create", "--name", "Kept", "--capacity", "10")
	for i := range 4 {
		if out, code := run(t, "book", ev.ID, "--customer", fmt.Sprint("c", i), "--quantity", "2"); code != 0 {
			t.Fatalf("book: exit %d: %s", code, out)
		}
	}
	file := filepath.Join(t.TempDir(), "bookd.bak")
	if out, code := run(t, "backup", "--out", file); code != 0 || !strings.Contains(out, "written to") {
		t.Fatalf("backup: exit %d: %s", code, out)
	}
	if out, code := run(t, "restore", "--from", file+".missing", "--data-dir", t.TempDir(), "--peers", "n1=127.0.0.1:1"); code != 2 {
		t.Fatalf("restore from a missing file: exit %d: %s", code, out)
	}

	b := clustertest.Start(t, 3, clustertest.Options{Seed: func(dir string, peers []raftnode.Peer) error {
		var ps []string
		for _, p := range peers {
			ps = append(ps, p.ID+"="+p.RaftAddr)
		}
		if out, code := run(t, "restore", "--from", file, "--data-dir", dir, "--peers", strings.Join(ps, ",")); code != 0 {
			return fmt.Errorf("restore: exit %d: %s", code, out)
		}
		return nil
	}})
	t.Setenv("BOOKD_ENDPOINTS", strings.Join(b.Endpoints(), ","))
	var av struct{ BookedQuantity string }
	runJSON(t, &av, "availability", ev.ID)
	if av.BookedQuantity != "8" {
		t.Fatalf("restored cluster: %+v, want 8 booked", av)
	}
	if out, code := run(t, "book", ev.ID, "--customer", "new", "--quantity", "2"); code != 0 {
		t.Fatalf("book in the restored cluster: exit %d: %s", code, out)
	}
	if out, code := run(t, "book", ev.ID, "--customer", "late", "--quantity", "1"); code != 4 {
		t.Fatalf("book past capacity in the restored cluster: exit %d: %s", code, out)
	}
}
