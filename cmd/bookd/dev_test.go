package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// bookd dev: the commands its banner prints work when typed, its admin
// listener serves the nodes' metrics, and Ctrl-C removes the temporary
// directory it made.
func TestDevBannerMetricsAndCleanup(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs bookd dev")
	}
	bin := buildBinary(t)
	tmp := t.TempDir()
	port := func() string {
		_, p, err := net.SplitHostPort(freePort(t))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	debug := freePort(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dev := exec.CommandContext(ctx, bin, "dev", "--nodes", "1", "--raft-port", port(), "--rpc-port", port(),
		"--listen", freePort(t), "--debug-addr", debug)
	dev.Env = append(os.Environ(), "TMPDIR="+tmp)
	stdout, err := dev.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	dev.Stderr = &stderr
	if err := dev.Start(); err != nil {
		t.Fatal(err)
	}
	defer dev.Process.Kill()
	var banner []string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() && !strings.HasPrefix(sc.Text(), "Press Ctrl-C") {
		banner = append(banner, sc.Text())
	}
	go io.Copy(io.Discard, stdout)
	var typed []string
	for i, l := range banner {
		if strings.HasPrefix(l, "Try, in another terminal") {
			for _, c := range banner[i+1:] {
				typed = append(typed, strings.TrimPrefix(c, "  "))
			}
		}
	}
	if len(typed) < 2 {
		t.Fatalf("bookd dev printed no commands to try:\n%s\n%s", strings.Join(banner, "\n"), stderr.String())
	}
	dirs, _ := filepath.Glob(filepath.Join(tmp, "bookd-dev-*"))
	if len(dirs) != 1 {
		t.Fatalf("bookd dev made %v in TMPDIR, want one bookd-dev-* directory", dirs)
	}

	// A person types the banner's commands into a shell of their own.
	sh := exec.CommandContext(ctx, "sh", "-e")
	sh.Stdin = strings.NewReader(strings.Join(typed, "\n") + "\n")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "BOOKD_") {
			sh.Env = append(sh.Env, kv)
		}
	}
	if out, err := sh.CombinedOutput(); err != nil || !strings.Contains(string(out), "Opening night") || !strings.Contains(string(out), "cluster healthy") {
		t.Fatalf("the commands bookd dev printed:\n%s\nfailed: %v\n%s", strings.Join(typed, "\n"), err, out)
	}

	resp, err := http.Get("http://" + debug + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, name := range []string{"bookd_rpc_duration_seconds_bucket", "bookd_raft_applied_index"} {
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), name) {
			t.Errorf("GET /metrics of bookd dev --debug-addr: %s, no %s", resp.Status, name)
		}
	}

	dev.Process.Signal(syscall.SIGINT)
	if err := dev.Wait(); err != nil {
		t.Errorf("bookd dev after Ctrl-C: %v\n%s", err, stderr.String())
	}
	if left, _ := filepath.Glob(filepath.Join(tmp, "bookd-dev-*")); len(left) > 0 {
		t.Errorf("bookd dev left %v behind", left)
	}
}
