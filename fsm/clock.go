package fsm

import "github.com/cockroachdb/pebble/v2"

// Clock is the state machine's time: the greatest leader stamp it has
// applied (Unix ns), as stored with the applied index, or 0 before the
// first command. A leader bounds its stamps by it when its term begins and
// takes purge cut-offs from it, so that one skewed clock cannot move them.
func (f *FSM) Clock() (int64, error) {
	var clock int64
	err := f.view(func(r pebble.Reader) (err error) {
		clock, err = readClock(r)
		return err
	})
	return clock, err
}

// readClock reads the state machine's time stored in r (0 before any command).
func readClock(r pebble.Reader) (int64, error) {
	v, ok, err := getValue(r, keyClock)
	if err != nil || !ok {
		return 0, err
	}
	c, err := decodeU64(v)
	return int64(c), err
}
