package edge

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// clientIP is the address rate limits count a call against: the peer's, or,
// when the peer is a trusted proxy (a load balancer the operator named),
// the nearest address in X-Forwarded-For that is not itself a trusted
// proxy. Entries are read from the right, since only those were added by
// proxies the edge trusts; anything to their left the caller wrote.
func (s *Server) clientIP(peer string, h http.Header) string {
	host := peer
	if hp, _, err := net.SplitHostPort(peer); err == nil {
		host = hp
	}
	addr, err := netip.ParseAddr(host)
	if err != nil || !s.trusted(addr) {
		return strings.TrimSpace(host)
	}
	hops := h.Values("X-Forwarded-For")
	for i := len(hops) - 1; i >= 0; i-- {
		items := strings.Split(hops[i], ",")
		for j := len(items) - 1; j >= 0; j-- {
			hop, err := netip.ParseAddr(strings.TrimSpace(items[j]))
			if err != nil {
				return addr.String() // a proxy we trust wrote nonsense: count the proxy
			}
			hop = hop.Unmap()
			if !s.trusted(hop) {
				return hop.String()
			}
			addr = hop
		}
	}
	return addr.String()
}

func (s *Server) trusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range s.cfg.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
