package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// These tests run the real binary, as a person types it, for the exit
// codes the README documents.

// runBin runs bin with args (and env added to this process's) and returns
// its stdout, stderr and exit code; it fails the test if bin does not end
// within two minutes.
func runBin(t *testing.T, bin string, env []string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("bookd %s did not end: %s", strings.Join(args, " "), errOut.String())
	}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		return out.String(), errOut.String(), exit.ExitCode()
	case err != nil:
		t.Fatalf("bookd %s: %v", strings.Join(args, " "), err)
	}
	return out.String(), errOut.String(), 0
}

// Every mistake on the command line exits 2 and names the mistake; a
// group of commands without a subcommand shows its help.
func TestUsageErrorsExit2(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	conf := filepath.Join(t.TempDir(), "bookd.conf")
	if err := os.WriteFile(conf, []byte("no-such-setting = 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Nothing listens there: a command that got past its checks would
	// fail with another code.
	env := []string{"BOOKD_ENDPOINTS=" + freePort(t), "BOOKD_TIMEOUT=2s"}
	for _, tc := range []struct {
		args []string
		code int
		says string
	}{
		{[]string{"hold", "ev_1", "--customer", "a", "--quantity", "1", "--ttl", "5"}, 2, `"--ttl"`},
		{[]string{"hold", "ev_1", "--customer", "a", "--quantity", "1", "--ttl", "0"}, 2, "--ttl 0s"},
		{[]string{"events", "create", "--name", "x", "--capacity", "1", "--offer-ttl", "0"}, 2, "--offer-ttl"},
		{[]string{"book", "ev_1", "--customer", "a", "--quantity", "abc"}, 2, `"--quantity"`},
		{[]string{"events", "list", "--no-such-flag"}, 2, "unknown flag: --no-such-flag"},
		{[]string{"no-such-command"}, 2, `unknown command "no-such-command" for "bookd"`},
		{[]string{"bookings", "no-such-command"}, 2, `unknown command "no-such-command" for "bookd bookings"`},
		{[]string{"hold"}, 2, "hold: requires at least 1 arg(s), only received 0"},
		{[]string{"hold", "ev_1", "--quantity", "1"}, 2, "--customer is required"},
		{[]string{"book", "ev_1", "--seats", "A1"}, 2, "--customer is required"},
		{[]string{"waitlist", "join", "ev_1", "--quantity", "1"}, 2, "--customer is required"},
		{[]string{"book", "ev_1", "--customer", "a", "--seats", "A7,,A8"}, 2, `--seats "A7,,A8": item 2 is empty`},
		{[]string{"certs", "init", "n1"}, 2, `"dir" not set`},
		{[]string{"events", "list", "--config", conf}, 2, "`bookd events list` has no setting \"no-such-setting\""},
		{[]string{"watch", "--retry-for", "-1s"}, 2, "--retry-for"},
		{[]string{"dev", "--debug-addr", "nowhere"}, 2, "--debug-addr"},
		{[]string{"events", "get", "ev_1"}, 5, "GetEvent"}, // past its checks: no node answers
	} {
		_, stderr, code := runBin(t, bin, env, tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.says) {
			t.Errorf("bookd %s: exit %d %q, want exit %d saying %q", strings.Join(tc.args, " "), code, stderr, tc.code, tc.says)
		}
	}
	if out, stderr, code := runBin(t, bin, env, "bookings"); code != 0 || !strings.Contains(out, "Available Commands") {
		t.Errorf("bookd bookings: exit %d, want its help: %s%s", code, out, stderr)
	}
	if out, _, code := runBin(t, bin, env, "restore", "--help"); code != 0 || !strings.Contains(out, "--from FILE ") {
		t.Errorf("bookd restore --help: exit %d, want --from FILE:\n%s", code, out)
	}
}
