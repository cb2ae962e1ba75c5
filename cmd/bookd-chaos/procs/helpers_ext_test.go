package procs_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/bookd/bookd/client"
	"github.com/bookd/bookd/cmd/bookd-chaos/procs"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/proto/bookd/v1/bookdv1connect"
)

// binary is the bookd server the tests run, built once by TestMain.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "procs-test-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary, err = procs.BuildBinary(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// startCluster starts a 3-node cluster with short Raft timeouts, stops it
// when the test ends, and then checks that none of its processes is left.
func startCluster(t *testing.T, o procs.Options) *procs.Cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("runs bookd server processes")
	}
	o.Binary, o.Dir = binary, t.TempDir()
	if o.Nodes == 0 {
		o.Nodes = 3
	}
	o.HeartbeatTimeout, o.ElectionTimeout = 400*time.Millisecond, 400*time.Millisecond
	if testing.Verbose() {
		o.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := procs.Start(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	pids := map[int]string{}
	recordPIDs := func() {
		for _, n := range c.Nodes() {
			if pid := n.PID(); pid != 0 {
				pids[pid] = n.ID
			}
		}
	}
	recordPIDs()
	t.Cleanup(func() {
		recordPIDs() // restarted and replacing processes too
		if err := c.Stop(); err != nil {
			t.Errorf("Stop: %v", err)
		}
		for pid, id := range pids {
			if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
				t.Errorf("process %d (%s) still exists after Stop: %v", pid, id, err)
			}
		}
		// Nothing else runs with this cluster's data directory either.
		if out, err := exec.Command("pgrep", "-f", o.Dir).Output(); err == nil {
			t.Errorf("processes left after Stop:\n%s", out)
		}
		if t.Failed() {
			dumpLogs(t, o.Dir)
		}
	})
	return c
}

// dumpLogs shows the end of every node log in dir.
func dumpLogs(t *testing.T, dir string) {
	logs, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	for _, path := range logs {
		raw, _ := os.ReadFile(path)
		if len(raw) > 6000 {
			raw = raw[len(raw)-6000:]
		}
		t.Logf("--- %s:\n%s", filepath.Base(path), raw)
	}
}

// newClient returns a client of every member's (unfaulted) RPC address.
func newClient(t *testing.T, c *procs.Cluster) *client.Client {
	t.Helper()
	var eps []string
	for _, n := range c.Nodes() {
		eps = append(eps, n.RPCAddr)
	}
	cl, err := client.New(eps, client.WithMaxAttempts(50), client.WithBackoff(20*time.Millisecond, 500*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	return cl
}

// createEvents writes n events with the given number of seats each.
func createEvents(ctx context.Context, t *testing.T, cl *client.Client, prefix string, n, seats int) {
	t.Helper()
	var names []string
	for i := range seats {
		names = append(names, fmt.Sprintf("%c%d", 'A'+i/20, 1+i%20))
	}
	for i := range n {
		req := &bookdv1.CreateEventRequest{Name: fmt.Sprintf("%s %d", prefix, i), Capacity: int64(max(seats, 10)), Seats: names}
		if _, err := cl.CreateEvent(ctx, req); err != nil {
			t.Fatalf("create event %s %d: %v", prefix, i, err)
		}
	}
}

// leader waits for an agreed leader.
func leader(ctx context.Context, t *testing.T, c *procs.Cluster) string {
	t.Helper()
	id, err := c.Leader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// newLeader waits until a leader other than old is agreed.
func newLeader(ctx context.Context, t *testing.T, c *procs.Cluster, old string) string {
	t.Helper()
	for {
		if id := leader(ctx, t, c); id != old {
			return id
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s still leads: %v", old, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// follower returns a running member other than the leader.
func follower(t *testing.T, c *procs.Cluster, leader string) string {
	t.Helper()
	for _, n := range c.Running() {
		if n.ID != leader {
			return n.ID
		}
	}
	t.Fatalf("no running follower besides %s", leader)
	return ""
}

// sameState checks that every running member has the state digest of the
// leader once they have all applied the same index.
func sameState(ctx context.Context, t *testing.T, c *procs.Cluster) {
	t.Helper()
	for {
		var ref *bookdv1.GetStatusResponse
		agreed := true
		for _, n := range c.Running() {
			st, err := statusWithDigest(ctx, n)
			if err != nil {
				t.Fatalf("status of %s: %v", n.ID, err)
			}
			switch {
			case ref == nil:
				ref = st
			case st.DigestIndex != ref.DigestIndex:
				agreed = false // still applying: ask again
			case !bytes.Equal(st.StateDigest, ref.StateDigest):
				t.Fatalf("%s and %s differ in state at index %d: digest %x vs %x", st.NodeId, ref.NodeId, ref.DigestIndex, st.StateDigest, ref.StateDigest)
			}
		}
		if agreed {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("members never reached the same index: %v", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func statusWithDigest(ctx context.Context, n *procs.Node) (*bookdv1.GetStatusResponse, error) {
	cl := bookdv1connect.NewClusterServiceClient(http.DefaultClient, "http://"+n.RPCAddr)
	return cl.GetStatus(ctx, &bookdv1.GetStatusRequest{IncludeDigest: true})
}
