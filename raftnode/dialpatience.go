package raftnode

import (
	"errors"
	"net"
	"syscall"
	"time"
)

// A leader that cannot reach a follower backs off before trying again,
// doubling the wait with every failure and with no cap but ~10 s
// (hashicorp/raft's replicateTo). A follower that restarts refuses
// connections until its stores are open: each refused dial, a millisecond
// apart, counted as a failure, so after half a second away the leader's
// next try came up to 640 ms later, and the restarted node waited that long
// for the entries that complete its state (bookd-bench scale -coldstarts
// 10 on a quiet box, 2026-12-06: `state complete` 50–760 ms after its
// stores were open). So a dial refused outright is tried again for a
// while: a failure then takes dialPatience, not a millisecond, the
// leader's count grows slowly, and a follower back in that time is reached
// within dialRetryEvery of listening again. A dial that times out or fails
// otherwise fails as before.
const (
	dialPatience   = 250 * time.Millisecond
	dialRetryEvery = 10 * time.Millisecond
)

// dialPatiently dials hostport with d, trying again while the connection
// is refused, for up to dialPatience (or timeout, if shorter).
func dialPatiently(d *net.Dialer, hostport string, timeout time.Duration) (net.Conn, error) {
	giveUp := time.Now().Add(min(timeout, dialPatience))
	for {
		conn, err := d.Dial("tcp", hostport)
		if err == nil || !errors.Is(err, syscall.ECONNREFUSED) || time.Now().Add(dialRetryEvery).After(giveUp) {
			return conn, err
		}
		time.Sleep(dialRetryEvery)
	}
}
