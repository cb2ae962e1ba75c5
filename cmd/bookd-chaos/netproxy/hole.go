package netproxy

import (
	"net"
	"sync"
	"time"
)

// hole is a connection accepted across a blocked link: it is read and its
// bytes discarded, nothing is ever forwarded, and it is reset when the block
// lifts or the black-hole timeout passes.
type hole struct {
	l        *listener
	from, to string
	c        *net.TCPConn
	once     sync.Once
}

// blackhole serves c as a hole until it is released or times out.
func (n *Network) blackhole(l *listener, from string, c *net.TCPConn) {
	h := &hole{l: l, from: from, to: l.dst, c: c}
	n.mu.Lock()
	if !n.liveLocked(l) || !n.cutLocked(from, l.dst) {
		// Closed, or healed meanwhile: the caller will reconnect.
		n.mu.Unlock()
		abort(c)
		return
	}
	n.holes[h] = struct{}{}
	n.mu.Unlock()
	n.stats.blackholed.Add(1)
	n.log.Debug("black-holed connection", "from", from, "to", l.dst)

	c.SetReadDeadline(time.Now().Add(n.holeTimeout))
	buf := make([]byte, chunkSize)
	for {
		k, err := c.Read(buf)
		n.stats.bytesDiscarded.Add(int64(k))
		if err != nil {
			break
		}
	}
	h.release()
	n.mu.Lock()
	delete(n.holes, h)
	n.mu.Unlock()
}

// release resets the hole's connection, ending its reader.
func (h *hole) release() {
	h.once.Do(func() { abort(h.c) })
}
