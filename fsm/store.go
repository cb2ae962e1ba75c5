package fsm

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

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

// l0CompactionSublevels is how many overlapping L0 sublevels start an L0
// compaction (Pebble's default 4). A booking writes keys spread over the
// whole key space (idempotency records, per-customer indexes), so every
// L0 table overlaps all of Lbase and each L0 compaction rewrites Lbase
// whole; with flushes every unflushedBytes, the default did that every
// ~16 MiB committed. At 16, one store applying 10^6 ga bookings (batches
// of 512, BenchmarkApplyCompactions) wrote 415-431 MB in compactions
// instead of 612-642 MB and spent 20.0-20.4 s of CPU instead of
// 28.1-30.3 s, the apply itself included (2026-12-07, 2-core box, runs
// interleaved). Reads pay up to 16 bloom filter probes for an absent key
// instead of 4. Writes stop only at l0StopWritesSublevels, so that a
// burst waits on L0 compactions later than it would on Pebble's default
// (12 for 4).
const (
	l0CompactionSublevels = 16
	l0StopWritesSublevels = 3 * l0CompactionSublevels
)

// unflushedBytes bounds the committed batches a store holds in memtables
// only (and so in its WAL): past it, the memtable is flushed. A start after
// a crash replays the WAL and, before Pebble opens, flushes what it
// replayed; with nothing but the 64 MiB memtables to bound it, that took
// 0.9-4.7 s after a SIGKILL right after a 10^6-booking fill (2026-12-06,
// a 2-core box shared with other work: Pebble's open in the node's log)
// and grew with the backlog the load left. Flushing every 4 MiB makes a
// crashed store's replay and flush that size (twice it if the crash came
// during a flush), whatever the load. The open costs 13-15 ms per MiB
// replayed on an idle core, syncing none of it (crash copies of 2-16 MiB);
// right after a load, beside the other nodes' compactions, SIGKILL starts
// at 10^6 bookings replayed 1.8-3.8 MB in 86-250 ms (2026-12-07, the
// node's debug log). Halving the bound from 8 MiB costs the apply path
// about 5% (more, smaller L0 tables to compact; BenchmarkApplyBook, within
// its noise). The memtables stay 64 MiB so that a burst does not stall on
// them.
const unflushedBytes = 4 << 20

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
	db, gate, err := openGated(dir, logger)
	if err != nil {
		return nil, err
	}
	gate.open()
	return db, nil
}

// openGated opens the store as openPebble does, its compactions held back
// until gate.open is called (see compactionGate).
func openGated(dir string, logger *slog.Logger) (db *pebble.DB, gate *compactionGate, err error) {
	plog := pebbleLogger{l: logger, opening: new(atomic.Bool)}
	opts := &pebble.Options{
		FormatMajorVersion: pebble.FormatNewest,
		Logger:             plog,
		CacheSize:          blockCacheBytes,
		MemTableSize:       memTableBytes,
		FS:                 storeFS,

		L0CompactionThreshold: l0CompactionSublevels,
		L0StopWritesThreshold: l0StopWritesSublevels,
	}
	// Flushes, compactions, WAL replays and write stalls, at debug level:
	// what a slow start or a stalled apply spent its time on.
	events := pebble.MakeLoggingEventListener(opts.Logger)
	opts.EventListener = &events
	gate = newCompactionGate()
	opts.Experimental.CompactionScheduler = gate
	for i := range opts.Levels {
		opts.Levels[i].FilterPolicy = bloom.FilterPolicy(bloomBitsPerKey)
	}
	plog.opening.Store(true)
	db, err = pebble.Open(dir, opts)
	plog.opening.Store(false)
	if err != nil {
		return nil, nil, fmt.Errorf("fsm: open pebble at %s: %w", dir, err)
	}
	return db, gate, nil
}

// compactionGate is the store's compaction scheduler: Pebble's default
// policy (start a compaction when the store wants one and fewer than it
// allows are running: one, with the default concurrency range), except that
// none starts before open is called, once pebble.Open has returned.
//
// Pebble's Open (v2.1.7) flushes what it replayed from the WAL, even
// nothing (a start after a close that flushed), and the end of that flush
// starts a compaction when L0 is due one, which it often is with the store
// flushing every unflushedBytes. Open then waits until no compaction runs
// (it scans for obsolete files only then), so for that one and any that
// follows it: 1-3 compactions of 7-44 MB, 0.1-0.8 s each, on crash copies
// of followers SIGKILLed or SIGTERMed during or right after a 10^6-ticket
// ga fill, where replaying and flushing the WAL took 8-140 ms. Over 10
// such copies (3 opens each, alternated, 2026-12-07, 2 shared cores) the
// state machine's Open took 12 / 384 / 846 ms (min / median / max) before
// and 11 / 62 / 153 ms behind the gate, but for one copy whose WAL held a
// single 27 MB batch (a follower catching up applies many entries in one
// batch): 523-664 ms before, 548-592 ms after, replaying it. The same
// compactions run, just after Open: 600 MiB of batches committed and
// flushed as ApplyBatch does ran 15 compactions and 70-71 flushes with
// either scheduler, L0 peaking at 24 files alike. (Pebble moved the scan
// before the flush upstream, cockroachdb/pebble#5431; no v2 release has
// it.)
type compactionGate struct {
	db pebble.DBForCompaction // set by Register, before any other call

	mu       sync.Mutex
	idle     sync.Cond // on mu: granting went false
	opened   bool      // open was called: compactions may start
	stopped  bool      // Unregister was called: none may start
	granting bool      // a goroutine is starting waiting compactions
	running  int

	stopTicking chan struct{} // closed by Unregister
}

// gateTick is how often the gate also looks for waiting compactions on its
// own, as Pebble's default scheduler does: a compaction the store wants
// starts at the latest then, should no flush or compaction end to prompt it.
const gateTick = 100 * time.Millisecond

var _ pebble.CompactionScheduler = (*compactionGate)(nil)

func newCompactionGate() *compactionGate {
	g := &compactionGate{}
	g.idle.L = &g.mu
	return g
}

// open lets compactions start, and starts the one Open left waiting.
func (g *compactionGate) open() {
	g.mu.Lock()
	g.opened = true
	g.mu.Unlock()
	g.grant()
}

// mayStartLocked reports whether one more compaction may start.
func (g *compactionGate) mayStartLocked() bool {
	// GetAllowedWithoutPermission takes no lock of the store's: it may be
	// called under g.mu.
	return g.opened && !g.stopped && g.running < g.db.GetAllowedWithoutPermission()
}

// grant starts the compactions the store has waiting, as many as it
// allows. The store calls the scheduler under its own mutex, so grant calls
// it (GetWaitingCompaction, Schedule) without holding g.mu; granting keeps
// one goroutine at a time doing so.
func (g *compactionGate) grant() {
	g.mu.Lock()
	for g.granting {
		g.idle.Wait()
	}
	if !g.mayStartLocked() {
		g.mu.Unlock()
		return
	}
	g.granting = true
	g.mu.Unlock()
	for {
		if waiting, _ := g.db.GetWaitingCompaction(); !waiting || !g.db.Schedule(g) {
			break
		}
		g.mu.Lock()
		g.running++
		more := g.mayStartLocked()
		g.mu.Unlock()
		if !more {
			break
		}
	}
	g.mu.Lock()
	g.granting = false
	g.idle.Broadcast()
	g.mu.Unlock()
}

// Register implements pebble.CompactionScheduler.
func (g *compactionGate) Register(_ int, db pebble.DBForCompaction) {
	g.db = db
	g.stopTicking = make(chan struct{})
	go g.tick()
}

func (g *compactionGate) tick() {
	t := time.NewTicker(gateTick)
	defer t.Stop()
	for {
		select {
		case <-g.stopTicking:
			return
		case <-t.C:
			g.grant()
		}
	}
}

// Unregister implements pebble.CompactionScheduler: it returns once no
// call into the store is under way, and none starts after.
func (g *compactionGate) Unregister() {
	close(g.stopTicking)
	g.mu.Lock()
	defer g.mu.Unlock()
	g.stopped = true
	for g.granting {
		g.idle.Wait()
	}
}

// TrySchedule implements pebble.CompactionScheduler. A compaction refused
// here waits in the store until grant starts it.
func (g *compactionGate) TrySchedule() (bool, pebble.CompactionGrantHandle) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.mayStartLocked() {
		return false, nil
	}
	g.running++
	return true, g
}

// UpdateGetAllowedWithoutPermission implements pebble.CompactionScheduler:
// the store may allow more compactions now (after a flush). It is called
// under the store's mutex, which grant takes, so it grants from another
// goroutine.
func (g *compactionGate) UpdateGetAllowedWithoutPermission() { go g.grant() }

// Started, MeasureCPU and CumulativeStats implement
// pebble.CompactionGrantHandle: the gate does not pace compactions.
func (g *compactionGate) Started()                                          {}
func (g *compactionGate) MeasureCPU(pebble.CompactionGoroutineKind)         {}
func (g *compactionGate) CumulativeStats(pebble.CompactionGrantHandleStats) {}

// Done implements pebble.CompactionGrantHandle: a compaction ended, and
// the next waiting one may start. The store calls it holding no lock.
func (g *compactionGate) Done() {
	g.mu.Lock()
	g.running--
	g.mu.Unlock()
	g.grant()
}

// pebbleLogger routes Pebble's log lines to slog: at debug level, but for
// those written while pebble.Open runs, at info. Open's few lines (the WAL
// files found, the keys and batches replayed from them, the flush of what
// was replayed) say what a slow start spent its time on; afterwards every
// flush and compaction would be a line.
type pebbleLogger struct {
	l       *slog.Logger
	opening *atomic.Bool
}

func (p pebbleLogger) Infof(format string, args ...any) {
	level := slog.LevelDebug
	if p.opening.Load() {
		level = slog.LevelInfo
	}
	if p.l.Enabled(context.Background(), level) {
		p.l.Log(context.Background(), level, fmt.Sprintf(format, args...), "component", "pebble")
	}
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
