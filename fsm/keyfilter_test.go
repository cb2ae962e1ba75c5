package fsm

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// A filter holds every key added and refuses most others.
func TestKeyFilterHasNoFalseNegatives(t *testing.T) {
	f := newKeyFilter(100_000)
	for i := range 100_000 {
		f.add(fmt.Appendf(nil, "i/book:c%d\x00key-%d", i%977, i))
	}
	for i := range 100_000 {
		if !f.mayContain(fmt.Appendf(nil, "i/book:c%d\x00key-%d", i%977, i)) {
			t.Fatalf("key %d added but not found", i)
		}
	}
	false_ := 0
	for i := range 100_000 {
		if f.mayContain(fmt.Appendf(nil, "i/book:c%d\x00other-%d", i%977, i)) {
			false_++
		}
	}
	if false_ > 1_000 {
		t.Errorf("%d of 100,000 absent keys may be there, want under 1%%", false_)
	}
}

// waitFilter waits until f's idempotency filter answers.
func waitFilter(t *testing.T, f *FSM) *keyFilter {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		f.idem.maintain(f.db, 0)
		if c := f.idem.current.Load(); c != nil && c.ready.Load() && f.idem.next == nil {
			return c
		}
	}
	t.Fatal("the idempotency filter was never ready")
	return nil
}

// The filter built once a reopened store is asked for one holds the keys stored before, those
// written while it was built, and, once full, a rebuilt filter holds them
// all again.
func TestIdempotencyFilterHoldsEveryStoredKey(t *testing.T) {
	dir := t.TempDir()
	f, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	var keys [][]byte
	write := func(n int) {
		b := f.db.NewBatch()
		for range n {
			k := idemKey("book:c", fmt.Sprint("k", len(keys)))
			must(b.Set(k, []byte{1}, nil))
			f.idem.add(k)
			keys = append(keys, k)
		}
		must(b.Commit(pebble.NoSync))
		b.Close()
	}
	write(1000)
	must(f.Close())

	if f, err = Open(dir, nil); err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.BuildKeyFilter()
	f.idem.maintain(f.db, 0) // the next batch starts the build
	write(10)                // while the first build may still be scanning
	c := waitFilter(t, f)
	check := func(when string) {
		t.Helper()
		for _, k := range keys {
			if !f.idem.mayContain(k) {
				t.Fatalf("%s: stored key %q not in the filter", when, k)
			}
		}
	}
	check("after opening")

	write(int(2*c.sizedAt - c.keys.Load())) // full: the next batch rebuilds it
	f.idem.maintain(f.db, 0)
	if f.idem.next == nil {
		t.Fatal("a full filter was not rebuilt")
	}
	write(10) // while the rebuild scans
	if c2 := waitFilter(t, f); c2 == c || c2.sizedAt < int64(len(keys))-10 {
		t.Fatalf("rebuilt filter sized for %d keys, want at least %d", c2.sizedAt, len(keys)-10)
	}
	check("after the rebuild")
	if f.idem.mayContain(idemKey("book:c", "never written")) && f.idem.mayContain(idemKey("book:c", "nor this")) {
		t.Error("the filter lets absent keys through")
	}
}

// A store opens without scanning its idempotency keys: no filter is built
// until one is asked for, and then the first is sized for the keys stored,
// so it is not full, and scanned again, as soon as it is built.
func TestIdempotencyFilterWaitsToBeAskedAndIsSizedForTheStore(t *testing.T) {
	dir := t.TempDir()
	f, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	const stored = 4 * minFilterKeys
	b := f.db.NewBatch()
	for i := range stored {
		must(b.Set(idemKey("book:c", fmt.Sprintf("key-%032d", i)), make([]byte, 60), nil))
	}
	must(b.Commit(pebble.NoSync))
	b.Close()
	must(f.Close())

	if f, err = Open(dir, nil); err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.idem.maintain(f.db, 0)
	if f.idem.current.Load() != nil || f.idem.next != nil {
		t.Fatal("a filter was built before one was asked for")
	}
	f.BuildKeyFilter()
	f.idem.maintain(f.db, 0)
	first := f.idem.next
	if first == nil {
		t.Fatal("no build started once a filter was asked for")
	}
	if c := waitFilter(t, f); c != first || first.keys.Load() != stored || first.sizedAt < stored/2 {
		t.Fatalf("first filter took %d keys, sized for %d (in place: %v); want %d keys, sized for at least %d, and no rebuild",
			first.keys.Load(), first.sizedAt, c == first, stored, stored/2)
	}
}

// Between batches, once filterSaveEvery has passed, the FSM goroutine
// saves the ready filter in the background; the file loads with every key.
func TestKeyFilterSavedInTheBackground(t *testing.T) {
	dir := t.TempDir()
	f, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var keys [][]byte
	b := f.db.NewBatch()
	for i := range 5000 {
		k := idemKey("book:c", fmt.Sprint("saved-", i))
		must(b.Set(k, []byte{1}, nil))
		keys = append(keys, k)
	}
	must(b.Commit(pebble.NoSync))
	b.Close()
	f.BuildKeyFilter()
	waitFilter(t, f)
	if _, err := f.idem.fs.Stat(filepath.Join(f.storeDir(), filterFileName)); err == nil {
		t.Fatal("a filter was saved before filterSaveEvery passed")
	}
	f.idem.savedAt = time.Now().Add(-filterSaveEvery)
	f.idem.maintain(f.db, 42)
	f.idem.wg.Wait()
	c, _, err := loadFilter(f.idem.fs, f.db, f.storeDir())
	if err != nil || c == nil {
		t.Fatalf("no saved filter to load: %v", err)
	}
	for _, k := range keys {
		if !c.mayContain(k) {
			t.Fatalf("saved filter misses %q", k)
		}
	}
}

// A save is due when keys were added and filterSaveEvery has passed, or
// filterSaveKeys were added and a second has; a new filter once a second
// has passed; never with nothing added.
func TestKeyFilterSaveDue(t *testing.T) {
	c := newKeyFilter(1000)
	x := &idemFilter{savedAt: time.Now().Add(-2 * time.Second), savedOf: c}
	if x.saveDue(c) {
		t.Error("due with no key added")
	}
	c.keys.Store(filterSaveKeys)
	if !x.saveDue(c) {
		t.Error("not due after filterSaveKeys keys")
	}
	x.savedAt = time.Now()
	if x.saveDue(c) {
		t.Error("due again within a second")
	}
	x.savedAt, x.savedN = time.Now().Add(-filterSaveEvery), filterSaveKeys-1
	if !x.saveDue(c) {
		t.Error("not due after filterSaveEvery with a key added")
	}
	x.savedN = filterSaveKeys
	if x.saveDue(c) {
		t.Error("due after filterSaveEvery with no key added")
	}
	if !x.saveDue(newKeyFilter(10)) {
		t.Error("a rebuilt filter not due")
	}
}
