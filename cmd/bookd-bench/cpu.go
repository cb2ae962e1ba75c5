package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// clockTicks is Linux's USER_HZ, the unit of CPU times in /proc/<pid>/stat.
const clockTicks = 100

// cpuTime is the CPU time (user + system) used so far by the processes
// roots and all their descendants, including children that have exited and
// been waited for. It reads /proc, so it is Linux only; elsewhere it is 0.
func cpuTime(roots []int) time.Duration {
	if len(roots) == 0 {
		return 0
	}
	procs := readProcs()
	children := map[int][]int{}
	for pid, p := range procs {
		children[p.ppid] = append(children[p.ppid], pid)
	}
	var ticks uint64
	seen := map[int]bool{}
	var walk func(pid int, root bool)
	walk = func(pid int, root bool) {
		p, ok := procs[pid]
		if !ok || seen[pid] {
			return
		}
		seen[pid] = true
		ticks += p.utime + p.stime
		if root {
			ticks += p.cutime + p.cstime // exited children of a root; a
			// descendant's waited children are in its own cutime only
			// once it exits, and then in its parent's: counted once.
		}
		for _, c := range children[pid] {
			walk(c, false)
		}
	}
	for _, r := range roots {
		walk(r, true)
	}
	return time.Duration(ticks) * time.Second / clockTicks
}

type procStat struct {
	ppid                         int
	utime, stime, cutime, cstime uint64
}

func readProcs() map[int]procStat {
	out := map[int]procStat{}
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		pid, err := strconv.Atoi(filepath.Base(d))
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join(d, "stat"))
		if err != nil {
			continue // gone meanwhile
		}
		if p, ok := parseStat(string(b)); ok {
			out[pid] = p
		}
	}
	return out
}

// parseStat reads fields 4 (ppid) and 14–17 (utime, stime, cutime, cstime)
// of /proc/<pid>/stat; the command name in field 2 may hold spaces, so
// fields are counted after its closing parenthesis.
func parseStat(s string) (procStat, bool) {
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return procStat{}, false
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3 (state)
	if len(f) < 15 {
		return procStat{}, false
	}
	num := func(k int) uint64 { v, _ := strconv.ParseUint(f[k-3], 10, 64); return v }
	return procStat{ppid: int(num(4)), utime: num(14), stime: num(15), cutime: num(16), cstime: num(17)}, true
}
