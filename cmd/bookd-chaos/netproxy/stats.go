package netproxy

import "sync/atomic"

// Stats counts what the network has done since New.
type Stats struct {
	Accepted    int64 // connections accepted by all proxies
	Passthrough int64 // of those, from callers that are no node (never faulted)
	Forwarded   int64 // of those, connected to their target and forwarded
	Blackholed  int64 // of those, accepted across a blocked link and never forwarded
	DialErrors  int64 // of those, whose target could not be reached (reset at once)

	ResetsBlock int64 // forwarded connections reset because a block started
	ResetsDrop  int64 // forwarded connections reset by a Drop fault
	ResetsPeer  int64 // forwarded connections reset because one end failed or reset
	ResetsClose int64 // forwarded connections reset by Unlisten or Close

	BytesForwarded int64 // bytes delivered to the other end
	BytesDelayed   int64 // bytes held back by a Delay or Jitter fault
	BytesDiscarded int64 // bytes read but never delivered (black holes, resets)
}

// Stats returns a snapshot of the counters. Byte counts of connections
// still open may lag by what is queued in them.
func (n *Network) Stats() Stats {
	s := &n.stats
	return Stats{
		Accepted:       s.accepted.Load(),
		Passthrough:    s.passthrough.Load(),
		Forwarded:      s.forwarded.Load(),
		Blackholed:     s.blackholed.Load(),
		DialErrors:     s.dialErrors.Load(),
		ResetsBlock:    s.resets[resetBlock].Load(),
		ResetsDrop:     s.resets[resetDrop].Load(),
		ResetsPeer:     s.resets[resetPeer].Load(),
		ResetsClose:    s.resets[resetClose].Load(),
		BytesForwarded: s.bytesForwarded.Load(),
		BytesDelayed:   s.bytesDelayed.Load(),
		BytesDiscarded: s.bytesDiscarded.Load(),
	}
}

type counters struct {
	accepted, passthrough, forwarded, blackholed, dialErrors atomic.Int64
	resets                                                   [resetClose + 1]atomic.Int64
	bytesForwarded, bytesDelayed, bytesDiscarded             atomic.Int64
}

func (c *counters) countReset(k resetKind) { c.resets[k].Add(1) }
