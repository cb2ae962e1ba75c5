package raftnode

import (
	"sync"
	"time"
)

// Pauses. Raft's timings assume a process that runs: a leader kept off the
// CPU for longer than its lease (the heartbeat timeout) finds every
// follower's answer late at once when it runs again, and steps down
// although nothing failed; a follower kept off it misses heartbeats. What
// keeps a process from running lies outside bookd (a saturated CPU, the
// hypervisor taking the vCPU, the Go runtime stopping the world), so the
// node measures it rather than guess: a goroutine sleeps pauseTick at a
// time and records how late it wakes. Pauses of half the heartbeat timeout
// or more are logged, so that an election that follows one reads as the
// machine's and not the network's; all of them are counted for metrics.

const (
	// pauseTick is the watcher's sleep.
	pauseTick = 10 * time.Millisecond
	// minPause is the shortest lateness counted as a pause: less is the
	// ordinary wait for a core (a busy Go process preempts every 10 ms).
	minPause = 10 * time.Millisecond
	// pauseLogEvery bounds the pause lines in the log to one per interval;
	// the others are counted in the next line.
	pauseLogEvery = time.Second
)

// PauseBuckets are the upper bounds, in seconds, of Pauses.Buckets.
var PauseBuckets = []float64{.02, .05, .1, .2, .5, 1, 2, 5}

// Pauses counts the stretches of at least 10 ms in which this process did
// not run, since it started.
type Pauses struct {
	Count uint64
	Sum   time.Duration
	// Buckets[i] counts the pauses of at most PauseBuckets[i] seconds.
	Buckets []uint64
}

// pauseLog records pauses for Pauses.
type pauseLog struct {
	mu sync.Mutex
	p  Pauses
}

func (l *pauseLog) record(d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.p.Buckets == nil {
		l.p.Buckets = make([]uint64, len(PauseBuckets))
	}
	l.p.Count++
	l.p.Sum += d
	for i, b := range PauseBuckets {
		if d.Seconds() <= b {
			l.p.Buckets[i]++
		}
	}
}

func (l *pauseLog) get() Pauses {
	l.mu.Lock()
	defer l.mu.Unlock()
	p := l.p
	p.Buckets = make([]uint64, len(PauseBuckets))
	copy(p.Buckets, l.p.Buckets)
	return p
}

// Pauses reports how long, and how often, this process could not run.
func (n *Node) Pauses() Pauses { return n.pauses.get() }

// watchPauses measures pauses until the node closes.
func (n *Node) watchPauses() {
	defer n.stopped.Done()
	timer := time.NewTimer(pauseTick)
	defer timer.Stop()
	last := time.Now()
	var lastLine time.Time
	unlogged := 0
	for {
		select {
		case <-n.stopCh:
			return
		case <-timer.C:
		}
		now := time.Now()
		late := now.Sub(last) - pauseTick
		last = now
		timer.Reset(pauseTick)
		if late < minPause {
			continue
		}
		n.pauses.record(late)
		if late < n.cfg.HeartbeatTimeout/2 {
			continue
		}
		if now.Sub(lastLine) < pauseLogEvery {
			unlogged++
			continue
		}
		n.log.Warn("process paused: it could not run (CPU saturated, vCPU taken by the hypervisor, or the Go runtime stopped); a leader paused past the heartbeat timeout steps down",
			"paused", late.Round(time.Millisecond), "state", n.raft.State().String(),
			"heartbeat_timeout", n.cfg.HeartbeatTimeout, "unlogged_since_last", unlogged)
		lastLine, unlogged = now, 0
	}
}
