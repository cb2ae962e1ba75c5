package raftnode

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

// Raft addresses name the server they lead to: "id@host:port". Every
// connection starts with a handshake carrying the id its dialer meant to
// reach, and a node accepts only connections meant for itself.
//
// Without this, a node that reuses the address of a removed member (a
// replaced machine keeping its IP, a rescheduled pod) answers a stale
// member's requests as if it were the removed one: it votes for a stale
// candidate and acknowledges a stale leader's entries, and writes that a
// majority acknowledged are lost. The chaos suite found exactly that.

// serverAddress is the Raft address of server id listening on hostport.
func serverAddress(id, hostport string) raft.ServerAddress {
	return raft.ServerAddress(id + "@" + hostport)
}

// splitServerAddress undoes serverAddress; id is empty for a bare host:port.
func splitServerAddress(a raft.ServerAddress) (id, hostport string) {
	if i := strings.LastIndexByte(string(a), '@'); i >= 0 {
		return string(a[:i]), string(a[i+1:])
	}
	return "", string(a)
}

var handshakeMagic = []byte("BKR1")

const handshakeTimeout = 5 * time.Second

// streamLayer is Raft's TCP stream layer. Its outgoing connections leave
// from the bind address's IP, so on a multi-homed host they use the
// interface the operator chose, and firewall rules (or a fault-injecting
// proxy) can tell the nodes apart by source address.
type streamLayer struct {
	ln        net.Listener
	self      string
	advertise net.Addr
	local     *net.TCPAddr // nil: let the kernel choose
	tls       *tls.Config  // nil: plain TCP
	log       *slog.Logger

	accepted  chan net.Conn
	closed    chan struct{}
	closeOnce sync.Once
}

type serverAddr string

func (serverAddr) Network() string  { return "tcp" }
func (a serverAddr) String() string { return string(a) }

func newStreamLayer(ln net.Listener, self, advertise string, local *net.TCPAddr, tlsCfg *tls.Config, log *slog.Logger) *streamLayer {
	s := &streamLayer{
		ln: ln, self: self, advertise: serverAddr(serverAddress(self, advertise)), local: local, tls: tlsCfg, log: log,
		accepted: make(chan net.Conn), closed: make(chan struct{}),
	}
	go s.acceptLoop()
	return s
}

func (s *streamLayer) Addr() net.Addr { return s.advertise }

// Dial connects to the server an address names and tells it who was meant.
func (s *streamLayer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	id, hostport := splitServerAddress(address)
	if id == "" {
		return nil, fmt.Errorf("raftnode: raft address %q names no server (want id@host:port)", address)
	}
	d := net.Dialer{Timeout: timeout}
	if s.local != nil {
		d.LocalAddr = s.local
	}
	conn, err := dialPatiently(&d, hostport, timeout)
	if err != nil {
		return nil, err
	}
	if conn, err = s.secureDial(conn, hostport, timeout); err != nil {
		return nil, err
	}
	hello := append(append(append([]byte{}, handshakeMagic...), byte(len(id))), id...)
	conn.SetWriteDeadline(time.Now().Add(timeout))
	if _, err := conn.Write(hello); err != nil {
		conn.Close()
		return nil, err
	}
	conn.SetWriteDeadline(time.Time{})
	return conn, nil
}

func (s *streamLayer) Accept() (net.Conn, error) {
	select {
	case c := <-s.accepted:
		return c, nil
	case <-s.closed:
		return nil, net.ErrClosed
	}
}

func (s *streamLayer) Close() error {
	var err error
	s.closeOnce.Do(func() {
		close(s.closed)
		err = s.ln.Close()
	})
	return err
}

// acceptLoop checks each connection's handshake on its own goroutine, so a
// slow or silent dialer never holds up the others.
func (s *streamLayer) acceptLoop() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			select {
			case <-s.closed:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(10 * time.Millisecond)
			continue
		}
		go s.greet(c)
	}
}

func (s *streamLayer) greet(c net.Conn) {
	c.SetDeadline(time.Now().Add(handshakeTimeout))
	c, err := s.secureAccept(c)
	if err != nil {
		return
	}
	var head [5]byte
	if _, err := io.ReadFull(c, head[:]); err != nil || string(head[:4]) != string(handshakeMagic) {
		c.Close()
		return
	}
	meant := make([]byte, head[4])
	if _, err := io.ReadFull(c, meant); err != nil {
		c.Close()
		return
	}
	if string(meant) != s.self {
		s.log.Warn("refused a raft connection meant for another server (is an address reused?)",
			"meant_for", string(meant), "from", c.RemoteAddr().String())
		c.Close()
		return
	}
	c.SetDeadline(time.Time{})
	select {
	case s.accepted <- c:
	case <-s.closed:
		c.Close()
	}
}

// newTransport listens on bind and advertises id@advertise to the others.
func newTransport(id, bind, advertise string, tlsCfg *tls.Config, log *slog.Logger, hlog hclog.Logger) (*raft.NetworkTransport, error) {
	if _, err := net.ResolveTCPAddr("tcp", advertise); err != nil {
		return nil, fmt.Errorf("raftnode: resolve %s: %w", advertise, err)
	}
	ln, err := net.Listen("tcp", bind)
	if err != nil {
		return nil, fmt.Errorf("raftnode: listen on %s: %w", bind, err)
	}
	stream := newStreamLayer(ln, id, advertise, SourceAddr(bind), tlsCfg, log)
	return raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream:  stream,
		MaxPool: 3,
		Timeout: 10 * time.Second,
		Logger:  hlog,
	}), nil
}

// SourceAddr is the local address outgoing connections to other nodes should
// use, given a listen address: its IP with any port, or nil when the listen
// address is a wildcard or a host name.
func SourceAddr(bind string) *net.TCPAddr {
	host, _, err := net.SplitHostPort(bind)
	if err != nil {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || ip.IsUnspecified() {
		return nil
	}
	return &net.TCPAddr{IP: ip}
}

// noPipeline is the network transport without pipelined replication. In
// hashicorp/raft v1.7, a follower answering an AppendEntries with
// Success=false while the leader pipelines can leave the pipeline's
// goroutines waiting on each other: that follower gets no more entries until
// the leader restarts, and the leader's Shutdown hangs (seen here as a hung
// Close after a leader stepped down under load). Without a pipeline, raft
// sends one AppendEntries at a time to each follower, each carrying up to
// MaxAppendEntries entries.
type noPipeline struct{ *raft.NetworkTransport }

func (noPipeline) AppendEntriesPipeline(raft.ServerID, raft.ServerAddress) (raft.AppendPipeline, error) {
	return nil, raft.ErrPipelineReplicationNotSupported
}
