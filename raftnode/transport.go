package raftnode

import (
	"fmt"
	"net"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

// streamLayer is Raft's TCP stream layer. Unlike raft.NewTCPTransport's, its
// outgoing connections leave from the bind address's IP, so on a multi-homed
// host they use the interface the operator chose, and firewall rules (or a
// fault-injecting proxy) can tell the nodes apart by source address.
type streamLayer struct {
	net.Listener
	advertise net.Addr
	local     *net.TCPAddr // nil: let the kernel choose
}

func (s *streamLayer) Addr() net.Addr { return s.advertise }

func (s *streamLayer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	d := net.Dialer{Timeout: timeout}
	if s.local != nil {
		d.LocalAddr = s.local
	}
	return d.Dial("tcp", string(address))
}

// newTransport listens on bind and advertises advertise to the other nodes.
func newTransport(bind, advertise string, logger hclog.Logger) (*raft.NetworkTransport, error) {
	adv, err := net.ResolveTCPAddr("tcp", advertise)
	if err != nil {
		return nil, fmt.Errorf("raftnode: resolve %s: %w", advertise, err)
	}
	ln, err := net.Listen("tcp", bind)
	if err != nil {
		return nil, fmt.Errorf("raftnode: listen on %s: %w", bind, err)
	}
	stream := &streamLayer{Listener: ln, advertise: adv, local: SourceAddr(bind)}
	return raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream:  stream,
		MaxPool: 3,
		Timeout: 10 * time.Second,
		Logger:  logger,
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
