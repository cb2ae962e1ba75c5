package main

import (
	"strings"
	"testing"
)

// bookd watch against a cluster none of whose nodes answers says so once,
// gives up after --retry-for and exits 5 (unavailable).
func TestWatchGivesUpOnADeadCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	dead := freePort(t) + "," + freePort(t)
	_, stderr, code := runBin(t, bin, nil, "watch", "--endpoints", dead, "--retry-for", "2s")
	if code != 5 || !strings.Contains(stderr, "no node of the cluster answered for 2s") {
		t.Fatalf("bookd watch against a dead cluster: exit %d, want 5:\n%s", code, stderr)
	}
	if n := strings.Count(stderr, "resuming watch"); n != 1 {
		t.Errorf("bookd watch said %d times that it resumes, want once:\n%s", n, stderr)
	}
}
