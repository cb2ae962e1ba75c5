package client

import (
	"net"
	"net/http"
	"time"
)

// defaultHTTPClient speaks HTTP/2 to every node: cleartext (h2c, prior
// knowledge) for http:// endpoints and over TLS for https:// ones, so one
// connection per node carries all concurrent calls. A connection that goes
// silent is probed with pings and dropped when they go unanswered, so a call
// to a node that vanished fails (and is retried elsewhere) instead of hanging.
// Calls have no overall timeout: the caller's context bounds them.
func defaultHTTPClient() *http.Client {
	t := &http.Transport{
		DialContext: (&net.Dialer{
			Timeout:   5 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		TLSHandshakeTimeout: 5 * time.Second,
		IdleConnTimeout:     90 * time.Second,
		HTTP2: &http.HTTP2Config{
			SendPingTimeout: 10 * time.Second,
			PingTimeout:     5 * time.Second,
		},
	}
	t.Protocols = new(http.Protocols)
	t.Protocols.SetUnencryptedHTTP2(true)
	t.Protocols.SetHTTP2(true)
	return &http.Client{Transport: t}
}
