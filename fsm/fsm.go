package fsm

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	fsmv1 "github.com/bookd/bookd/proto/bookd/fsm/v1"
	"github.com/cockroachdb/pebble/v2"
	"github.com/hashicorp/raft"
	"google.golang.org/protobuf/proto"
)

// Result is what applying one command returns through the Raft future:
// exactly one of Response and Err is set.
type Result struct {
	Response proto.Message
	Err      *Error
}

// FSM is bookd's state machine. It implements raft.BatchingFSM. Apply,
// ApplyBatch, Snapshot and Restore are called by Raft from one goroutine;
// the read methods may be called concurrently from any goroutine.
type FSM struct {
	dir    string
	logger *slog.Logger

	// mu guards db against the swap Restore makes; reads hold it shared.
	mu sync.RWMutex
	db *pebble.DB

	applied atomic.Uint64
	// waitMu guards appliedCh, closed and replaced each time applied moves.
	waitMu    sync.Mutex
	appliedCh chan struct{}

	// Owned by the Raft FSM goroutine.
	clock int64 // greatest leader stamp applied, Unix ns
	// appliedClock is clock as of the last batch committed, for readers
	// outside the apply goroutine (AppliedClock).
	appliedClock atomic.Int64
	nextExpiry   int64 // no active hold expires before this (a lower bound)
	// A copy of nextExpiry for the leader's sweeper, on another goroutine.
	sweepHint atomic.Int64
	// events caches decoded events (see cache.go).
	events eventCache
	// layouts caches decoded seat layouts (see cache.go); FSM goroutine only.
	layouts map[uint64]*fsmv1.SeatLayout
	// seats holds the seats of hot events in memory (seatindex.go).
	seats seatIndex
	// idem filters the idempotency keys in the store (keyfilter.go).
	idem idemFilter
	// wal bounds what the store holds unflushed (store.go); FSM goroutine only.
	wal walBound
	// queues caches the work queues' definitions (queues.go); FSM goroutine only.
	queues queueDefs
	// floors are where the queues' live entries begin (queuefloor.go).
	floors queueFloors
}

var _ raft.BatchingFSM = (*FSM)(nil)

// Open opens the state stored under dir, creating it if needed.
func Open(dir string, logger *slog.Logger) (*FSM, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	f := &FSM{dir: dir, logger: logger, appliedCh: make(chan struct{})}
	if err := recoverSwap(f.storeDir()); err != nil {
		return nil, err
	}
	began := time.Now()
	db, err := openPebble(f.storeDir(), logger)
	if err != nil {
		return nil, err
	}
	opened := time.Now()
	if err := f.load(db); err != nil {
		db.Close()
		return nil, err
	}
	logger.Info("state store open", "pebble", opened.Sub(began).Round(time.Millisecond), "load", time.Since(opened).Round(time.Millisecond))
	return f, nil
}

func (f *FSM) storeDir() string { return filepath.Join(f.dir, "state") }

// load makes db the current store and reads its metadata.
func (f *FSM) load(db *pebble.DB) error {
	applied, clock, nextExpiry, err := readMeta(db)
	if err != nil {
		return err
	}
	f.db = db
	f.wal = walBound{}
	f.events.reset()
	f.queues.reset()
	f.floors.reset()
	f.layouts = nil
	f.seats.reset()
	f.clock = clock
	f.appliedClock.Store(clock)
	f.nextExpiry = nextExpiry
	f.sweepHint.Store(nextExpiry)
	f.setApplied(applied)
	f.idem.open(db, f.storeDir(), f.logger)
	return nil
}

// Close closes the store. The FSM must not be used afterwards.
func (f *FSM) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.db == nil {
		return nil
	}
	f.idem.saveAndReset(f.clock)
	// Flushing the memtables now spares the next start replaying their WAL
	// and flushing it before Pebble opens: with 64 MiB memtables that took
	// ~1 s, on the start, where it counts.
	err := errors.Join(f.db.Flush(), f.db.Close())
	f.db = nil
	return err
}

// HoldsDue reports whether some active hold may be due at time now (Unix
// ns), so that an ExpireHolds command would expire it.
func (f *FSM) HoldsDue(now int64) bool { return now >= f.sweepHint.Load() }

// AppliedClock is the state machine's time (see Clock) as of the last
// batch applied, read from memory.
func (f *FSM) AppliedClock() int64 { return f.appliedClock.Load() }

// AppliedIndex is the Raft index of the last command in the stored state.
func (f *FSM) AppliedIndex() uint64 { return f.applied.Load() }

func (f *FSM) setApplied(index uint64) {
	f.applied.Store(index)
	f.waitMu.Lock()
	close(f.appliedCh)
	f.appliedCh = make(chan struct{})
	f.waitMu.Unlock()
}

// AppliedChanged returns a channel closed when the applied index next moves.
// Read AppliedIndex after taking the channel to wait without missing a change.
func (f *FSM) AppliedChanged() <-chan struct{} {
	f.waitMu.Lock()
	defer f.waitMu.Unlock()
	return f.appliedCh
}

// Apply applies one log entry. Raft calls ApplyBatch instead; Apply is here
// to satisfy raft.FSM.
func (f *FSM) Apply(l *raft.Log) any {
	return f.ApplyBatch([]*raft.Log{l})[0]
}

// ApplyBatch applies committed entries in Pebble batches (see
// applyChunkBytes), each with the applied index and clock of its last
// entry. An entry of one command answers a *Result, an entry of several
// (EncodeBatch) a []*Result. Entries at or below the stored applied index
// are skipped: they are already in the state (Raft replays from its last
// snapshot).
// An entry that cannot be decoded, or a storage failure, stops the node: a
// replica that cannot apply the log must not carry on with a different state.
func (f *FSM) ApplyBatch(logs []*raft.Log) []any {
	results := make([]any, len(logs))
	for done := 0; done < len(logs); {
		done += f.applyChunk(logs[done:], results[done:])
	}
	return results
}

// applyChunkBytes bounds the Pebble batch ApplyBatch commits at once: it
// commits after the entry that takes the batch past it. Under load Raft
// hands the state machine a few entries at a time, well under it; a
// follower catching up gets hundreds at once (~190 entries of a 10^6 ga
// fill, a 27-30 MB batch of ~220,000 keys), and one such batch in the WAL
// when the node is killed made the next start replay it whole, 0.5-0.8 s
// of Pebble's open (2026-12-07, crash copies of followers restarted during
// a fill). In batches of this size the store's WAL stays within its flush
// bound (unflushedBytes) and a crash costs a start at most that. Where
// batches are cut does not change the state (determinism_test.go).
const applyChunkBytes = 4 << 20

// applyChunk applies entries from the start of logs in one Pebble batch,
// until the batch reaches applyChunkBytes; it writes their results and
// reports how many it took (at least one).
func (f *FSM) applyChunk(logs []*raft.Log, results []any) int {
	applied := f.applied.Load()
	f.idem.maintain(f.db, f.clock)
	t := &txn{b: f.db.NewIndexedBatch(), f: f}
	defer t.b.Close()
	last := applied
	taken := 0
	for taken < len(logs) && t.b.Len() < applyChunkBytes {
		if l := logs[taken]; l.Index > applied {
			last = l.Index
			results[taken] = f.applyEntry(t, l)
		}
		taken++
	}
	if last == applied {
		return taken
	}
	t.flushCounters()
	t.flushQueues()
	t.flushSeats()
	t.flushAges()
	t.set(keyApplied, u64(nil, last))
	t.set(keyClock, u64(nil, uint64(f.clock)))
	t.set(keyLayout, u64(nil, stateLayout))
	if err := commitSorted(f.db, t.b); err != nil {
		panic(fmt.Sprintf("fsm: commit batch up to index %d: %v", last, err))
	}
	f.wal.committed(f.db, t.b.Len(), f.logger)
	for _, name := range t.floorDrops {
		f.floors.drop(name)
	}
	f.sweepHint.Store(f.nextExpiry)
	f.appliedClock.Store(f.clock)
	f.setApplied(last)
	return taken
}

// applyEntry applies one log entry in t and returns its result (nil for an
// entry that is not a command).
func (f *FSM) applyEntry(t *txn, l *raft.Log) any {
	if l.Type == raft.LogConfiguration {
		t.recordConfiguration(l) // the store stands for a snapshot (startpoint.go)
	}
	if l.Type != raft.LogCommand {
		return nil
	}
	cmds, batch, err := DecodeEntry(l.Data)
	if err != nil {
		panic(fmt.Sprintf("fsm: cannot apply log entry %d: %v", l.Index, err))
	}
	if !batch {
		return f.applyCommand(t, l.Index, 0, cmds[0])
	}
	out := make([]*Result, len(cmds))
	for pos, cmd := range cmds {
		out[pos] = f.applyCommand(t, l.Index, pos, cmd)
	}
	return out
}

// applyCommand runs the command at position pos of the entry at index: it
// advances the clock, expires due holds, then runs the command under its
// idempotency key.
func (f *FSM) applyCommand(t *txn, index uint64, pos int, cmd *Command) *Result {
	if cmd.GetStampUnixNanos() > f.clock {
		f.clock = cmd.GetStampUnixNanos()
	}
	t.index, t.entry, t.now = objectNumber(index, pos), index, f.clock
	t.secret = cmd.GetSecret()
	if pos == 0 {
		t.seq = 0
	}
	t.expireDue()

	o := opFor(cmd)
	if o.key == "" {
		resp, err := o.run(t)
		return &Result{Response: resp, Err: err}
	}
	k := idemKey(o.scope, o.key)
	var rec IdempotencyRecord
	if t.f.idem.mayContain(k) && t.getProto(k, &rec) {
		return replay(&rec, cmd.GetRequestHash(), o.newResponse)
	}
	t.refusedForGood = false
	resp, err := o.run(t)
	if err != nil && t.refusedForGood && cmd.GetFirstAttempt() && (cmd.GetBook() != nil || cmd.GetHold() != nil) {
		// Not recorded, as the leader's early refusal of the same claim
		// would not be (CertainRefusals): the key's first request, refused
		// by inventory only a cancellation can free.
		return &Result{Err: err}
	}
	rec = IdempotencyRecord{RequestHash: cmd.GetRequestHash(), CreatedUnixNanos: t.now}
	if err != nil {
		rec.ErrorCode, rec.ErrorReason, rec.ErrorMessage, rec.ErrorMetadata = int32(err.Code), err.Reason, err.Message, err.Metadata
	} else {
		rec.Response = marshal(resp)
	}
	t.setProto(k, &rec)
	t.f.idem.add(k)
	t.ageRecord(k)
	return &Result{Response: resp, Err: err}
}

// txn is the state of one command being applied inside a batch.
type txn struct {
	f     *FSM
	b     *pebble.Batch
	index uint64 // number of the objects the command creates (objectNumber)
	entry uint64 // Raft index of the command's log entry
	now   int64  // state machine time, Unix ns
	seq   uint32 // change feed records written by this entry so far
	// secret is the leader's random bytes for the client_secret of the
	// objects the command creates (rendered by clientSecret where used).
	secret []byte

	// refusedForGood: the claim being applied was refused by inventory
	// that only a cancellation can free (a booked seat, GA tickets its
	// bookings sold).
	refusedForGood bool

	counters map[uint64]*EventCounters // loaded by this batch (cache.go)
	// queueStates: queues loaded by this batch (queues.go); nil for one deleted.
	queueStates map[string]*fsmv1.QueueState
	// floorDrops: queues whose floors go once the batch is committed.
	floorDrops []string
	dirtySeats []dirtyChunk // seat chunks changed in memory, not yet in the batch (seats.go)
	ages       []byte       // record keys of entry agesEntry for the age index (idemage.go)
	agesEntry  uint64
	agesNewest int64 // time of the newest of them
}

// Storage errors inside a batch are not the command's fault and cannot be
// answered deterministically: they stop the node.
func must(err error) {
	if err != nil {
		panic(err)
	}
}

func (t *txn) getProto(k []byte, m proto.Message) bool {
	ok, err := getProto(t.b, k, m)
	must(err)
	return ok
}

func (t *txn) set(k, v []byte) { must(t.b.Set(k, v, nil)) }

func (t *txn) setProto(k []byte, m proto.Message) { t.set(k, marshal(m)) }

func (t *txn) delete(k []byte) { must(t.b.Delete(k, nil)) }

// feed appends a change record for the current command. Records are
// numbered by Raft index and, within an entry, in order from 0.
func (t *txn) feed(c *Change) {
	c.Index, c.Seq, c.TimeUnixNanos = t.entry, t.seq, t.now
	encoded := marshal(c)
	t.set(feedKey(t.entry, t.seq), encoded)
	t.route(c, encoded)
	t.seq++
}

var marshalOptions = proto.MarshalOptions{Deterministic: true}

func marshal(m proto.Message) []byte {
	b, err := marshalOptions.Marshal(m)
	must(err)
	return b
}

// noExpiry is nextExpiry when no hold is active.
const noExpiry = math.MaxInt64
