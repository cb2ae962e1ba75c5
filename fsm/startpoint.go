package fsm

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"

	"github.com/cockroachdb/pebble/v2"
	"github.com/hashicorp/raft"
)

// A store that records, with its applied index, the Raft configuration in
// force at it can stand for a Raft snapshot of itself: a restarting node
// tells Raft to start from the applied index instead of reading its whole
// log back, and a leader that must send a snapshot writes one of the store
// as it is (see raftnode's store snapshots). keyRaftConfig holds the index
// of the last configuration entry applied, then the entry's data.
var keyRaftConfig = []byte("m/raftconf")

// recordConfiguration stores a configuration entry in t, with the state it
// is applied with. Every replica applies the same entries, so the record is
// part of the replicated state like any other key.
func (t *txn) recordConfiguration(l *raft.Log) {
	t.set(keyRaftConfig, append(u64(nil, l.Index), l.Data...))
}

// StartPoint is the state a store holds, as a Raft snapshot would describe
// it: the applied index, and the last configuration entry applied at or
// before it. Index is 0 for an empty store; ConfigurationIndex is 0 when the
// store applied no configuration entry (a store seeded from a backup or
// restored from a snapshot carries the record of the state it came from).
type StartPoint struct {
	Index              uint64
	Configuration      raft.Configuration
	ConfigurationIndex uint64
}

// StartPoint reports what the store holds now.
func (f *FSM) StartPoint() (p StartPoint, err error) {
	err = f.view(func(r pebble.Reader) error {
		p, err = startPointOf(r)
		return err
	})
	return p, err
}

func startPointOf(r pebble.Reader) (StartPoint, error) {
	applied, _, _, err := readMeta(r)
	if err != nil {
		return StartPoint{}, err
	}
	p := StartPoint{Index: applied}
	v, found, err := getValue(r, keyRaftConfig)
	if err != nil || !found {
		return p, err
	}
	if len(v) < 8 {
		return p, fmt.Errorf("fsm: corrupt raft configuration record (%d bytes)", len(v))
	}
	if p.Configuration, err = decodeConfiguration(v[8:]); err != nil {
		return p, err
	}
	p.ConfigurationIndex = binary.BigEndian.Uint64(v)
	return p, nil
}

// decodeConfiguration is raft.DecodeConfiguration, with an error instead
// of a panic for bytes that do not decode.
func decodeConfiguration(b []byte) (c raft.Configuration, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("fsm: decode raft configuration: %v", r)
		}
	}()
	return raft.DecodeConfiguration(b), nil
}

// SnapshotNow captures the store as it is, from any goroutine (Snapshot is
// for Raft's FSM goroutine): the view and the start point that describes
// it are read together, so the snapshot's index is its state's whatever is
// applied meanwhile.
func (f *FSM) SnapshotNow() (raft.FSMSnapshot, StartPoint, error) {
	f.mu.RLock() // released by Release, as Snapshot's
	if f.db == nil {
		f.mu.RUnlock()
		return nil, StartPoint{}, ErrClosed
	}
	snap := f.db.NewSnapshot()
	p, err := startPointOf(snap)
	if err != nil {
		snap.Close()
		f.mu.RUnlock()
		return nil, StartPoint{}, err
	}
	return &fsmSnapshot{f: f, snap: snap, applied: p.Index}, p, nil
}

// StoredStateSnapshot is a snapshot stream that stands for the state at
// index a store already holds: only a snapshot's header. Restore keeps a
// store at or past index, which is all it needs to do with it; given to a
// store behind index, Restore fails (the stream ends after the header).
func StoredStateSnapshot(index uint64) []byte {
	h := u64(append([]byte{}, snapshotMagic...), index)
	return binary.BigEndian.AppendUint32(h, crc32.Checksum(h, castagnoli))
}
