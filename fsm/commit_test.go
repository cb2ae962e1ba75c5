package fsm

import (
	"fmt"
	"log/slog"
	"math/rand"
	"testing"

	"github.com/cockroachdb/pebble/v2"
)

// commitSorted stores what committing the batch as it is would: the last
// write of each key wins, deletions included, and a batch with a range
// deletion keeps its order.
func TestCommitSortedKeepsTheLastWriteOfAKey(t *testing.T) {
	db, err := openPebble(t.TempDir(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, k := range []string{"c", "d", "r1", "r2"} {
		must(db.Set([]byte(k), []byte("old"), pebble.NoSync))
	}
	b := db.NewIndexedBatch()
	must(b.Set([]byte("z"), []byte("1"), nil))
	must(b.Set([]byte("a"), []byte("1"), nil))
	must(b.Delete([]byte("a"), nil)) // set, then deleted
	must(b.Delete([]byte("c"), nil))
	must(b.Set([]byte("c"), []byte("2"), nil)) // deleted, then set
	must(b.Set([]byte("b"), []byte("1"), nil))
	must(b.Set([]byte("b"), []byte("2"), nil))
	must(b.Delete([]byte("d"), nil))
	if err := commitSorted(db, b); err != nil {
		t.Fatal(err)
	}
	b.Close()
	want := map[string]string{"a": "", "b": "2", "c": "2", "d": "", "z": "1", "r1": "old"}
	for k, v := range want {
		got, ok, err := getValue(db, []byte(k))
		if err != nil || string(got) != v || ok != (v != "") {
			t.Errorf("%s: got %q (present %v, err %v), want %q", k, got, ok, err, v)
		}
	}

	// A write, then a range deletion over it (which sorts before it):
	// the write goes.
	b = db.NewIndexedBatch()
	must(b.Set([]byte("r2"), []byte("new"), nil))
	must(b.DeleteRange([]byte("r"), []byte("s"), nil))
	must(b.Set([]byte("r3"), []byte("new"), nil))
	if err := commitSorted(db, b); err != nil {
		t.Fatal(err)
	}
	b.Close()
	for k, v := range map[string]string{"r1": "", "r2": "", "r3": "new"} {
		got, ok, _ := getValue(db, []byte(k))
		if string(got) != v || ok != (v != "") {
			t.Errorf("%s: got %q (present %v), want %q", k, got, ok, v)
		}
	}
}

// Committed sorted or as it is, a batch of random sets and deletions
// leaves the same state.
func TestCommitSortedMatchesACommitInOrder(t *testing.T) {
	for round := range 100 {
		dbs := make([]*pebble.DB, 2)
		batches := make([]*pebble.Batch, 2)
		for i := range dbs {
			db, err := openPebble(t.TempDir(), slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			r := rand.New(rand.NewSource(int64(round))) // the same stored keys and writes in both
			for k := range 20 {
				if r.Intn(2) == 0 {
					must(db.Set(fmt.Appendf(nil, "k%02d", k), []byte("old"), pebble.NoSync))
				}
			}
			dbs[i], batches[i] = db, db.NewIndexedBatch()
			for range r.Intn(60) {
				k := fmt.Appendf(nil, "k%02d", r.Intn(25))
				if r.Intn(3) == 0 {
					must(batches[i].Delete(k, nil))
				} else {
					must(batches[i].Set(k, fmt.Appendf(nil, "v%d", r.Intn(100)), nil))
				}
			}
		}
		must(commitSorted(dbs[0], batches[0]))
		must(batches[1].Commit(pebble.NoSync))
		for k := range 25 {
			key := fmt.Appendf(nil, "k%02d", k)
			a, aok, _ := getValue(dbs[0], key)
			b, bok, _ := getValue(dbs[1], key)
			if aok != bok || string(a) != string(b) {
				t.Fatalf("round %d, %s: sorted commit left %q (present %v), commit in order %q (present %v)", round, key, a, aok, b, bok)
			}
		}
		batches[0].Close()
		batches[1].Close()
	}
}
