package main

import (
	"os"
	"testing"
	"time"
)

func TestParseStatSkipsTheCommandName(t *testing.T) {
	line := "4242 (post gres) (x)) S 17 4242 4242 0 -1 4194560 100 0 0 0 250 40 7 3 20 0 1 0 123 0 0"
	p, ok := parseStat(line)
	if !ok || p.ppid != 17 || p.utime != 250 || p.stime != 40 || p.cutime != 7 || p.cstime != 3 {
		t.Fatalf("parseStat = %+v, %v", p, ok)
	}
}

func TestCPUTimeCountsThisProcess(t *testing.T) {
	before := cpuTime([]int{os.Getpid()})
	deadline := time.Now().Add(300 * time.Millisecond)
	x := 0
	for time.Now().Before(deadline) {
		x++
	}
	after := cpuTime([]int{os.Getpid()})
	if after-before < 100*time.Millisecond {
		t.Fatalf("spun 300ms, CPU time went from %v to %v (x=%d)", before, after, x)
	}
}
