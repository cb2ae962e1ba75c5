package fsm

import (
	"log/slog"
	"math"
	"math/bits"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// The idempotency filter. Every mutation looks up its idempotency record,
// on every replica, and almost every key is new: the lookup finds nothing,
// after a seek through the memtables that costs more than the rest of a
// claim. A Bloom filter of the keys in the store answers "not there" for
// most of them without the seek.
//
// The filter only ever skips a read whose answer is "absent", so it changes
// no answer and needs no determinism: each replica builds its own, with its
// own hash seed. It must never miss a key that is in the store:
//
//   - A build starts on the FSM goroutine between batches (nothing is
//     written but not committed): the new filter is registered to receive
//     every key written from then on, then a snapshot is taken and scanned
//     into it in the background. Until the scan ends, lookups go to Pebble.
//   - Keys are added as they are written, before the batch commits, so a
//     retry later in the same batch sees them too.
//   - Purged keys stay in the filter (a false "maybe"); a filter that has
//     taken as many keys again as it was built for is rebuilt, which also
//     drops them.
//   - A node that starts loads the filter it saved (keyfilterfile.go) and
//     has no scan to wait for. Only without a usable saved one does it
//     build a filter, as follows.
//   - No filter is built until the node asks (FSM.BuildKeyFilter), once its
//     state is complete: the scan reads every idempotency record, 1.7-2.8 s
//     of a core for 2.9 million of them at 10^6 bookings (2026-12-07), and
//     at open it competed with the start it was meant to speed up, on a box
//     whose other nodes were compacting. Until then lookups read the store.
//     The first build is sized from the entries of the tables that hold
//     the records, so that it is not full, and scanned again, as soon as
//     it is built (sized for none, it was).

// filterBitsPerKey sizes filters: with 8 probes about 0.05% false positives.
const (
	filterBitsPerKey = 16
	filterProbes     = 8
	minFilterKeys    = 1 << 16
)

// keyFilter is a Bloom filter safe for concurrent adds and lookups.
type keyFilter struct {
	words   []atomic.Uint64
	mask    uint64       // bits - 1; bits is a power of two
	seed    uint64       // of the hash; random per filter, so a caller cannot aim collisions
	keys    atomic.Int64 // added
	sizedAt int64        // keys it was built for
	ready   atomic.Bool  // holds every key in the store
}

func newKeyFilter(keys int64) *keyFilter {
	keys = max(keys, minFilterKeys)
	n := uint64(1) << bits.Len64(uint64(keys*filterBitsPerKey-1))
	return &keyFilter{words: make([]atomic.Uint64, n/64), mask: n - 1, seed: rand.Uint64(), sizedAt: keys}
}

func (f *keyFilter) hash(k []byte) uint64 {
	var d xxhash.Digest
	d.ResetWithSeed(f.seed)
	d.Write(k)
	return d.Sum64()
}

func (f *keyFilter) add(k []byte) {
	h := f.hash(k)
	delta := h>>33 | 1
	for range filterProbes {
		bit := h & f.mask
		f.words[bit/64].Or(1 << (bit % 64))
		h += delta
	}
	f.keys.Add(1)
}

func (f *keyFilter) mayContain(k []byte) bool {
	h := f.hash(k)
	delta := h>>33 | 1
	for range filterProbes {
		bit := h & f.mask
		if f.words[bit/64].Load()&(1<<(bit%64)) == 0 {
			return false
		}
		h += delta
	}
	return true
}

// idemFilter is the FSM's filter of idempotency keys: the one that answers,
// the one being built, and what it knows of the copy saved with the store.
type idemFilter struct {
	current atomic.Pointer[keyFilter] // ready; nil until the first build ends
	next    *keyFilter                // being built; FSM goroutine
	wanted  atomic.Bool               // the node asked for a filter

	stop chan struct{} // closed to end a build's scan
	wg   sync.WaitGroup

	dir     string     // the store's directory, where the filter is saved
	fs      vfs.FS     // the store's file system
	savedAt time.Time  // when a copy was last taken
	savedOf *keyFilter // the filter it was taken of
	savedN  int64      // and that filter's keys then
	saving  atomic.Bool
	logger  *slog.Logger
}

// BuildKeyFilter asks for the filter of idempotency keys (see idemFilter):
// the first batch applied from now on starts building it in the
// background, unless the store opened with the one it saved. Until it is
// ready every mutation's idempotency lookup reads the store, which is
// correct, only slower. A node asks once its state is complete, not while
// it is catching up. Safe from any goroutine.
func (f *FSM) BuildKeyFilter() { f.idem.wanted.Store(true) }

// mayContain reports whether k may be in the store; false is certain.
func (x *idemFilter) mayContain(k []byte) bool {
	c := x.current.Load()
	return c == nil || c.mayContain(k)
}

// add records a key written to the store (FSM goroutine).
func (x *idemFilter) add(k []byte) {
	if c := x.current.Load(); c != nil {
		c.add(k)
	}
	if x.next != nil {
		x.next.add(k)
	}
}

// maintain, called on the FSM goroutine between batches, starts the first
// build once a filter is wanted, puts a finished build in place, and starts
// another when the current filter is full.
func (x *idemFilter) maintain(db *pebble.DB, clock int64) {
	x.saveNow(clock)
	if x.current.Load() == nil && x.next == nil {
		if x.wanted.Load() {
			x.build(db, storedIdemKeys(db))
		}
		return
	}
	if x.next != nil {
		if !x.next.ready.Load() {
			return
		}
		x.current.Store(x.next)
		x.next = nil
	}
	if c := x.current.Load(); c != nil && c.keys.Load() >= 2*c.sizedAt {
		x.build(db, c.keys.Load())
	}
}

// storedIdemKeys estimates the idempotency records in db: the entries of
// the tables whose keys reach into them (table properties, no data read).
// It errs high, never low but for what the memtables hold, so that a first
// filter is not sized for fewer than half its keys, full at once, and
// scanned again.
func storedIdemKeys(db *pebble.DB) int64 {
	levels, err := db.SSTables(pebble.WithKeyRangeFilter(prefixIdem, prefixEnd(prefixIdem)), pebble.WithProperties())
	if err != nil {
		return 0
	}
	var n uint64
	for _, tables := range levels {
		for _, t := range tables {
			if t.Properties != nil {
				n += t.Properties.NumEntries
			}
		}
	}
	return int64(min(n, math.MaxInt64))
}

// build starts filling a new filter, sized for keys, from a snapshot of db
// in the background; maintain puts it in place once the scan ends. FSM
// goroutine, between batches.
func (x *idemFilter) build(db *pebble.DB, keys int64) {
	next := newKeyFilter(keys)
	x.next = next
	snap := db.NewSnapshot()
	if x.stop == nil {
		x.stop = make(chan struct{})
	}
	stop := x.stop
	x.wg.Go(func() {
		defer snap.Close()
		it, err := snap.NewIter(&pebble.IterOptions{LowerBound: prefixIdem, UpperBound: prefixEnd(prefixIdem)})
		if err != nil {
			return // never ready: lookups keep going to the store
		}
		defer it.Close()
		n := 0
		for it.First(); it.Valid(); it.Next() {
			if n++; n%4096 == 0 {
				select {
				case <-stop:
					return
				default:
				}
			}
			next.add(it.Key())
		}
		if it.Error() == nil {
			next.ready.Store(true)
		}
	})
}

// open loads the filter saved in dir, the directory of the store db that
// was just opened (keyfilterfile.go), and puts it in place.
func (x *idemFilter) open(db *pebble.DB, dir string, logger *slog.Logger) {
	x.dir, x.fs, x.logger, x.savedAt = dir, filterFS(), logger, time.Now()
	began := time.Now()
	c, added, err := loadFilter(x.fs, db, dir)
	switch {
	case err != nil:
		logger.Warn("saved idempotency filter not used: a scan will build one", "err", err)
	case c != nil:
		x.current.Store(c)
		x.savedOf, x.savedN = c, c.keys.Load()-int64(added) // what the file holds
		logger.Info("idempotency filter loaded", "keys", c.keys.Load(), "added_since_saved", added, "took", time.Since(began).Round(time.Millisecond))
	}
}

// saveNow, between batches on the FSM goroutine, copies the ready filter
// and writes the copy in the background when a save is due (saveDue) and
// no earlier copy is still being written.
func (x *idemFilter) saveNow(clock int64) {
	c := x.current.Load()
	if c == nil || x.dir == "" || !x.saveDue(c) || !x.saving.CompareAndSwap(false, true) {
		return
	}
	x.savedAt, x.savedOf, x.savedN = time.Now(), c, c.keys.Load()
	s, fs, dir := copyFilter(c, clock), x.fs, x.dir
	x.wg.Go(func() {
		defer x.saving.Store(false)
		if err := writeFilter(fs, dir, s); err != nil {
			x.logger.Warn("save idempotency filter", "err", err)
		}
	})
}

// saveDue reports whether c should be saved: keys were added since the
// last copy and filterSaveEvery has passed, or filterSaveKeys were added
// and a second has. The keys added since the last copy are what a start
// after a crash adds from the age index (~1 µs each on a busy core).
func (x *idemFilter) saveDue(c *keyFilter) bool {
	since := time.Since(x.savedAt)
	if c != x.savedOf {
		return since >= time.Second
	}
	added := c.keys.Load() - x.savedN
	return added > 0 && since >= filterSaveEvery || added >= filterSaveKeys && since >= time.Second
}

// saveAndReset, once the store has stopped applying (Close), saves the
// ready filter, if any, then forgets the filters as reset does.
func (x *idemFilter) saveAndReset(clock int64) {
	x.stopWork()
	if c := x.current.Load(); c != nil && x.dir != "" {
		if err := writeFilter(x.fs, x.dir, copyFilter(c, clock)); err != nil {
			x.logger.Warn("save idempotency filter", "err", err)
		}
	}
	x.reset()
}

// stopWork ends any build's scan and waits for it and any save.
func (x *idemFilter) stopWork() {
	if x.stop != nil {
		close(x.stop)
		x.stop = nil
	}
	x.wg.Wait()
}

// reset stops any build or save and forgets the filters, before the store
// they describe is closed or replaced.
func (x *idemFilter) reset() {
	x.stopWork()
	x.current.Store(nil)
	x.next = nil
}
