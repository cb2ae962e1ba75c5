package raftnode

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"

	"github.com/bookd/bookd/fsm"
	"github.com/hashicorp/raft"
)

// A start without a recent snapshot made hashicorp/raft read the whole log
// back twice: raft.NewRaft scans every entry after the last snapshot for
// configuration changes before it returns, and the first commit index
// learnt from the leader makes it hand every entry after the snapshot to
// the state machine, which skips what its store holds and applies nothing
// new until it is through. A 10^6-booking fill writes ~4,500 entries (150
// MB of raft.db), under --snapshot-threshold, so no snapshot is taken: on a
// follower restarted right after such a fill (2026-12-07, quiet 2-core box,
// `bookd-bench scale -sizes 1000000 -coldstarts 2`) NewRaft took 0.4-1.3 s,
// and a follower whose store was one entry behind the leader's commit
// index served every booking only 3.6 s after it started, once the replay
// was through. Taking snapshots more often would bound this by writing the
// whole state (hundreds of MB) every few thousand entries, on every node,
// in the middle of the load.
//
// Instead the store stands for a snapshot: it records, in the batch that
// moves its applied index, the Raft configuration in force (see
// fsm.StartPoint). storeSnapshots offers Raft, at start, a snapshot at the
// store's applied index; NewRaft "restores" it (a bare header, for which
// fsm.Restore keeps the store) and starts its scan and its replay after it.
//
// Raft then holds that index as its last snapshot, so the offer must stay
// good for as long as it is the newest: List keeps it first until a real
// snapshot at or past it exists, and a leader that opens it to send it to
// a follower gets a real snapshot of the store as it is then (at or past
// the offered index), written to the file store on the spot. A withdrawn
// first version of this sent followers the newest real snapshot instead,
// older than the index Raft held: the leader then looked for the entry
// after it in a log compacted past it, and sent the same snapshot again
// every ~15 ms for as long as it led.
//
// The offer is made only when the store is past the newest real snapshot
// and the log holds the entry at the store's applied index (for its term);
// otherwise Raft starts as before (a store behind a snapshot after a lost
// disk write; a store fresh from a snapshot install, with no log under it).
type storeSnapshots struct {
	raft.SnapshotStore // the real snapshots: files

	fsm   *fsm.FSM
	logs  raft.LogStore
	trans raft.Transport
	log   *slog.Logger

	mu       sync.Mutex
	stored   *raft.SnapshotMeta // the store's offer; nil: none
	starting bool               // NewRaft runs: the offer opens as a bare header
	writing  sync.Mutex         // one snapshot of the store written at a time
}

// storedSnapshotID names the offer; no file snapshot has it.
const storedSnapshotID = "bookd-stored-state"

// offer makes the store's state the snapshot NewRaft starts from, when it
// can stand for one; it reports the index offered (0: none). Call started
// once NewRaft has returned.
func (s *storeSnapshots) offer() (uint64, error) {
	p, err := s.fsm.StartPoint()
	if err != nil || p.Index == 0 {
		return 0, err
	}
	newest, err := s.newestFile()
	if err != nil {
		return 0, err
	}
	if newest != nil && newest.Index >= p.Index {
		return 0, nil // Raft starts from that real snapshot
	}
	meta, ok, err := s.describe(p, newest)
	if err != nil || !ok {
		if errors.Is(err, raft.ErrLogNotFound) {
			err = nil
		}
		return 0, err
	}
	meta.ID = storedSnapshotID
	meta.Size = int64(len(fsm.StoredStateSnapshot(p.Index)))
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stored, s.starting = meta, true
	return p.Index, nil
}

// started ends NewRaft's view of the offer: from now on, opening it writes
// a real snapshot.
func (s *storeSnapshots) started() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.starting = false
}

// describe is the snapshot metadata of a store at p: the term of the entry
// at p.Index, from the log, and the configuration in force there. That is
// the newest real snapshot's, which holds at its index, unless the store
// applied a configuration entry after that index. A store seeded from a
// backup, or recovered with a new configuration, still records the
// configuration of the cluster it came from; the seed's or the recovery's
// snapshot says what replaced it (raft.RecoverCluster writes its
// configuration with index 1, so the snapshot's index is what counts, not
// its ConfigurationIndex). ok is false when neither says.
func (s *storeSnapshots) describe(p fsm.StartPoint, newest *raft.SnapshotMeta) (*raft.SnapshotMeta, bool, error) {
	meta := &raft.SnapshotMeta{
		Version:            raft.SnapshotVersionMax,
		Index:              p.Index,
		Configuration:      p.Configuration,
		ConfigurationIndex: p.ConfigurationIndex,
	}
	if newest != nil && newest.Index >= meta.ConfigurationIndex {
		meta.Configuration, meta.ConfigurationIndex = newest.Configuration, newest.ConfigurationIndex
	}
	if meta.ConfigurationIndex == 0 {
		return nil, false, nil
	}
	var entry raft.Log
	if err := s.logs.GetLog(p.Index, &entry); err != nil {
		return nil, false, fmt.Errorf("raftnode: read log entry %d: %w", p.Index, err)
	}
	meta.Term = entry.Term
	return meta, true, nil
}

func (s *storeSnapshots) newestFile() (*raft.SnapshotMeta, error) {
	metas, err := s.SnapshotStore.List()
	if err != nil || len(metas) == 0 {
		return nil, err
	}
	return metas[0], nil
}

// withdraw ends the offer: a real snapshot at or past it exists.
func (s *storeSnapshots) withdraw() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stored = nil
}

// offered is the offer while it is newer than every real snapshot.
func (s *storeSnapshots) offered(newest *raft.SnapshotMeta) *raft.SnapshotMeta {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stored != nil && newest != nil && newest.Index >= s.stored.Index {
		s.stored = nil // a real snapshot took its place (as withdraw)
	}
	return s.stored
}

// List puts the offer first while it is the newest.
func (s *storeSnapshots) List() ([]*raft.SnapshotMeta, error) {
	metas, err := s.SnapshotStore.List()
	if err != nil {
		return nil, err
	}
	var newest *raft.SnapshotMeta
	if len(metas) > 0 {
		newest = metas[0]
	}
	if stored := s.offered(newest); stored != nil {
		meta := *stored
		metas = append([]*raft.SnapshotMeta{&meta}, metas...)
	}
	return metas, nil
}

// Open opens the offer as a bare header while NewRaft runs, and afterwards
// as a real snapshot of the store written now; any other from the files.
func (s *storeSnapshots) Open(id string) (*raft.SnapshotMeta, io.ReadCloser, error) {
	if id != storedSnapshotID {
		return s.SnapshotStore.Open(id)
	}
	s.mu.Lock()
	stored, starting := s.stored, s.starting
	s.mu.Unlock()
	if stored != nil && starting {
		meta := *stored
		return &meta, io.NopCloser(bytes.NewReader(fsm.StoredStateSnapshot(stored.Index))), nil
	}
	return s.writeStore()
}

// writeStore writes a real snapshot of the store as it is now and opens it,
// unless a real snapshot at or past the offer exists already (then it opens
// that one). Either way the offer is replaced by a real snapshot at or past
// its index, whose log entries after it the leader still holds: the log is
// compacted only behind snapshots Raft takes, which come after the offer.
func (s *storeSnapshots) writeStore() (*raft.SnapshotMeta, io.ReadCloser, error) {
	s.writing.Lock()
	defer s.writing.Unlock()
	newest, err := s.newestFile()
	if err != nil {
		return nil, nil, err
	}
	stored := s.offered(newest)
	if stored == nil {
		if newest == nil {
			return nil, nil, errors.New("raftnode: no snapshot to open")
		}
		return s.SnapshotStore.Open(newest.ID)
	}
	snap, p, err := s.fsm.SnapshotNow()
	if err != nil {
		return nil, nil, err
	}
	defer snap.Release()
	meta, ok, err := s.describe(p, newest)
	if err != nil || !ok {
		return nil, nil, errors.Join(err, fmt.Errorf("raftnode: the store at %d cannot be described as a snapshot", p.Index))
	}
	sink, err := s.SnapshotStore.Create(meta.Version, meta.Index, meta.Term, meta.Configuration, meta.ConfigurationIndex, s.trans)
	if err != nil {
		return nil, nil, fmt.Errorf("raftnode: create snapshot: %w", err)
	}
	if err := snap.Persist(sink); err != nil { // closes or cancels sink
		return nil, nil, fmt.Errorf("raftnode: write snapshot of the store: %w", err)
	}
	s.log.Info("wrote a snapshot of the store to send", "index", meta.Index, "offered_index", stored.Index)
	s.withdraw() // the snapshot just written is at or past it
	return s.SnapshotStore.Open(sink.ID())
}
