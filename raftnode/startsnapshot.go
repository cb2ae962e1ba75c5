package raftnode

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/bookd/bookd/fsm"
	"github.com/hashicorp/raft"
)

// A start without a snapshot made hashicorp/raft read the whole log back
// twice: raft.NewRaft scans every entry after the last snapshot for
// configuration changes before it returns, and the first commit index
// learnt from the leader makes it hand every entry after the snapshot to
// the state machine, which skips what its store holds. A 10^6-booking fill
// writes ~4,500 entries (150 MB of raft.db), under --snapshot-threshold, so
// no snapshot is ever taken: on a node restarted right after such a fill
// (2026-12-06, 2-core box shared with other work) NewRaft took 1.1-1.6 s
// and the replay another 1-2 s, while the state machine's store already
// held every one of those entries. Taking snapshots more often would bound
// this by writing the whole state (257 MB there) every few thousand
// entries, on every node, in the middle of the load.
//
// Instead the store itself stands for a snapshot: it records, in the batch
// that moves its applied index, the Raft configuration in force (see
// fsm.StartPoint). At start, startSnapshots offers Raft a snapshot at the
// store's applied index, with that configuration; Raft "restores" it (the
// stream is a bare header, which fsm.Restore keeps the store for), and
// starts its scan and its replay after it. The offer is made to NewRaft
// only: afterwards List and Open see the real snapshots alone, so a
// snapshot sent to a follower is always a real one. It is made only when
// the store is past the newest real snapshot and the log holds the entry
// at the store's applied index (for its term); otherwise Raft starts as
// before (a store written before stores recorded the configuration, a
// store behind a snapshot after a lost disk write).
type startSnapshots struct {
	raft.SnapshotStore

	mu    sync.Mutex
	start *raft.SnapshotMeta // offered until NewRaft returns; nil: none
}

// startSnapshotID names the offered snapshot; no file snapshot has it.
const startSnapshotID = "bookd-stored-state"

// offer makes the store's state the snapshot NewRaft starts from, when it
// can stand for one; it reports the index offered (0: none).
func (s *startSnapshots) offer(f *fsm.FSM, logs raft.LogStore) (uint64, error) {
	p, ok, err := f.StartPoint()
	if err != nil || !ok {
		return 0, err
	}
	real, err := s.SnapshotStore.List()
	if err != nil {
		return 0, err
	}
	if len(real) > 0 && real[0].Index >= p.Index {
		return 0, nil
	}
	var entry raft.Log
	if err := logs.GetLog(p.Index, &entry); err != nil {
		if errors.Is(err, raft.ErrLogNotFound) {
			return 0, nil
		}
		return 0, fmt.Errorf("raftnode: read log entry %d: %w", p.Index, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.start = &raft.SnapshotMeta{
		Version:            raft.SnapshotVersionMax,
		ID:                 startSnapshotID,
		Index:              p.Index,
		Term:               entry.Term,
		Configuration:      p.Configuration,
		ConfigurationIndex: p.ConfigurationIndex,
		Size:               int64(len(fsm.StoredStateSnapshot(p.Index))),
	}
	return p.Index, nil
}

// withdraw ends the offer (once NewRaft has returned).
func (s *startSnapshots) withdraw() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.start = nil
}

func (s *startSnapshots) offered() *raft.SnapshotMeta {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.start
}

// List puts the offered snapshot first, as the newest.
func (s *startSnapshots) List() ([]*raft.SnapshotMeta, error) {
	metas, err := s.SnapshotStore.List()
	if start := s.offered(); err == nil && start != nil {
		metas = append([]*raft.SnapshotMeta{start}, metas...)
	}
	return metas, err
}

// Open opens the offered snapshot as a bare header (see
// fsm.StoredStateSnapshot), any other from the file store.
func (s *startSnapshots) Open(id string) (*raft.SnapshotMeta, io.ReadCloser, error) {
	if start := s.offered(); start != nil && id == start.ID {
		meta := *start
		return &meta, io.NopCloser(bytes.NewReader(fsm.StoredStateSnapshot(start.Index))), nil
	}
	return s.SnapshotStore.Open(id)
}
