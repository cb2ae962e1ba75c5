package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A node kept from running (SIGSTOP does to it what a saturated CPU or a
// hypervisor taking its vCPU does) says so once it runs again: its log
// names the pause and /metrics counts it, so that an election that follows
// one reads as the machine's and not the network's.
func TestNodePauseLoggedAndCounted(t *testing.T) {
	debug := freePort(t)
	c := startProcCluster(t, 1, "--debug-addr", debug)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p := c.leader(ctx)
	const stopped = 400 * time.Millisecond // past half the tests' 500 ms heartbeat timeout
	if err := p.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	time.Sleep(stopped)
	if err := p.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	var count, under float64
	for ctx.Err() == nil {
		resp, err := http.Get("http://" + debug + "/metrics")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			count, _ = sample(string(body), "bookd_process_pause_seconds_count")
			under, _ = sample(string(body), `bookd_process_pause_seconds_bucket{le="0.2"}`)
			if count-under >= 1 {
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if count-under < 1 {
		t.Fatalf("/metrics: %v pauses, %v of them under 0.2 s, after a %v stop", count, under, stopped)
	}
	c.kill(p) // the log is whole once the process is gone
	if log := p.log.String(); !strings.Contains(log, "process paused") {
		t.Errorf("no pause in the log:\n%s", log)
	}
}
