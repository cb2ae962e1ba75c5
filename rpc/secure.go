package rpc

import (
	"crypto/tls"
	"net/http"
)

// Calls between nodes (forwarding to the leader, joining, registering) go
// over mutual TLS when the server has a peer TLS configuration: the node's
// certificate identifies it to the other node. When the cluster checks
// tokens, they also carry a token of the admin role, so that they pass
// without TLS too (a cluster on loopback, started with --insecure).

// secure makes the peers' calls use TLS (tlsCfg non-nil) and send token
// (non-empty result) when a call carries no Authorization header.
func (p *peers) secure(tlsCfg *tls.Config, token func() string) {
	t := p.http.Transport.(*http.Transport)
	if tlsCfg != nil {
		t.TLSClientConfig = tlsCfg.Clone()
		t.Protocols.SetHTTP2(true)
		p.scheme = "https://"
	}
	if token != nil {
		p.http.Transport = bearer{next: t, token: token}
	}
}

// bearer adds an Authorization header to requests without one.
type bearer struct {
	next  *http.Transport
	token func() string
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	if tok := b.token(); tok != "" && r.Header.Get("Authorization") == "" {
		r = r.Clone(r.Context())
		r.Header.Set("Authorization", "Bearer "+tok)
	}
	return b.next.RoundTrip(r)
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach the transport.
func (b bearer) CloseIdleConnections() { b.next.CloseIdleConnections() }
