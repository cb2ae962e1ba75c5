package rpc

import (
	"bufio"
	"net"
)

// Go's HTTP/2 server reads frames from its connection unbuffered (over
// cleartext there is no TLS record layer to buffer them): a frame's 9-byte
// header and then its payload, one system call each, so a unary call's
// HEADERS and DATA frames cost four reads, however many calls' frames have
// already arrived. A profile of a node serving 12,000 availability reads a
// second (bookd-bench run -batch 0 -workload browse -clients 512) put 12%
// of its CPU in those reads. A buffer under the server takes every frame
// that has arrived in one read.

// connReadBuffer is the read buffer of each accepted connection: a
// frame's worth (HTTP/2's default largest frame is 16 KiB).
const connReadBuffer = 16 << 10

// bufferedListener gives every connection it accepts a read buffer.
type bufferedListener struct{ net.Listener }

func (l bufferedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &bufferedConn{Conn: c, r: bufio.NewReaderSize(c, connReadBuffer)}, nil
}

// bufferedConn reads through a buffer; everything else is its Conn's.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }
