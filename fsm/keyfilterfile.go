package fsm

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// The idempotency filter outlives a restart. Building one scans every
// idempotency record (2.9 million, 2-3 s of a core, at 10^6 bookings), and
// until the scan ends every claim's lookup reads the store: a node just
// restarted applied a write burst slower than its peers and ended it ~50
// entries behind, which a crash then cost its next start in catching up
// (BENCHMARKS.md, "Crash right after the load"). So the filter is saved
// with the store and loaded when it opens:
//
//   - Saved: between batches on the FSM goroutine (no key is being added),
//     every filterSaveEvery or filterSaveKeys new keys (whichever comes
//     first, at most once a second) and at Close, the ready filter's words
//     are copied with the state machine's clock at that moment; the copy
//     is written to a new file, synced, and renamed over the old one (from
//     another goroutine, but at Close).
//   - Loaded: at open, the saved filter is topped up with the keys of every
//     record created at or after the saved clock, found through the age
//     index (idemage.go). The state machine's clock never goes back, so a
//     record written after the copy was created at that clock or later,
//     and one written before is in the copy.
//   - Never a miss: a store that lost writes in a power cut makes the
//     filter hold keys the store no longer has, which costs a read; the
//     file lives in the store's directory, so a store swapped in by a
//     snapshot restore comes without one; a file that does not check out
//     (magic, version, length, checksum) is ignored, and the node builds
//     its filter by a scan, as without a file.
const (
	filterFileName  = "idempotency-filter"
	filterSaveEvery = 10 * time.Second
	// filterSaveKeys bounds what a start adds from the age index: 299,000
	// keys, three bursts' worth since a save 10 s old, took 261 ms of a
	// start on the busy bench box.
	filterSaveKeys = 100_000
	filterMagic    = "BKDIDF01"
)

// savedFilter is a ready filter's copy and the clock it was taken at.
type savedFilter struct {
	seed    uint64
	sizedAt int64
	keys    int64
	clock   int64 // the state machine's clock when copied
	words   []uint64
}

// copyFilter copies c. FSM goroutine, between batches.
func copyFilter(c *keyFilter, clock int64) *savedFilter {
	s := &savedFilter{seed: c.seed, sizedAt: c.sizedAt, keys: c.keys.Load(), clock: clock, words: make([]uint64, len(c.words))}
	for i := range c.words {
		s.words[i] = c.words[i].Load()
	}
	return s
}

// filterFS is the file system stores open on.
func filterFS() vfs.FS {
	if storeFS != nil {
		return storeFS
	}
	return vfs.Default
}

// encode lays s out as the file holds it: magic, seed, sizedAt, keys,
// clock, word count, words (little-endian), then a CRC-32C of it all.
func (s *savedFilter) encode() []byte {
	b := make([]byte, 0, len(filterMagic)+5*8+8*len(s.words)+4)
	b = append(b, filterMagic...)
	b = binary.LittleEndian.AppendUint64(b, s.seed)
	b = binary.LittleEndian.AppendUint64(b, uint64(s.sizedAt))
	b = binary.LittleEndian.AppendUint64(b, uint64(s.keys))
	b = binary.LittleEndian.AppendUint64(b, uint64(s.clock))
	b = binary.LittleEndian.AppendUint64(b, uint64(len(s.words)))
	for _, w := range s.words {
		b = binary.LittleEndian.AppendUint64(b, w)
	}
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, crcTable))
}

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// decodeFilter reads a saved filter (not yet ready) and the clock it was
// copied at.
func decodeFilter(b []byte) (*keyFilter, int64, error) {
	const head = len(filterMagic) + 5*8
	if len(b) < head+4 || !bytes.Equal(b[:len(filterMagic)], []byte(filterMagic)) {
		return nil, 0, errors.New("not a saved filter")
	}
	body, sum := b[:len(b)-4], binary.LittleEndian.Uint32(b[len(b)-4:])
	if crc32.Checksum(body, crcTable) != sum {
		return nil, 0, errors.New("checksum mismatch")
	}
	u := func(i int) uint64 { return binary.LittleEndian.Uint64(body[len(filterMagic)+8*i:]) }
	n := u(4)
	if n == 0 || n&(n-1) != 0 || uint64(len(body)-head) != 8*n {
		return nil, 0, fmt.Errorf("%d words in %d bytes", n, len(body)-head)
	}
	c := &keyFilter{words: make([]atomic.Uint64, n), mask: n*64 - 1, seed: u(0), sizedAt: int64(u(1))}
	c.keys.Store(int64(u(2)))
	for i := range c.words {
		c.words[i].Store(binary.LittleEndian.Uint64(body[head+8*i:]))
	}
	return c, int64(u(3)), nil
}

// writeFilter writes s to dir's filter file on fs: a new file, synced,
// renamed over the old one.
func writeFilter(fs vfs.FS, dir string, s *savedFilter) error {
	path := filepath.Join(dir, filterFileName)
	f, err := fs.Create(path+".tmp", vfs.WriteCategoryUnspecified)
	if err != nil {
		return err
	}
	_, err = f.Write(s.encode())
	if err == nil {
		err = f.Sync()
	}
	if err = errors.Join(err, f.Close()); err != nil {
		fs.Remove(path + ".tmp")
		return err
	}
	if err := fs.Rename(path+".tmp", path); err != nil {
		return err
	}
	d, err := fs.OpenDir(dir)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}

// loadFilter reads dir's filter file on fs and tops it up from db's age
// index; nil when there is no file.
func loadFilter(fs vfs.FS, db *pebble.DB, dir string) (*keyFilter, int, error) {
	f, err := fs.Open(filepath.Join(dir, filterFileName))
	if err != nil {
		return nil, 0, nil // none saved
	}
	b, err := io.ReadAll(f)
	f.Close()
	if err != nil {
		return nil, 0, err
	}
	c, clock, err := decodeFilter(b)
	if err != nil {
		return nil, 0, err
	}
	added, err := addAgedSince(db, c, clock)
	if err != nil {
		return nil, 0, err
	}
	c.ready.Store(true)
	return c, added, nil
}

// addAgedSince adds to c the key of every idempotency record db's age
// index says was created at or after clock, and returns how many.
func addAgedSince(db *pebble.DB, c *keyFilter, clock int64) (int, error) {
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: key(prefixIdemAt, uint64(max(clock, 0))), UpperBound: prefixEnd(prefixIdemAt)})
	if err != nil {
		return 0, err
	}
	n := 0
	for it.First(); it.Valid(); it.Next() {
		records := it.Value()
		for len(records) > 0 {
			var record []byte
			if record, records, err = nextAgedRecord(records); err != nil {
				return 0, errors.Join(err, it.Close())
			}
			c.add(record)
			n++
		}
	}
	return n, errors.Join(it.Error(), it.Close())
}
