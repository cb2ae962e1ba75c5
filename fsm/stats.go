package fsm

import "github.com/cockroachdb/pebble/v2"

// PebbleMetrics returns the store's statistics (nil once closed), for the
// node's Prometheus metrics.
func (f *FSM) PebbleMetrics() *pebble.Metrics {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if f.db == nil {
		return nil
	}
	return f.db.Metrics()
}
