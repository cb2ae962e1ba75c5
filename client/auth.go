package client

import (
	"crypto/tls"
	"net/http"
	"strings"
)

// WithToken makes every call carry token as a bearer token
// (Authorization: Bearer token), for clusters that check tokens.
func WithToken(token string) Option {
	return func(c *config) { c.token = token }
}

// WithTLS makes the Client's own HTTP client use cfg for https://
// endpoints (to trust a private CA, say), and makes endpoints given as
// "host:port" mean https://host:port. It has no effect on a client given
// WithHTTPClient beyond the endpoints' scheme.
func WithTLS(cfg *tls.Config) Option {
	return func(c *config) { c.tls = cfg }
}

// secure applies WithTLS and WithToken to the configuration.
func (c *config) secure() {
	if c.tls != nil {
		if t, ok := c.httpClient.Transport.(*http.Transport); ok && c.ownHTTP {
			t.TLSClientConfig = c.tls.Clone()
		}
	}
	if c.token != "" {
		c.httpClient = &http.Client{Transport: bearerTransport{next: c.httpClient.Transport, token: c.token}}
	}
}

// withScheme gives an endpoint without a scheme https:// under WithTLS.
func (c *config) withScheme(endpoint string) string {
	if c.tls != nil && !strings.Contains(endpoint, "://") {
		return "https://" + strings.TrimSpace(endpoint)
	}
	return endpoint
}

// bearerTransport adds the token to every request.
type bearerTransport struct {
	next  http.RoundTripper
	token string
}

func (b bearerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(r)
}

// CloseIdleConnections lets Client.Close reach the wrapped transport.
func (b bearerTransport) CloseIdleConnections() {
	if c, ok := b.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}
