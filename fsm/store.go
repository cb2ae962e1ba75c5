package fsm

import (
	"fmt"
	"log/slog"
	"math"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/vfs"
	"google.golang.org/protobuf/proto"
)

// Pebble sizing. Every command reads keys that are mostly absent (a fresh
// idempotency key) or cold (an event written long ago): bloom filters answer
// the first without touching a table, and a block cache larger than Pebble's
// 8 MiB default keeps the index blocks of the second in memory.
const (
	blockCacheBytes = 256 << 20
	memTableBytes   = 64 << 20
	bloomBitsPerKey = 10
)

// unflushedBytes bounds the committed batches a store holds in memtables
// only (and so in its WAL): past it, the memtable is flushed. A start after
// a crash replays the WAL and, before Pebble opens, flushes what it
// replayed; with nothing but the 64 MiB memtables to bound it, that took
// 0.9-4.7 s after a SIGKILL right after a 10^6-booking fill (2026-12-06,
// a 2-core box shared with other work: Pebble's open in the node's log)
// and grew with the backlog the load left. Flushing every 8 MiB makes a
// crashed store's replay and flush that size, whatever the load. The
// memtables stay 64 MiB so that a burst does not stall on them.
const unflushedBytes = 8 << 20

// walBound counts the bytes committed since the last flush began.
type walBound struct {
	bytes    int
	flushing <-chan struct{} // closed when the flush begun last is done
}

// committed counts a committed batch of n bytes and begins a flush once
// unflushedBytes are reached, unless the previous one is still running.
func (w *walBound) committed(db *pebble.DB, n int, logger *slog.Logger) {
	if w.bytes += n; w.bytes < unflushedBytes {
		return
	}
	if w.flushing != nil {
		select {
		case <-w.flushing:
		default:
			return
		}
	}
	done, err := db.AsyncFlush()
	if err != nil {
		logger.Warn("fsm: flush store", "err", err)
		return
	}
	w.bytes, w.flushing = 0, done
}

// storeFS is the file system stores live on; nil is the operating
// system's. Tests set a crashable in-memory one.
var storeFS vfs.FS

// openPebble opens (or creates) the Pebble store at dir. Writes are not
// fsynced: the Raft log is the durability point, and a store that lost its
// last writes is rebuilt from the log on restart.
func openPebble(dir string, logger *slog.Logger) (*pebble.DB, error) {
	opts := &pebble.Options{
		FormatMajorVersion: pebble.FormatNewest,
		Logger:             pebbleLogger{logger},
		CacheSize:          blockCacheBytes,
		MemTableSize:       memTableBytes,
		FS:                 storeFS,
	}
	for i := range opts.Levels {
		opts.Levels[i].FilterPolicy = bloom.FilterPolicy(bloomBitsPerKey)
	}
	db, err := pebble.Open(dir, opts)
	if err != nil {
		return nil, fmt.Errorf("fsm: open pebble at %s: %w", dir, err)
	}
	return db, nil
}

// pebbleLogger routes Pebble's log lines to slog.
type pebbleLogger struct{ l *slog.Logger }

func (p pebbleLogger) Infof(format string, args ...any) {
	p.l.Debug(fmt.Sprintf(format, args...), "component", "pebble")
}

func (p pebbleLogger) Errorf(format string, args ...any) {
	p.l.Error(fmt.Sprintf(format, args...), "component", "pebble")
}

func (p pebbleLogger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	p.l.Error(msg, "component", "pebble")
	panic("pebble: " + msg)
}

// getValue copies the value at k out of r; ok is false when k is absent.
func getValue(r pebble.Reader, k []byte) (v []byte, ok bool, err error) {
	val, closer, err := r.Get(k)
	if err == pebble.ErrNotFound {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("fsm: get %q: %w", k, err)
	}
	v = append([]byte(nil), val...)
	return v, true, closer.Close()
}

// getProto decodes the value at k into m; ok is false when k is absent.
func getProto(r pebble.Reader, k []byte, m proto.Message) (ok bool, err error) {
	v, ok, err := getValue(r, k)
	if !ok || err != nil {
		return ok, err
	}
	if err := proto.Unmarshal(v, m); err != nil {
		return false, fmt.Errorf("fsm: decode %q: %w", k, err)
	}
	return true, nil
}

// stateLayout numbers the key layout of keys.go. It changes when a bookd
// could no longer read what an older one stored: 2 stores seats in chunks
// and idempotency records key first.
const stateLayout = 2

// checkLayout refuses a store (or a snapshot's) holding applied state in
// another layout than this bookd's: reading it would stop the node at the
// first command that touched what changed.
func checkLayout(r pebble.Reader, applied uint64) error {
	v, ok, err := getValue(r, keyLayout)
	if err != nil || (!ok && applied == 0) {
		return err
	}
	layout := uint64(0)
	if ok {
		if layout, err = decodeU64(v); err != nil {
			return err
		}
	}
	if layout != stateLayout {
		return fmt.Errorf("fsm: the state was stored in layout %d by another version of bookd; this one reads layout %d: start this node with an empty data directory and let it catch up, or restore a backup taken by this version", layout, stateLayout)
	}
	return nil
}

// readMeta loads the applied index, clock and earliest hold expiry of a store.
func readMeta(r pebble.Reader) (applied uint64, clock int64, nextExpiry int64, err error) {
	if v, ok, err := getValue(r, keyApplied); err != nil {
		return 0, 0, 0, err
	} else if ok {
		if applied, err = decodeU64(v); err != nil {
			return 0, 0, 0, err
		}
	}
	if err := checkLayout(r, applied); err != nil {
		return 0, 0, 0, err
	}
	if v, ok, err := getValue(r, keyClock); err != nil {
		return 0, 0, 0, err
	} else if ok {
		c, err := decodeU64(v)
		if err != nil {
			return 0, 0, 0, err
		}
		clock = int64(c)
	}
	nextExpiry = math.MaxInt64
	it, err := r.NewIter(&pebble.IterOptions{LowerBound: prefixExpiry, UpperBound: prefixEnd(prefixExpiry)})
	if err != nil {
		return 0, 0, 0, err
	}
	if it.First() {
		if len(it.Key()) != len(prefixExpiry)+16 {
			it.Close()
			return 0, 0, 0, fmt.Errorf("fsm: corrupt expiry key %q", it.Key())
		}
		nextExpiry = decodeExpiryKey(it.Key())
	}
	return applied, clock, nextExpiry, it.Close()
}
