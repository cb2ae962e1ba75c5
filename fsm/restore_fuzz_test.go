package fsm_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// Restore reads what another node streamed over the network, so its input is
// untrusted. FuzzRestore feeds it arbitrary bytes, as Raft would (through an
// io.ReadCloser), on an FSM that holds a small state of its own, and proves:
//
//   - Restore never panics and always closes its reader;
//   - when it fails, the error has the fsm: prefix, the FSM still answers
//     reads, its digest and applied index are what they were before, and the
//     data directory holds nothing new;
//   - when it succeeds, the state is either kept (a snapshot at or below the
//     applied index) with an unchanged digest, or replaced, and then the
//     applied index is the snapshot header's and the new state can be read.
//
// Random bytes rarely get past the CRC-32C checksums, so this target mostly
// explores the framing (header, record lengths, trailer). FuzzRestoreChecksummed
// fixes the checksums up first to reach what lies behind them.
func FuzzRestore(f *testing.F) {
	fuzzRestore(f, false)
}

// FuzzRestoreChecksummed is FuzzRestore with the header and trailer checksums
// of the input recomputed before Restore sees it: the snapshot a buggy or
// hostile leader could send. It proves the same properties for records that
// pass every checksum but hold anything at all.
func FuzzRestoreChecksummed(f *testing.F) {
	fuzzRestore(f, true)
}

func fuzzRestore(f *testing.F, fixChecksums bool) {
	src := newHarness(f)
	buildState(src)
	f.Add(snapshotOf(f, src.f)) // the current format, whatever the committed seeds hold
	f.Add([]byte{})

	// One target FSM per fuzzing process, rebuilt only when a Restore
	// replaced its state: opening Pebble costs milliseconds, most inputs
	// are refused in microseconds.
	target := &restoreTarget{base: f.TempDir()}
	f.Cleanup(target.close)
	f.Fuzz(func(t *testing.T, data []byte) {
		if fixChecksums {
			data = fixSnapshotChecksums(data)
		}
		target.check(t, data)
	})
}

// restoreTarget is an FSM holding a small state, with that state's digest.
type restoreTarget struct {
	base    string // directory for the FSM's data directories
	h       *harness
	applied uint64
	digest  []byte
	names   []string // data directory entries
}

// ensure (re)builds the FSM when there is none.
func (r *restoreTarget) ensure(t *testing.T) {
	t.Helper()
	if r.h != nil {
		r.h.t = t
		return
	}
	dir, err := os.MkdirTemp(r.base, "fsm")
	if err != nil {
		t.Fatal(err)
	}
	r.h = &harness{t: t, dir: dir, now: t0}
	r.h.open()
	ev := r.h.createEvent(gaEvent(3)).GetId()
	r.h.hold(gaHold(ev, 1, time.Minute))
	r.applied, r.digest = digest(t, r.h.f)
	r.names = dirNames(t, dir)
}

func (r *restoreTarget) close() {
	if r.h == nil {
		return
	}
	func() {
		// The FSM may be broken (its store closed twice): its error or
		// panic says nothing more here.
		defer func() { recover() }()
		r.h.f.Close()
	}()
	os.RemoveAll(r.h.dir)
	r.h = nil
}

func (r *restoreTarget) check(t *testing.T, data []byte) {
	r.ensure(t)
	index, headerOK := snapshotHeaderIndex(data)
	err := restore(t, r.h.f, data)

	// Reads after a Restore must answer, not panic: a panic here is a
	// Restore that left the FSM on a closed or broken store.
	var applied uint64
	var sum []byte
	var readErr error
	func() {
		defer func() {
			if p := recover(); p != nil {
				readErr = fmt.Errorf("panic: %v", p)
			}
		}()
		if applied, sum, readErr = r.h.f.Digest(); readErr == nil {
			_, readErr = r.h.f.Members()
		}
	}()

	switch {
	case err != nil:
		if !strings.HasPrefix(err.Error(), "fsm: ") {
			t.Errorf("Restore error %q lacks the fsm: prefix", err)
		}
		if readErr != nil {
			r.close()
			t.Fatalf("after Restore failed (%v) the FSM cannot be read: %v", err, readErr)
		}
		if applied != r.applied || !bytes.Equal(sum, r.digest) {
			r.close()
			t.Fatalf("Restore failed (%v) but changed the state: index %d, want %d (digest changed: %v)",
				err, applied, r.applied, !bytes.Equal(sum, r.digest))
		}
		if names := dirNames(t, r.h.dir); !slices.Equal(names, r.names) {
			r.close()
			t.Fatalf("Restore failed (%v) and left %v in the data directory, had %v", err, names, r.names)
		}
	case !headerOK:
		r.close()
		t.Fatalf("Restore accepted a snapshot whose header is not valid")
	case index <= r.applied:
		if readErr != nil || applied != r.applied || !bytes.Equal(sum, r.digest) {
			r.close()
			t.Fatalf("Restore of a snapshot at %d, not past the applied %d, changed the state: index %d, read error %v",
				index, r.applied, applied, readErr)
		}
	default:
		defer r.close() // the state was replaced: the next input needs a fresh FSM
		if readErr != nil {
			t.Fatalf("after Restore of a snapshot at %d succeeded the FSM cannot be read: %v", index, readErr)
		}
		if got := r.h.f.AppliedIndex(); got != index || applied != index {
			t.Fatalf("Restore of a snapshot at %d succeeded but AppliedIndex is %d (digest at %d): Raft and the store disagree",
				index, got, applied)
		}
	}
}

// snapshotHeaderIndex returns the index of a snapshot whose header (magic,
// index, checksum) is well formed.
func snapshotHeaderIndex(data []byte) (uint64, bool) {
	if len(data) < 20 || string(data[:8]) != "BOOKDSN\x01" {
		return 0, false
	}
	if crc32.Checksum(data[:16], crc32.MakeTable(crc32.Castagnoli)) != binary.BigEndian.Uint32(data[16:20]) {
		return 0, false
	}
	return binary.BigEndian.Uint64(data[8:16]), true
}

// fixSnapshotChecksums returns a copy of data with the header checksum
// (bytes 16-19) and the final checksum (the last 4 bytes, over all before
// them) recomputed, where data is long enough to hold them.
func fixSnapshotChecksums(data []byte) []byte {
	data = slices.Clone(data)
	table := crc32.MakeTable(crc32.Castagnoli)
	if len(data) >= 20 {
		binary.BigEndian.PutUint32(data[16:20], crc32.Checksum(data[:16], table))
	}
	if n := len(data); n >= 24 {
		binary.BigEndian.PutUint32(data[n-4:], crc32.Checksum(data[:n-4], table))
	}
	return data
}
