package client

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"connectrpc.com/connect"
)

// leaderHeader names the response header in which every node reports the RPC
// address ("host:port") of the leader it knows.
const leaderHeader = "Bookd-Leader"

// endpoints chooses the node a call goes to. Calls that need the leader go to
// the one last reported; others, and all calls while no leader is known, go
// to the current endpoint of the list, which moves on when it fails.
type endpoints struct {
	list []string // base URLs given to New, in order, without duplicates

	mu     sync.Mutex
	cursor int    // index into list of the current endpoint
	leader string // base URL of the believed leader, "" when unknown
}

func newEndpoints(raw []string) (*endpoints, error) {
	if len(raw) == 0 {
		return nil, errors.New("client: no endpoints")
	}
	e := &endpoints{}
	seen := make(map[string]bool, len(raw))
	for _, r := range raw {
		base, err := parseEndpoint(r)
		if err != nil {
			return nil, fmt.Errorf("client: endpoint %q: %w", r, err)
		}
		if !seen[base] {
			seen[base] = true
			e.list = append(e.list, base)
		}
	}
	return e, nil
}

// parseEndpoint turns "host:port", "http://host:port" or "https://host:port"
// into a base URL.
func parseEndpoint(s string) (string, error) {
	raw := strings.TrimSpace(s)
	if raw == "" {
		return "", errors.New("empty")
	}
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("scheme %q is not http or https", u.Scheme)
	}
	if u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "", errors.New("want host:port without user, path or query")
	}
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil {
		return "", fmt.Errorf("want host:port: %w", err)
	}
	if host == "" {
		return "", errors.New("missing host")
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
		return "", fmt.Errorf("bad port %q", port)
	}
	return u.Scheme + "://" + u.Host, nil
}

// pick returns the base URL of the node to send the next attempt to.
func (e *endpoints) pick(wantLeader bool) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if wantLeader && e.leader != "" {
		return e.leader
	}
	return e.list[e.cursor]
}

// failed records that base was unreachable or unavailable: it stops being the
// leader, and the current endpoint moves past it. A leader reported in the
// failed response itself (another node) is kept.
func (e *endpoints) failed(base string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.leader == base {
		e.leader = ""
	}
	if e.list[e.cursor] == base {
		e.cursor = (e.cursor + 1) % len(e.list)
	}
}

// setLeader records addr ("host:port"), reported by a node reached with
// scheme, as the leader. Malformed reports are ignored.
func (e *endpoints) setLeader(scheme, addr string) {
	base, err := parseEndpoint(scheme + "://" + addr)
	if err != nil {
		return
	}
	e.mu.Lock()
	e.leader = base
	e.mu.Unlock()
}

// leaderAddr returns the believed leader as "host:port", or "".
func (e *endpoints) leaderAddr() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if i := strings.Index(e.leader, "://"); i >= 0 {
		return e.leader[i+3:]
	}
	return ""
}

// leaderSniffer is the HTTP client every call goes through: it records the
// leader reported by any response, success or error, whatever the protocol.
type leaderSniffer struct {
	next connect.HTTPClient
	eps  *endpoints
}

func (s *leaderSniffer) Do(req *http.Request) (*http.Response, error) {
	resp, err := s.next.Do(req)
	if resp != nil {
		if addr := resp.Header.Get(leaderHeader); addr != "" {
			s.eps.setLeader(req.URL.Scheme, addr)
		}
	}
	return resp, err
}
