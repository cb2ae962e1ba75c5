package fsm

import (
	"fmt"
	"io"

	"github.com/cockroachdb/pebble/v2"
)

// WriteBackup writes the whole state, as of one consistent view, in the
// snapshot format (which Restore reads and checks), and returns the applied
// index the view is at. It may run concurrently with applies.
func (f *FSM) WriteBackup(w io.Writer) (applied uint64, err error) {
	err = f.view(func(r pebble.Reader) error {
		if applied, _, _, err = readMeta(r); err != nil {
			return err
		}
		return writeSnapshot(w, r, applied)
	})
	if err != nil {
		return 0, fmt.Errorf("fsm: backup: %w", err)
	}
	return applied, nil
}

// ForgetMembers deletes every member record (RPC addresses and removal
// tombstones). It is for seeding a new cluster from a backup, on a store
// no node is running on: the records name the old cluster's members, and a
// new member that forwarded by them would write to the old cluster (or ask
// its leader to take the new member's Raft address). The new cluster's
// members register themselves. Every seed of the new cluster runs it on
// the same backup, so all start from the same state at the same index.
func (f *FSM) ForgetMembers() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.db == nil {
		return ErrClosed
	}
	b := f.db.NewBatch()
	defer b.Close()
	if err := b.DeleteRange(prefixMember, prefixEnd(prefixMember), nil); err != nil {
		return err
	}
	return b.Commit(pebble.Sync)
}
