package raftnode

import (
	"crypto/tls"
	"fmt"
	"net"
	"time"
)

// With Config.TLS set, every Raft connection is mutual TLS: the dialer
// checks the server's certificate against the cluster CA and shows its own,
// which the server requires and checks. The id handshake then runs inside
// the TLS session.

// secureDial wraps an outgoing connection to hostport in TLS, if configured.
func (s *streamLayer) secureDial(conn net.Conn, hostport string, timeout time.Duration) (net.Conn, error) {
	if s.tls == nil {
		return conn, nil
	}
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		conn.Close()
		return nil, err
	}
	cfg := s.tls.Clone()
	cfg.ServerName = host
	tc := tls.Client(conn, cfg)
	tc.SetDeadline(time.Now().Add(timeout))
	if err := tc.Handshake(); err != nil {
		tc.Close()
		return nil, fmt.Errorf("raftnode: TLS handshake with %s: %w", hostport, err)
	}
	tc.SetDeadline(time.Time{})
	return tc, nil
}

// secureAccept wraps an accepted connection in TLS, if configured, and
// completes the handshake (the caller has set a deadline).
func (s *streamLayer) secureAccept(c net.Conn) (net.Conn, error) {
	if s.tls == nil {
		return c, nil
	}
	tc := tls.Server(c, s.tls)
	if err := tc.Handshake(); err != nil {
		s.log.Warn("refused a raft connection: TLS handshake failed", "from", c.RemoteAddr().String(), "err", err)
		tc.Close()
		return nil, err
	}
	return tc, nil
}
