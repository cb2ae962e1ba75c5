package fsm

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"os"

	"github.com/cockroachdb/pebble/v2"
	"github.com/hashicorp/raft"
)

// A snapshot is a stream of every key and value of a consistent Pebble view:
//
//	magic (8 bytes) | applied index (8) | CRC-32C of those 16 bytes (4)
//	{ uvarint key length | key | uvarint value length | value }...
//	uvarint 0 | record count (8) | CRC-32C of all bytes before it (4)
var snapshotMagic = []byte("BOOKDSN\x01")

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Snapshot captures the current state. Raft calls it on the FSM goroutine,
// so the view is exactly the state at the applied index; Persist streams it
// later from another goroutine while applies continue.
func (f *FSM) Snapshot() (raft.FSMSnapshot, error) {
	f.mu.RLock() // released by Release: Restore must not close the store under it
	return &fsmSnapshot{f: f, snap: f.db.NewSnapshot(), applied: f.applied.Load()}, nil
}

type fsmSnapshot struct {
	f       *FSM
	snap    *pebble.Snapshot
	applied uint64
}

func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	if err := writeSnapshot(sink, s.snap, s.applied); err != nil {
		sink.Cancel()
		return err
	}
	return sink.Close()
}

func (s *fsmSnapshot) Release() {
	s.snap.Close()
	s.f.mu.RUnlock()
}

func writeSnapshot(w io.Writer, r pebble.Reader, applied uint64) error {
	crc := crc32.New(castagnoli)
	bw := bufio.NewWriterSize(io.MultiWriter(w, crc), 1<<20)
	header := u64(append([]byte{}, snapshotMagic...), applied)
	bw.Write(header)
	bw.Write(binary.BigEndian.AppendUint32(nil, crc32.Checksum(header, castagnoli)))
	it, err := r.NewIter(nil)
	if err != nil {
		return fmt.Errorf("fsm: snapshot iterator: %w", err)
	}
	var count uint64
	var lenBuf []byte
	for ok := it.First(); ok; ok = it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			it.Close()
			return fmt.Errorf("fsm: snapshot read: %w", err)
		}
		lenBuf = binary.AppendUvarint(lenBuf[:0], uint64(len(it.Key())))
		bw.Write(lenBuf)
		bw.Write(it.Key())
		lenBuf = binary.AppendUvarint(lenBuf[:0], uint64(len(v)))
		bw.Write(lenBuf)
		bw.Write(v)
		count++
	}
	if err := it.Close(); err != nil {
		return fmt.Errorf("fsm: snapshot iterator: %w", err)
	}
	bw.Write(binary.AppendUvarint(nil, 0))
	bw.Write(u64(nil, count))
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("fsm: write snapshot: %w", err)
	}
	_, err = w.Write(binary.BigEndian.AppendUint32(nil, crc.Sum32()))
	return err
}

// Restore replaces the state with a snapshot's. When the stored state is
// already at or past the snapshot's index (a restart: Raft restores its last
// snapshot before replaying the log) the stored state is kept. The snapshot
// is loaded into a new store beside the current one, checked, and swapped in;
// a torn or corrupt snapshot leaves the current state untouched.
func (f *FSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	sr := newSnapshotReader(rc)
	applied, err := sr.header()
	if err != nil {
		return err
	}
	if applied <= f.applied.Load() {
		f.logger.Info("kept stored state newer than snapshot", "snapshot_index", applied, "applied_index", f.applied.Load())
		return nil
	}
	tmp := f.storeDir() + ".restore"
	if err := os.RemoveAll(tmp); err != nil {
		return fmt.Errorf("fsm: clear %s: %w", tmp, err)
	}
	db, err := openPebble(tmp, f.logger)
	if err != nil {
		return err
	}
	if err := errors.Join(sr.load(db), checkRestored(db, applied)); err != nil {
		db.Close()
		os.RemoveAll(tmp)
		return err
	}
	if err := db.Close(); err != nil {
		return fmt.Errorf("fsm: close restored store: %w", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.idem.reset()
	if err := f.db.Close(); err != nil {
		return fmt.Errorf("fsm: close store: %w", err)
	}
	old := f.storeDir() + ".old"
	if err := os.Rename(f.storeDir(), old); err != nil {
		return fmt.Errorf("fsm: swap in snapshot: %w", err)
	}
	if err := os.Rename(tmp, f.storeDir()); err != nil {
		return fmt.Errorf("fsm: swap in snapshot: %w", err)
	}
	os.RemoveAll(old)
	f.db = nil // closed: reads fail with ErrClosed until the store is open again
	if db, err = openPebble(f.storeDir(), f.logger); err != nil {
		return err
	}
	f.logger.Info("restored snapshot", "snapshot_index", applied)
	return f.load(db)
}

// checkRestored checks what a snapshot's framing cannot: that the state it
// carried is at the index its header claims and its metadata decodes, so a
// snapshot from a buggy or hostile leader is refused before it replaces the
// store.
func checkRestored(db *pebble.DB, want uint64) error {
	applied, _, _, err := readMeta(db)
	if err != nil {
		return fmt.Errorf("fsm: snapshot state: %w", err)
	}
	if applied != want {
		return fmt.Errorf("fsm: snapshot header says index %d but its state is at %d", want, applied)
	}
	return nil
}

// recoverSwap finishes or undoes a Restore cut short by a crash.
func recoverSwap(dir string) error {
	old, tmp := dir+".old", dir+".restore"
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		if _, err := os.Stat(old); err == nil {
			if err := os.Rename(old, dir); err != nil {
				return fmt.Errorf("fsm: recover %s: %w", dir, err)
			}
		}
	}
	os.RemoveAll(old)
	os.RemoveAll(tmp)
	return nil
}

// snapshotReader parses the snapshot format and checks its CRC.
type snapshotReader struct {
	r   *crcReader
	crc hash.Hash32
}

func newSnapshotReader(r io.Reader) *snapshotReader {
	crc := crc32.New(castagnoli)
	return &snapshotReader{r: &crcReader{r: bufio.NewReaderSize(r, 1<<20), crc: crc}, crc: crc}
}

// crcReader sums the bytes as they are consumed (not as they are buffered).
type crcReader struct {
	r   *bufio.Reader
	crc hash.Hash32
}

func (c *crcReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.crc.Write(p[:n])
	return n, err
}

func (c *crcReader) ReadByte() (byte, error) {
	b, err := c.r.ReadByte()
	if err == nil {
		c.crc.Write([]byte{b})
	}
	return b, err
}

func (s *snapshotReader) header() (uint64, error) {
	// The header is checked on its own: Restore decides on the index
	// before it has read (and checked) the rest.
	var h [20]byte
	if _, err := io.ReadFull(s.r, h[:]); err != nil {
		return 0, fmt.Errorf("fsm: snapshot header: %w", err)
	}
	if string(h[:8]) != string(snapshotMagic) {
		return 0, fmt.Errorf("fsm: not a bookd snapshot (magic %q)", h[:8])
	}
	if crc32.Checksum(h[:16], castagnoli) != binary.BigEndian.Uint32(h[16:]) {
		return 0, fmt.Errorf("fsm: snapshot header checksum mismatch")
	}
	return binary.BigEndian.Uint64(h[8:16]), nil
}

// maxSnapshotField bounds a key or value so a corrupt length cannot make the
// reader allocate without limit.
const maxSnapshotField = 64 << 20

func (s *snapshotReader) load(db *pebble.DB) error {
	b := db.NewBatch()
	var count uint64
	for {
		k, err := s.field()
		if err != nil {
			return err
		}
		if len(k) == 0 {
			break
		}
		v, err := s.field()
		if err != nil {
			return err
		}
		if err := b.Set(k, v, nil); err != nil {
			return err
		}
		count++
		if b.Len() > 4<<20 {
			if err := b.Commit(pebble.NoSync); err != nil {
				return fmt.Errorf("fsm: restore write: %w", err)
			}
			b = db.NewBatch()
		}
	}
	var trailer [8]byte
	if _, err := io.ReadFull(s.r, trailer[:]); err != nil {
		return fmt.Errorf("fsm: snapshot trailer: %w", err)
	}
	sum := s.crc.Sum32() // everything up to the CRC itself
	var crc [4]byte
	if _, err := io.ReadFull(s.r, crc[:]); err != nil {
		return fmt.Errorf("fsm: snapshot trailer: %w", err)
	}
	if got := binary.BigEndian.Uint64(trailer[:]); got != count {
		return fmt.Errorf("fsm: snapshot holds %d records, trailer says %d", count, got)
	}
	if got := binary.BigEndian.Uint32(crc[:]); got != sum {
		return fmt.Errorf("fsm: snapshot checksum mismatch (%08x, computed %08x)", got, sum)
	}
	// Sync: once swapped in, this state may be all there is (the log before
	// the snapshot is gone).
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("fsm: restore write: %w", err)
	}
	return nil
}

func (s *snapshotReader) field() ([]byte, error) {
	n, err := binary.ReadUvarint(s.r)
	if err != nil {
		return nil, fmt.Errorf("fsm: snapshot truncated: %w", err)
	}
	if n > maxSnapshotField {
		return nil, fmt.Errorf("fsm: snapshot field of %d bytes is too large", n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(s.r, b); err != nil {
		return nil, fmt.Errorf("fsm: snapshot truncated: %w", err)
	}
	return b, nil
}
