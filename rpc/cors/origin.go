package cors

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// checkOrigin returns nil if s is an origin written as browsers send it in
// the Origin header: http or https, a host, an optional port, nothing else,
// in lower case and without the scheme's default port. A Policy compares
// origins byte for byte, so one written otherwise would never match; the
// error says how to write it when that is clear.
func checkOrigin(s string) error {
	if s == "*" || s == "null" {
		return fmt.Errorf("origin %q: list each origin allowed (scheme://host[:port]); %q would allow any page", s, s)
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("origin %q: %w", s, err)
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return fmt.Errorf("origin %q: want http://host[:port] or https://host[:port]", s)
	}
	if u.Opaque != "" || u.Host == "" || u.Hostname() == "" {
		return fmt.Errorf("origin %q: no host; want %s://host[:port]", s, scheme)
	}
	if u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(u.Host, "*") {
		return fmt.Errorf("origin %q: an origin is scheme://host[:port], with no user, query, fragment or wildcard", s)
	}
	host := strings.ToLower(u.Host)
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != p {
			return fmt.Errorf("origin %q: bad port %q", s, p)
		}
		if p == map[string]string{"http": "80", "https": "443"}[scheme] {
			host = strings.TrimSuffix(host, ":"+p) // browsers leave the default port out
		}
	}
	canonical := scheme + "://" + host
	if u.Path != "" {
		if u.Path != "/" {
			return fmt.Errorf("origin %q: an origin has no path; did you mean %q?", s, canonical)
		}
		return fmt.Errorf("origin %q: browsers send origins without a trailing slash: write %q", s, canonical)
	}
	if canonical != s {
		return fmt.Errorf("origin %q: write it as browsers send it: %q", s, canonical)
	}
	return nil
}
