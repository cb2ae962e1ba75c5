package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bookd/bookd/rpc/auth"
)

// A new user's secure cluster: `bookd certs init` makes a CA, node
// certificates and tokens; three `bookd server` processes use them; the
// CLI without a token, with a wrong one or with a weak role is refused
// (exit 7) and with the right role served.
func TestSecureClusterFromTheCLI(t *testing.T) {
	dir := t.TempDir()
	if out, code := run(t, "certs", "init", "n1", "n2", "n3", "--dir", dir); code != 0 {
		t.Fatalf("certs init: exit %d: %s", code, out)
	}
	c := startProcCluster(t, 3,
		"--tls-cert", filepath.Join(dir, "{id}.crt"), "--tls-key", filepath.Join(dir, "{id}.key"),
		"--tls-ca", filepath.Join(dir, "ca.crt"), "--tokens-file", filepath.Join(dir, "tokens"),
		"--log-level", "debug", "--log-format", "json")
	if _, err := auth.LoadTokens(filepath.Join(dir, "tokens")); err != nil {
		t.Fatalf("the tokens file certs init wrote: %v", err)
	}
	tok := readTokens(t, filepath.Join(dir, "tokens"))
	t.Setenv("BOOKD_ENDPOINTS", strings.Join(c.endpoints(), ","))
	t.Setenv("BOOKD_CA_FILE", filepath.Join(dir, "ca.crt"))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	waitSecureLeader(ctx, t, tok["admin"])

	for _, tc := range []struct {
		token string
		args  []string
		code  int
	}{
		{"", []string{"events", "list"}, 7},
		{"wrong-token-0123456789abcdef", []string{"events", "list"}, 7},
		{tok["reader"], []string{"events", "create", "--name", "Gala", "--capacity", "3"}, 7},
		{tok["admin"], []string{"events", "create", "--name", "Gala", "--capacity", "3"}, 0},
		{tok["reader"], []string{"events", "list"}, 0},
		{tok["booker"], []string{"cluster", "remove", "n3"}, 7},
		{tok["reader"], []string{"cluster", "status"}, 0},
	} {
		t.Setenv("BOOKD_TOKEN", tc.token)
		out, code := run(t, tc.args...)
		if code != tc.code {
			t.Errorf("bookd %s with token %.6q: exit %d, want %d: %s", strings.Join(tc.args, " "), tc.token, code, tc.code, out)
		}
	}

	// The logs name callers, and hold no token.
	var logs strings.Builder
	for _, p := range c.procs {
		c.kill(p)
		logs.WriteString(p.log.String())
	}
	if !strings.Contains(logs.String(), `"caller":"admin-1"`) {
		t.Errorf("no request line names the admin caller")
	}
	for role, token := range tok {
		if strings.Contains(logs.String(), token) {
			t.Errorf("the %s token appears in a server log", role)
		}
	}
}

// readTokens maps role to token from a tokens file `bookd certs init` wrote.
func readTokens(t *testing.T, path string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) == 3 && !strings.HasPrefix(line, "#") {
			m[f[1]] = f[2]
		}
	}
	return m
}

func waitSecureLeader(ctx context.Context, t *testing.T, admin string) {
	t.Helper()
	t.Setenv("BOOKD_TOKEN", admin)
	for {
		out, code := run(t, "cluster", "status")
		if code == 0 {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("secure cluster never healthy: exit %d: %s", code, out)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
