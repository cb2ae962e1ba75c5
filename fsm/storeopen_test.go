package fsm

import (
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// A store whose L0 is due a compaction opens without running it: Pebble's
// open flushes (here nothing) and would start that compaction and wait for
// it; behind the gate it waits until the open is done, then runs.
func TestStoreOpensWithoutWaitingForACompaction(t *testing.T) {
	dir := t.TempDir()
	const tables = l0CompactionSublevels + 2 // overlapping L0 tables, past the compaction threshold
	db, err := pebble.Open(dir, &pebble.Options{FormatMajorVersion: pebble.FormatNewest, Logger: pebbleLogger{l: slog.New(slog.DiscardHandler), opening: new(atomic.Bool)},
		DisableAutomaticCompactions: true, L0StopWritesThreshold: l0StopWritesSublevels})
	if err != nil {
		t.Fatal(err)
	}
	for i := range tables {
		for k := range 1000 {
			must(db.Set(fmt.Appendf(nil, "k%05d", k), fmt.Appendf(nil, "v%d", i), pebble.NoSync))
		}
		must(db.Flush())
	}
	must(db.Close())

	db, gate, err := openGated(dir, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	m := db.Metrics()
	if m.Compact.Count != 0 || m.Compact.NumInProgress != 0 || m.Levels[0].TablesCount != tables {
		t.Fatalf("after the open: %d compactions done, %d running, %d tables in L0; want 0, 0, %d",
			m.Compact.Count, m.Compact.NumInProgress, m.Levels[0].TablesCount, tables)
	}
	gate.open()
	for deadline := time.Now().Add(10 * time.Second); db.Metrics().Compact.Count == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no compaction ran after the gate opened")
		}
	}
	if got, _, err := getValue(db, []byte("k00999")); err != nil || string(got) != fmt.Sprint("v", tables-1) {
		t.Errorf("k00999 = %q, %v after the compaction; want v%d", got, err, tables-1)
	}
	must(db.Close())

	// A store closed with a compaction waiting behind the gate closes.
	db, _, err = openGated(dir, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	closed := make(chan error, 1)
	go func() { closed <- db.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a store closed before its gate opened did not close")
	}
}
