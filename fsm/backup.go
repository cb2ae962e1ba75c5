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
