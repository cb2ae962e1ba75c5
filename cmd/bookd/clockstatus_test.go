package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bookd/bookd/rpc"
	"github.com/bookd/bookd/rpc/clustertest"
)

// `cluster status` shows each member's clock offset from the majority's,
// and calls a member whose clock is further than --max-clock-offset off
// unhealthy (exit 6), saying why.
func TestClusterStatusClockOffset(t *testing.T) {
	const offset = 25 * time.Hour
	var skew atomic.Int64
	c := clustertest.Start(t, 3, clustertest.Options{Configure: func(id string, cfg *rpc.ServerConfig) {
		if id == "n3" {
			cfg.Node.ClockOffset = time.Duration(skew.Load())
		}
	}})
	n3 := c.Nodes[2]
	t.Setenv("BOOKD_ENDPOINTS", strings.Join(c.Endpoints(), ","))
	if c.WaitReady() == n3 {
		if out, code := run(t, "cluster", "transfer-leader", "n1"); code != 0 {
			t.Fatalf("transfer-leader n1: exit %d: %s", code, out)
		}
	}
	c.Stop(n3)
	skew.Store(int64(offset))
	c.Restart(n3)

	var h clusterHealth
	var out string
	c.Eventually(30*time.Second, func() error {
		var code int
		var err error
		out, code, err = runOut("cluster", "status", "-o", "json")
		if err != nil {
			return err
		}
		h = clusterHealth{}
		if err := json.Unmarshal([]byte(out), &h); err != nil {
			return fmt.Errorf("%v in %q", err, out)
		}
		m := h.Members[2]
		if m.ID != "n3" || m.ClockProblem == "" || code != 6 || h.LeaderID == "" || h.LeaderID == "n3" {
			return fmt.Errorf("exit %d, status %s", code, out)
		}
		for _, m := range h.Members {
			if !m.ClockMeasured {
				return fmt.Errorf("%s has not measured the clocks yet: %s", m.ID, out)
			}
		}
		return nil
	})
	for _, m := range h.Members {
		switch m.ID {
		case "n3":
			if m.Healthy || !m.ClockMeasured || (time.Duration(m.ClockOffsetMs)*time.Millisecond-offset).Abs() > 100*time.Millisecond || !strings.Contains(m.Problem, "--max-clock-offset") {
				t.Errorf("n3, 25h ahead, reported as %+v", *m)
			}
		default:
			if !m.Healthy || m.ClockProblem != "" || !m.ClockMeasured || (time.Duration(m.ClockOffsetMs)*time.Millisecond).Abs() > 100*time.Millisecond {
				t.Errorf("%s, on time, reported as %+v", m.ID, *m)
			}
		}
	}
	table, code, _ := runOut("cluster", "status")
	if code != 6 || !strings.Contains(table, "CLOCK") || !strings.Contains(table, "+25h0m0s") {
		t.Errorf("cluster status table, exit %d:\n%s", code, table)
	}
}

// runOut runs the CLI and returns what it printed, its exit code, and an
// error if it failed for another reason than an unhealthy cluster.
func runOut(args ...string) (string, int, error) {
	cmd := newRootCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&bytes.Buffer{})
	cmd.SetArgs(args)
	if err := cmd.Execute(); err != nil {
		if code := exitCode(err); code != 6 {
			return out.String(), code, fmt.Errorf("bookd %s: exit %d: %s", strings.Join(args, " "), code, describe(err))
		}
		return out.String(), 6, nil
	}
	return out.String(), 0, nil
}
