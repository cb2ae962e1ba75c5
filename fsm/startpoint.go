package fsm

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"

	"github.com/cockroachdb/pebble/v2"
	"github.com/hashicorp/raft"
)

// A store that records, with the applied index, the Raft configuration in
// force at it is a complete snapshot of its own: a restarting node can tell
// Raft to start from the applied index, instead of reading its whole log
// back (see raftnode's start snapshot). keyRaftConfig holds the index of
// the last configuration entry applied, then the entry's data.
var keyRaftConfig = []byte("m/raftconf")

// recordConfiguration stores a configuration entry in t, with the state it
// is applied with.
func (t *txn) recordConfiguration(l *raft.Log) {
	t.set(keyRaftConfig, append(u64(nil, l.Index), l.Data...))
}

// StartPoint is the state a store holds, as a Raft snapshot would describe
// it: the applied index and the configuration in force at it.
type StartPoint struct {
	Index              uint64
	Configuration      raft.Configuration
	ConfigurationIndex uint64
}

// StartPoint reports what the store holds; ok is false when it cannot
// stand for a snapshot: it is empty, or it was written before stores
// recorded the Raft configuration and has applied no configuration change
// since.
func (f *FSM) StartPoint() (p StartPoint, ok bool, err error) {
	err = f.view(func(r pebble.Reader) error {
		applied, _, _, err := readMeta(r)
		if err != nil || applied == 0 {
			return err
		}
		v, found, err := getValue(r, keyRaftConfig)
		if err != nil || !found {
			return err
		}
		if len(v) < 8 {
			return fmt.Errorf("fsm: corrupt raft configuration record (%d bytes)", len(v))
		}
		p = StartPoint{Index: applied, ConfigurationIndex: binary.BigEndian.Uint64(v)}
		if p.Configuration, err = decodeConfiguration(v[8:]); err != nil {
			return err
		}
		ok = true
		return nil
	})
	return p, ok, err
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

// StoredStateSnapshot is a snapshot stream that stands for the state at
// index a store already holds: only a snapshot's header. Restore keeps a
// store at or past index, which is all it needs to do with it; given to a
// store behind index, Restore fails (the stream ends after the header).
func StoredStateSnapshot(index uint64) []byte {
	h := u64(append([]byte{}, snapshotMagic...), index)
	return binary.BigEndian.AppendUint32(h, crc32.Checksum(h, castagnoli))
}
