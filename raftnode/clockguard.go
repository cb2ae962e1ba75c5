package raftnode

import (
	"fmt"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
)

// Bounded replicated time. The state machine's time is the greatest leader
// stamp it has applied, so one leader with a clock far ahead would move it
// for good: idempotency records purged early, every hold expired at once.
// Two things keep a wrong clock out of replicated time:
//
//   - Every node measures its clock against the other members' (the RPC
//     server probes them: ObserveClocks). A node whose clock is further than
//     Config.MaxClockOffset from the majority's does not lead: if elected,
//     it hands leadership at once to a member whose clock agrees (with none
//     known, it keeps leading, its stamps bounded, and tries again; see
//     handOver). The node says why in its log and ClockStatus.
//   - Whatever its clock, a leader stamps commands within MaxClockOffset of
//     a reference line (stampClock): the state machine's clock when its
//     term began, moved on by the real time elapsed on the monotonic clock,
//     and forwards to a time a majority of the members' clocks have passed
//     (so that a cluster idle for an hour does not stay an hour behind).
//     A stamp therefore never leaps more than MaxClockOffset past
//     replicated time plus real time elapsed, and never lags more than
//     that behind it either, even in the moments before a hand-over.

const (
	// clockSampleTTL is how long a measurement of a peer's clock counts.
	clockSampleTTL = 5 * time.Second
	// clockCheckInterval is how often a node judges its clock (also at
	// every new measurement and when it becomes leader).
	clockCheckInterval = time.Second
	// clockHandoverInterval is the least time between two hand-overs: a
	// node that gets leadership back at once (no member it could hand it
	// to can win an election) keeps it a while, its stamps bounded, rather
	// than leave the cluster without a leader that takes writes.
	clockHandoverInterval = 2 * time.Second
	// clockVerdictWait bounds how long a new leader whose clock has not
	// been measured (it just started) waits for a measurement before its
	// first stamp.
	clockVerdictWait = time.Second
)

// ClockSample is one measurement of a peer's clock against this node's
// (both with their configured ClockOffset).
type ClockSample struct {
	Peer string // the member's id
	// PeerClock is the peer's clock (Unix ns) as it answered.
	PeerClock int64
	// Sent is this node's clock (Node.Now) when the probe left, RTT the
	// probe's round trip measured on the monotonic clock.
	Sent int64
	RTT  time.Duration
	// Received is when the answer arrived (time.Now(), with its monotonic
	// reading).
	Received time.Time
}

// Offset is the peer's clock minus this node's: the peer's reading against
// the middle of the round trip. It is known to ±RTT/2.
func (s ClockSample) Offset() time.Duration {
	return time.Duration(s.PeerClock - (s.Sent + int64(s.RTT/2)))
}

// PeerClock is a member's clock as this node last measured it.
type PeerClock struct {
	ID     string
	Offset time.Duration // its clock minus this node's
	RTT    time.Duration
	Age    time.Duration // since the measurement
}

// ClockStatus is this node's clock judged against the other members'.
type ClockStatus struct {
	// MaxOffset is Config.MaxClockOffset; Guard is false when the node
	// runs with Config.NoClockGuard (it then leads whatever its offset).
	MaxOffset time.Duration
	Guard     bool
	// Measured is how many voters' clocks were measured in the last few
	// seconds (this node's included when it votes); Needed is the majority
	// of the voters a verdict takes.
	Measured, Needed int
	// Offset is this node's clock minus the majority's (the median of the
	// members' clocks; positive: ahead), known to ±Uncertainty. Zero until
	// Measured reaches Needed.
	Offset, Uncertainty time.Duration
	// Problem, when not empty, says why this node does not lead: its clock
	// is further than MaxOffset from the majority's.
	Problem string
	// Handoffs counts the times this node handed leadership over because
	// of its clock.
	Handoffs uint64
	// Peers are the last measurements of the other members' clocks.
	Peers []PeerClock
}

// Known reports whether enough clocks were measured for a verdict.
func (s ClockStatus) Known() bool { return s.Measured >= s.Needed && s.Needed > 0 }

// clockGuard is a node's view of the members' clocks.
type clockGuard struct {
	mu      sync.Mutex
	samples map[string]ClockSample // by peer id, the latest of each
	status  ClockStatus

	observed chan struct{} // closed (and replaced) at each ObserveClocks; guarded by mu

	kick         chan struct{} // asks the watch loop to judge now
	probe        chan struct{} // asks the prober to measure now
	prober       atomic.Bool   // a prober takes the requests
	anchoredTerm atomic.Uint64 // the term whose stamps follow the state machine's clock
	handoffs     atomic.Uint64
	lastHandover time.Time // watchClock's goroutine only
	// refused is the member the last hand-over failed to reach (down,
	// paused, cut off): the next one goes to another good clock if there
	// is one. watchClock's goroutine only.
	refused string
}

func (g *clockGuard) init(st ClockStatus) {
	g.samples = map[string]ClockSample{}
	g.status = st
	g.observed = make(chan struct{})
	g.kick = make(chan struct{}, 1)
	g.probe = make(chan struct{}, 1)
}

// ClockProbeRequests receives when the node wants the other members'
// clocks measured at once (a new leader does before its first stamp when
// it has no fresh measurement). The RPC server's prober calls it once, and
// so tells the node that a prober runs.
func (n *Node) ClockProbeRequests() <-chan struct{} {
	n.guard.prober.Store(true)
	return n.guard.probe
}

func (n *Node) requestClockProbe() {
	select {
	case n.guard.probe <- struct{}{}:
	default:
	}
}

// ObserveClocks records measurements of other members' clocks (the RPC
// server's prober sends them) and has the node judge its clock again.
func (n *Node) ObserveClocks(samples ...ClockSample) {
	g := &n.guard
	g.mu.Lock()
	for _, s := range samples {
		if s.Peer == n.cfg.ID {
			continue
		}
		if old, ok := g.samples[s.Peer]; !ok || s.Received.After(old.Received) {
			g.samples[s.Peer] = s
		}
	}
	close(g.observed)
	g.observed = make(chan struct{})
	g.mu.Unlock()
	n.kickClock()
}

// ClockStatus reports this node's clock against the other members'.
func (n *Node) ClockStatus() ClockStatus {
	n.guard.mu.Lock()
	st := n.guard.status
	st.Peers = slices.Clone(st.Peers)
	n.guard.mu.Unlock()
	st.Handoffs = n.guard.handoffs.Load()
	return st
}

func (n *Node) kickClock() {
	select {
	case n.guard.kick <- struct{}{}:
	default:
	}
}

// anchorClock makes the stamps of this leader's term follow replicated
// time, once per term, before the term's first stamp: the state machine's
// clock, or the majority's if that is further on (after a pause in writes
// the state machine's clock is behind real time). A leader that has not
// measured the other clocks yet (it has just started) has them measured
// first, waiting up to clockVerdictWait: without them, its stamps could
// only follow the state machine's clock, behind by the pause.
func (n *Node) anchorClock() {
	term := n.raft.CurrentTerm()
	if n.guard.anchoredTerm.Load() == term {
		return
	}
	// A single node is its own majority: its clock counts at once.
	if st := n.checkClock(); !st.Known() && n.guard.prober.Load() && n.canMeasure(st.Needed) {
		n.awaitClockVerdict()
	}
	clock, err := n.fsm.Clock()
	if err != nil {
		n.log.Warn("read the state machine's clock", "err", err)
		return // stamps stay bounded by the last reference; next proposal tries again
	}
	n.clock.lead(clock, time.Now())
	n.guard.anchoredTerm.Store(term)
}

// canMeasure reports whether the prober can reach enough voters for a
// verdict: it needs their registered RPC addresses, which a new cluster
// records only with its first commands.
func (n *Node) canMeasure(needed int) bool {
	addrs, err := n.rpcAddrs()
	if err != nil {
		return false
	}
	reachable := 1 // this node
	for _, id := range n.voters() {
		if id != n.cfg.ID && addrs[id] != "" {
			reachable++
		}
	}
	return reachable >= needed
}

// awaitClockVerdict has the other members' clocks measured and waits until
// a majority of them is, for up to clockVerdictWait.
func (n *Node) awaitClockVerdict() {
	timeout := time.NewTimer(clockVerdictWait)
	defer timeout.Stop()
	n.requestClockProbe()
	for {
		n.guard.mu.Lock()
		observed := n.guard.observed
		n.guard.mu.Unlock()
		if n.checkClock().Known() {
			return
		}
		select {
		case <-observed:
		case <-timeout.C:
			n.log.Warn("no majority of the members' clocks measured: this term's stamps follow the state machine's clock")
			return
		case <-n.stopCh:
			return
		}
	}
}

// watchClock judges this node's clock every clockCheckInterval and when
// kicked, and hands leadership over while it leads with a clock too far
// from the majority's.
func (n *Node) watchClock() {
	defer n.stopped.Done()
	tick := time.NewTicker(clockCheckInterval)
	defer tick.Stop()
	for {
		select {
		case <-n.stopCh:
			return
		case <-tick.C:
		case <-n.guard.kick:
		}
		st := n.checkClock()
		if st.Problem != "" && st.Guard && n.IsLeader() {
			n.handOver(st)
		}
	}
}

// checkClock judges this node's clock from the fresh measurements, moves
// the stamps' reference line forwards to the majority's time, and logs
// when the verdict changes.
func (n *Node) checkClock() ClockStatus {
	now := time.Now()
	self := now.Add(n.clock.offset).UnixNano()
	voters := n.voters()
	g := &n.guard
	g.mu.Lock()
	for id, s := range g.samples {
		if now.Sub(s.Received) > clockSampleTTL {
			delete(g.samples, id)
		}
	}
	st, decided, majority, ok := clockVerdict(n.cfg.ID, voters, g.samples, self, now, n.cfg.MaxClockOffset)
	st.Guard = !n.cfg.NoClockGuard
	prev := g.status
	if !decided && prev.Problem != "" {
		// Found off by a majority, and no majority has agreed with this
		// clock since (say only one other member is up): still off.
		st.Problem, st.Offset, st.Uncertainty = prev.Problem, prev.Offset, prev.Uncertainty
	}
	g.status = st
	g.mu.Unlock()
	if ok {
		n.clock.advance(majority, now)
	}
	switch {
	case st.Problem != "" && prev.Problem == "":
		action := "it does not lead"
		if !st.Guard {
			action = "it may lead anyway (NoClockGuard)"
		}
		n.log.Error("clock offset from the majority exceeds --max-clock-offset: "+action,
			"offset", st.Offset, "uncertainty", st.Uncertainty, "max_clock_offset", st.MaxOffset,
			"members_measured", st.Measured, "problem", st.Problem)
	case st.Problem == "" && prev.Problem != "" && st.Known():
		n.log.Info("clock offset from the majority back within --max-clock-offset", "offset", st.Offset, "max_clock_offset", st.MaxOffset)
	}
	return st
}

// voters are the ids of the voters in the latest configuration.
func (n *Node) voters() []string {
	cf := n.raft.GetConfiguration()
	if cf.Error() != nil {
		return nil
	}
	var ids []string
	for _, s := range cf.Configuration().Servers {
		if s.Suffrage == raft.Voter {
			ids = append(ids, string(s.ID))
		}
	}
	return ids
}

// handOver gives leadership to a voter whose clock agrees with the
// majority's. With none known (none measured lately, or every other clock
// off too), or within clockHandoverInterval of the last hand-over, the node
// keeps leading, its stamps bounded, and tries again at a later check:
// handing leadership round the members whose clocks are off would leave
// the cluster without a leader that takes writes.
func (n *Node) handOver(st ClockStatus) {
	g := &n.guard
	if !g.lastHandover.IsZero() && time.Since(g.lastHandover) < clockHandoverInterval {
		return
	}
	to, ok := n.goodClockPeer(st, g.refused)
	if !ok {
		if g.lastHandover.IsZero() || time.Since(g.lastHandover) > 10*clockHandoverInterval {
			n.log.Error("leading with a clock off by more than --max-clock-offset: no member with a good clock to hand leadership to (stamps stay bounded)",
				"offset", st.Offset, "max_clock_offset", st.MaxOffset, "members_measured", st.Measured)
			g.lastHandover = time.Now() // rate-limits this line too
		}
		return
	}
	g.lastHandover = time.Now()
	n.log.Error("handing leadership over: clock offset from the majority exceeds --max-clock-offset",
		"to", to.ID, "offset", st.Offset, "uncertainty", st.Uncertainty, "max_clock_offset", st.MaxOffset, "members_measured", st.Measured)
	if err := n.raft.LeadershipTransferToServer(to.ID, to.Address).Error(); err != nil {
		n.log.Warn("hand leadership over", "to", to.ID, "err", err) // tried again at a later check
		g.refused = string(to.ID)
		return
	}
	g.refused = ""
	g.handoffs.Add(1)
}

// goodClockPeer is the voter whose clock is nearest the majority's, if
// one is within the bound of it; avoid (the member the last hand-over
// failed to reach) only when no other is.
func (n *Node) goodClockPeer(st ClockStatus, avoid string) (raft.Server, bool) {
	cf := n.raft.GetConfiguration()
	if cf.Error() != nil {
		return raft.Server{}, false
	}
	byID := map[string]raft.Server{}
	for _, s := range cf.Configuration().Servers {
		if s.Suffrage == raft.Voter && string(s.ID) != n.cfg.ID {
			byID[string(s.ID)] = s
		}
	}
	return pickGoodClock(st, byID, avoid)
}

// pickGoodClock chooses among voters (by id) the one whose measured clock
// is nearest the majority's, within st's bound; avoid comes after every
// other good clock.
func pickGoodClock(st ClockStatus, voters map[string]raft.Server, avoid string) (raft.Server, bool) {
	var best raft.Server
	bestRank, found := time.Duration(0), false
	for _, p := range st.Peers {
		s, ok := voters[p.ID]
		if !ok {
			continue
		}
		// The majority's clock is st.Offset behind this node's; the
		// peer's is p.Offset ahead of it.
		dist := absDuration(p.Offset + st.Offset)
		if dist > st.MaxOffset {
			continue
		}
		rank := dist
		if p.ID == avoid {
			rank += st.MaxOffset + 1
		}
		if !found || rank < bestRank {
			best, bestRank, found = s, rank, true
		}
	}
	return best, found
}

// clockVerdict judges this node's clock, which reads self at now, from
// fresh samples of the other members' clocks. The clock is off (Problem
// set) when the median of the clocks is further than bound from it and a
// majority of the voters say so; it is fine when the median is within
// bound of it (this node's clock is the majority's), or a majority of the
// voters (itself included) find it within bound; otherwise undecided
// (decided false: too few measured, or the members measured disagree with
// no majority either way). It also returns the latest time a majority of the
// voters' clocks had certainly passed at now, when a majority was measured
// (ok).
func clockVerdict(selfID string, voters []string, samples map[string]ClockSample, self int64, now time.Time, bound time.Duration) (st ClockStatus, decided bool, majority int64, ok bool) {
	st.MaxOffset = bound
	st.Needed = len(voters)/2 + 1
	offsets := []time.Duration{0} // this node's own, against itself
	clocks := []int64{self}
	var rtt time.Duration
	// Voters whose clocks are certainly further than bound from this
	// node's, and those that may be within it.
	disagree, agree := 0, 0
	for _, id := range voters {
		if id == selfID {
			st.Measured++
			agree++
			continue
		}
		s, found := samples[id]
		if !found {
			continue
		}
		st.Measured++
		offsets = append(offsets, s.Offset())
		if absDuration(s.Offset())-s.RTT/2 > bound {
			disagree++
		} else {
			agree++
		}
		// A lower bound of the peer's clock now: it read its clock
		// before its answer arrived.
		clocks = append(clocks, s.PeerClock+int64(now.Sub(s.Received)))
		rtt = max(rtt, s.RTT)
	}
	for id, s := range samples {
		st.Peers = append(st.Peers, PeerClock{ID: id, Offset: s.Offset(), RTT: s.RTT, Age: now.Sub(s.Received)})
	}
	sort.Slice(st.Peers, func(i, j int) bool { return st.Peers[i].ID < st.Peers[j].ID })
	if !st.Known() || len(clocks) < st.Needed {
		return st, false, 0, false
	}
	// The majority's clock is the median of the members' (this node's
	// included). With an even count, of the two middle ones the nearer to
	// this node's: it takes a strict majority against a node to find it
	// off, so two nodes that disagree do not both refuse to lead.
	slices.Sort(offsets)
	median, other := offsets[len(offsets)/2], offsets[len(offsets)/2]
	if len(offsets)%2 == 0 {
		if other = offsets[len(offsets)/2-1]; absDuration(other) < absDuration(median) {
			median, other = other, median
		}
	}
	st.Offset = -median
	st.Uncertainty = rtt / 2
	// Off when the median is, and a majority of the voters say so: a
	// majority-sized sample that holds the wrong clocks of a minority
	// does not make a good clock look wrong.
	if d := absDuration(st.Offset); d-st.Uncertainty > bound && disagree >= st.Needed {
		way := "ahead of"
		if st.Offset < 0 {
			way = "behind"
		}
		st.Problem = fmt.Sprintf("clock %s %s the majority's (±%s), more than --max-clock-offset %s",
			d.Round(time.Millisecond), way, st.Uncertainty.Round(time.Millisecond), bound)
	}
	// Fine when the median is within bound (with an even count, both
	// middle ones: two members 25h apart, the third not measured, cannot
	// tell whose clock is right), or when a majority agrees with this
	// clock.
	fine := max(absDuration(median), absDuration(other))-st.Uncertainty <= bound
	decided = st.Problem != "" || fine || agree >= st.Needed
	// Needed clocks read at least this: one of them is right when at most
	// a minority is wrong.
	slices.Sort(clocks)
	return st, decided, clocks[len(clocks)-st.Needed], true
}

func absDuration(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}
