package netproxy

import (
	"errors"
	"fmt"
	"net"
	"time"
)

// listener is one proxy: it accepts on addr and forwards to target, in front
// of node dst.
type listener struct {
	dst, addr, target string
	ln                net.Listener
}

// Listen starts a proxy in front of node dst: it accepts on listenAddr and
// forwards every connection to targetAddr, applying the faults of the links
// between the calling node and dst. It returns the address it listens on
// (useful with port 0).
func (n *Network) Listen(dst, listenAddr, targetAddr string) (string, error) {
	ln, err := net.Listen("tcp", listenAddr)
	if err != nil {
		return "", fmt.Errorf("netproxy: listen on %s for %s: %w", listenAddr, dst, err)
	}
	l := &listener{dst: dst, addr: ln.Addr().String(), target: targetAddr, ln: ln}
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		ln.Close()
		return "", ErrClosed
	}
	n.listeners[l.addr] = l
	n.wg.Add(1)
	n.mu.Unlock()
	n.log.Debug("proxy listening", "node", dst, "addr", l.addr, "target", targetAddr)
	go n.serve(l)
	return l.addr, nil
}

// Unlisten stops the proxy on listenAddr (as Listen returned it) and resets
// its connections, so that another proxy may listen there.
func (n *Network) Unlisten(listenAddr string) error {
	n.mu.Lock()
	l, ok := n.listeners[listenAddr]
	if !ok {
		n.mu.Unlock()
		return fmt.Errorf("netproxy: no proxy on %s", listenAddr)
	}
	delete(n.listeners, listenAddr)
	var pipes []*pipe
	for p := range n.pipes {
		if p.l == l {
			pipes = append(pipes, p)
		}
	}
	var holes []*hole
	for h := range n.holes {
		if h.l == l {
			holes = append(holes, h)
		}
	}
	n.mu.Unlock()
	err := l.ln.Close()
	for _, p := range pipes {
		p.reset(resetClose)
	}
	for _, h := range holes {
		h.release()
	}
	return err
}

// liveLocked reports whether l still serves; callers hold n.mu.
func (n *Network) liveLocked(l *listener) bool {
	return !n.closed && n.listeners[l.addr] == l
}

// serve accepts connections until the listener is closed.
func (n *Network) serve(l *listener) {
	defer n.wg.Done()
	for {
		c, err := l.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			n.log.Warn("accept", "addr", l.addr, "err", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		n.wg.Add(1)
		go n.handle(l, c.(*net.TCPConn))
	}
}

// handle decides, once, whether a new connection is forwarded or
// black-holed, and then serves it until it ends.
func (n *Network) handle(l *listener, c *net.TCPConn) {
	defer n.wg.Done()
	from := n.sourceOf(c)
	n.stats.accepted.Add(1)
	if from == "" {
		n.stats.passthrough.Add(1)
	}
	n.mu.Lock()
	cut := n.cutLocked(from, l.dst)
	n.mu.Unlock()
	if cut {
		n.blackhole(l, from, c)
		return
	}
	server, err := net.DialTimeout("tcp", l.target, n.dialTimeout)
	if err != nil {
		n.stats.dialErrors.Add(1)
		n.log.Debug("dial target", "node", l.dst, "target", l.target, "err", err)
		abort(c)
		return
	}
	p := newPipe(n, l, from, c, server.(*net.TCPConn))
	n.mu.Lock()
	switch {
	case !n.liveLocked(l):
		n.mu.Unlock()
		abort(c)
		server.Close()
		return
	case n.cutLocked(from, l.dst):
		// Cut while we dialled: nothing was forwarded yet, so black-hole it.
		n.mu.Unlock()
		server.Close()
		n.blackhole(l, from, c)
		return
	}
	n.pipes[p] = struct{}{}
	n.mu.Unlock()
	n.stats.forwarded.Add(1)
	p.run()
	n.mu.Lock()
	delete(n.pipes, p)
	n.mu.Unlock()
}

// abort closes c with a TCP reset.
func abort(c *net.TCPConn) {
	c.SetLinger(0)
	c.Close()
}
