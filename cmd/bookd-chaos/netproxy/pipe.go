package netproxy

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

const (
	chunkSize  = 32 << 10
	queueDepth = 64 // chunks in flight per direction before the reader waits
)

// resetKind says why a connection was reset.
type resetKind int

const (
	resetNone  resetKind = iota
	resetBlock           // a block started across it
	resetDrop            // a Drop fault fired
	resetPeer            // one end failed or reset: passed on to the other
	resetClose           // the proxy or the network closed
)

// pipe is one forwarded connection: client is the caller's connection to
// the proxy, server the proxy's connection to the target.
type pipe struct {
	n              *Network
	l              *listener
	from, to       string // from is "" for callers that are no node
	client, server *net.TCPConn

	once          sync.Once
	done          chan struct{} // closed when the pipe is reset or closed
	read, written atomic.Int64
}

// chunk is a run of bytes read from one end, due at the other at due.
type chunk struct {
	b   []byte
	due time.Time
}

func newPipe(n *Network, l *listener, from string, client, server *net.TCPConn) *pipe {
	return &pipe{n: n, l: l, from: from, to: l.dst, client: client, server: server, done: make(chan struct{})}
}

// run forwards both directions until both have ended or the pipe is reset.
func (p *pipe) run() {
	up := make(chan chunk, queueDepth)
	down := make(chan chunk, queueDepth)
	var wg sync.WaitGroup
	wg.Add(4)
	go p.pump(&wg, p.client, up, link{p.from, p.to})
	go p.deliver(&wg, p.server, up)
	go p.pump(&wg, p.server, down, link{p.to, p.from})
	go p.deliver(&wg, p.client, down)
	wg.Wait()
	p.finish(resetNone)
	p.n.stats.bytesDiscarded.Add(p.read.Load() - p.written.Load())
}

// pump reads chunks from src, judges each against the link's fault, and
// queues the survivors for deliver. It closes q at EOF or when it stops.
func (p *pipe) pump(wg *sync.WaitGroup, src *net.TCPConn, q chan<- chunk, l link) {
	defer wg.Done()
	defer close(q)
	for {
		buf := make([]byte, chunkSize)
		k, err := src.Read(buf)
		if k > 0 {
			p.read.Add(int64(k))
			v := p.n.judge(l)
			if v.reset != resetNone {
				p.reset(v.reset)
				return
			}
			if v.delay > 0 {
				p.n.stats.bytesDelayed.Add(int64(k))
			}
			select {
			case q <- chunk{b: buf[:k], due: time.Now().Add(v.delay)}:
			case <-p.done:
				return
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				p.reset(resetPeer)
			}
			return
		}
	}
}

// deliver writes queued chunks to dst, each no earlier than it is due, and
// half-closes dst when the queue ends cleanly.
func (p *pipe) deliver(wg *sync.WaitGroup, dst *net.TCPConn, q <-chan chunk) {
	defer wg.Done()
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		var c chunk
		var ok bool
		select {
		case c, ok = <-q:
		case <-p.done:
			return
		}
		if !ok {
			select {
			case <-p.done:
			default:
				dst.CloseWrite()
			}
			return
		}
		if wait := time.Until(c.due); wait > 0 {
			if timer == nil {
				timer = time.NewTimer(wait)
			} else {
				timer.Reset(wait)
			}
			select {
			case <-timer.C:
			case <-p.done:
				return
			}
		}
		if _, err := dst.Write(c.b); err != nil {
			p.reset(resetPeer)
			return
		}
		p.written.Add(int64(len(c.b)))
		p.n.stats.bytesForwarded.Add(int64(len(c.b)))
	}
}

// reset ends the pipe with a TCP reset on both ends, counting why.
func (p *pipe) reset(why resetKind) { p.finish(why) }

// finish ends the pipe once: with a reset for any why but resetNone, with
// an orderly close otherwise.
func (p *pipe) finish(why resetKind) {
	p.once.Do(func() {
		if why != resetNone {
			p.n.stats.countReset(why)
			p.n.log.Debug("reset connection", "from", p.from, "to", p.to, "why", why.String())
			p.client.SetLinger(0)
			p.server.SetLinger(0)
		}
		p.client.Close()
		p.server.Close()
		close(p.done)
	})
}

func (k resetKind) String() string {
	switch k {
	case resetBlock:
		return "block"
	case resetDrop:
		return "drop"
	case resetPeer:
		return "peer"
	case resetClose:
		return "close"
	}
	return "none"
}
