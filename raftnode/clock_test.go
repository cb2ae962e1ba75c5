package raftnode

import (
	"github.com/hashicorp/raft"
	"sync"
	"testing"
	"time"
)

// stampsFrom calls c.stamp perGoroutine times on each of goroutines
// goroutines at once and returns each goroutine's stamps in call order.
func stampsFrom(c *stampClock, goroutines, perGoroutine int) [][]int64 {
	out := make([][]int64, goroutines)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			s := make([]int64, perGoroutine)
			for i := range s {
				s[i] = c.stamp()
			}
			out[g] = s
		}()
	}
	close(start)
	wg.Wait()
	return out
}

func TestStampClockStrictlyIncreasing(t *testing.T) {
	tests := []struct {
		name string
		// last is the clock's last stamp before the calls, relative to now.
		// Far ahead of the wall clock plays a wall clock that stepped back
		// (or repeats the same reading): stamps must still increase.
		last time.Duration
	}{
		{"wall clock ahead", 0},
		{"wall clock stepped back", time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const goroutines, perGoroutine = 8, 2000
			c := &stampClock{}
			floor := int64(0)
			if tt.last != 0 {
				floor = time.Now().Add(tt.last).UnixNano()
				c.last = floor
			}
			stamps := stampsFrom(c, goroutines, perGoroutine)
			seen := make(map[int64]bool, goroutines*perGoroutine)
			for g, s := range stamps {
				for i, v := range s {
					if v <= floor {
						t.Fatalf("goroutine %d stamp %d = %d, not above the previous last stamp %d", g, i, v, floor)
					}
					if i > 0 && v <= s[i-1] {
						t.Fatalf("goroutine %d: stamp %d = %d after %d: not increasing", g, i, v, s[i-1])
					}
					if seen[v] {
						t.Fatalf("stamp %d handed out twice", v)
					}
					seen[v] = true
				}
			}
			if tt.last != 0 {
				// The wall clock stays behind last for the whole test, so
				// the stamps are exactly the next integers.
				if want := floor + goroutines*perGoroutine; c.last != want {
					t.Errorf("after %d stamps from %d, last = %d, want %d", goroutines*perGoroutine, floor, c.last, want)
				}
			}
		})
	}
}

func TestStampClockFollowsWallClockWithOffset(t *testing.T) {
	for _, offset := range []time.Duration{0, time.Hour, -time.Hour} {
		c := &stampClock{offset: offset}
		before := time.Now().Add(offset).UnixNano()
		got := c.stamp()
		after := time.Now().Add(offset).UnixNano()
		if got < before || got > after {
			t.Errorf("offset %s: stamp %d outside [%d, %d]", offset, got, before, after)
		}
	}
}

func TestNowAddsClockOffset(t *testing.T) {
	for _, offset := range []time.Duration{0, 90 * time.Minute, -90 * time.Minute} {
		n := &Node{clock: stampClock{offset: offset}}
		before := time.Now().Add(offset).UnixNano()
		got := n.Now()
		after := time.Now().Add(offset).UnixNano()
		if got < before || got > after {
			t.Errorf("offset %s: Now() = %d outside [%d, %d]", offset, got, before, after)
		}
	}
}

const testBound = 500 * time.Millisecond

// timedStamp is a stamp and readings of the monotonic clock just before and
// just after it was taken.
type timedStamp struct {
	before, after time.Time
	v             int64
}

func takeStamps(c *stampClock, n int) []timedStamp {
	out := make([]timedStamp, n)
	for i := range out {
		out[i].before = time.Now()
		out[i].v = c.stamp()
		out[i].after = time.Now()
	}
	return out
}

// checkStampBounds checks the promises of a bounded stampClock on stamps
// taken after prev (zero: none): each is above the one before; none goes
// more than bound past the previous plus the real time elapsed since it
// was taken; every one is within bound of the reference line (ref at
// refAt, moved on by real time).
func checkStampBounds(t *testing.T, prev timedStamp, stamps []timedStamp, ref int64, refAt time.Time) {
	t.Helper()
	b := int64(testBound)
	for i, s := range stamps {
		if prev.v != 0 {
			if s.v <= prev.v {
				t.Fatalf("stamp %d = %d after %d: not increasing", i, s.v, prev.v)
			}
			// It was taken at most after-before(prev) after the previous one.
			if limit := prev.v + int64(s.after.Sub(prev.before)) + b; s.v > limit {
				t.Fatalf("stamp %d = %d is %s past the previous stamp plus the time elapsed (bound %s)", i, s.v, time.Duration(s.v-limit+b), testBound)
			}
		}
		lo := ref + int64(s.before.Sub(refAt)) - b
		hi := ref + int64(s.after.Sub(refAt)) + b
		if s.v < lo || s.v > hi {
			t.Fatalf("stamp %d = %d is outside the reference line ± %s: [%d, %d] (%s off)", i, s.v, testBound, lo, hi, time.Duration(s.v-(lo+hi)/2))
		}
		prev = s
	}
}

// A leader stamps within MaxClockOffset of replicated time plus the real
// time elapsed, however far its wall clock is off and however many
// commands it stamps (the bound does not creep up a bound per stamp).
func TestStampClockBoundedByReplicatedTime(t *testing.T) {
	tests := []struct {
		name   string
		offset time.Duration // the wall clock's error
		// wall: the stamps follow the wall clock (it is within the bound
		// and not behind replicated time).
		wall bool
	}{
		{"on time", 0, true},
		{"ahead within the bound", 300 * time.Millisecond, true},
		{"behind within the bound", -300 * time.Millisecond, false},
		{"ahead 2s past the bound", testBound + 2*time.Second, false},
		{"ahead 25h", 25 * time.Hour, false},
		{"behind 25h", -25 * time.Hour, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &stampClock{offset: tt.offset, bound: testBound}
			// The term begins with the state machine's clock at real time.
			leadAt := time.Now()
			replicated := leadAt.UnixNano()
			c.lead(replicated, leadAt)
			stamps := takeStamps(c, 20000)
			checkStampBounds(t, timedStamp{v: replicated, before: leadAt, after: leadAt}, stamps, replicated, leadAt)
			if tt.wall {
				last := stamps[len(stamps)-1]
				lo, hi := last.before.Add(tt.offset).UnixNano(), last.after.Add(tt.offset).UnixNano()
				if last.v < lo || last.v > hi {
					t.Errorf("clock within the bound: stamp %d, want the wall clock in [%d, %d]", last.v, lo, hi)
				}
			}
		})
	}
}

// The wall clock leaps in the middle of a term, forwards then back: the
// stamps move by the real time elapsed and at most the bound.
func TestStampClockWallClockLeapsMidTerm(t *testing.T) {
	c := &stampClock{bound: testBound}
	leadAt := time.Now()
	replicated := leadAt.UnixNano()
	c.lead(replicated, leadAt)
	prev := timedStamp{v: replicated, before: leadAt, after: leadAt}
	for _, offset := range []time.Duration{0, 25 * time.Hour, -25 * time.Hour, 2 * time.Second, 0} {
		c.offset = offset
		stamps := takeStamps(c, 5000)
		checkStampBounds(t, prev, stamps, replicated, leadAt)
		prev = stamps[len(stamps)-1]
	}
}

// Replicated time catches up with a majority's clocks: a leader elected
// after an hour without commands starts from a state machine clock an hour
// old; once a majority of clocks is known to have passed a time, stamps
// stay within the bound of it.
func TestStampClockCatchesUpWithTheMajority(t *testing.T) {
	c := &stampClock{bound: testBound}
	now := time.Now()
	idle := now.Add(-time.Hour).UnixNano()
	c.lead(idle, now)
	first := takeStamps(c, 1)[0]
	if limit := idle + int64(first.after.Sub(now)+testBound); first.v > limit {
		t.Fatalf("first stamp of the term %s past the state machine's clock, more than the bound %s plus the time elapsed", time.Duration(first.v-idle), testBound)
	}
	majorityAt := time.Now()
	majority := majorityAt.UnixNano()
	c.advance(majority, majorityAt)
	stamps := takeStamps(c, 1000)
	checkStampBounds(t, timedStamp{}, stamps, majority, majorityAt)
	// A majority's time behind the reference does not move it back.
	c.advance(majority-int64(time.Hour), time.Now())
	checkStampBounds(t, stamps[len(stamps)-1], takeStamps(c, 1000), majority, majorityAt)
}

// With no reference yet (a new cluster, before any command or
// measurement) and with the guard off, stamps follow the wall clock.
func TestStampClockUnbounded(t *testing.T) {
	tests := []struct {
		name  string
		bound time.Duration
		lead  bool
	}{
		{"no reference yet", testBound, false},
		{"guard off", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const offset = 25 * time.Hour
			c := &stampClock{offset: offset, bound: tt.bound}
			if tt.lead {
				now := time.Now()
				c.lead(now.UnixNano(), now)
			}
			before := time.Now().Add(offset).UnixNano()
			got := c.stamp()
			if after := time.Now().Add(offset).UnixNano(); got < before || got > after {
				t.Errorf("stamp %d outside the wall clock [%d, %d]", got, before, after)
			}
		})
	}
}

func TestClockSampleOffset(t *testing.T) {
	s := ClockSample{Sent: 1000, RTT: 200, PeerClock: 5000}
	if got, want := s.Offset(), time.Duration(5000-1100); got != want {
		t.Errorf("Offset() = %d, want %d (peer clock against the middle of the round trip)", got, want)
	}
}

func TestClockVerdict(t *testing.T) {
	now := time.Now()
	self := now.UnixNano()
	// sample has peer id's clock off from this node's by offset, measured
	// with the given round trip.
	sample := func(id string, offset, rtt time.Duration) ClockSample {
		return ClockSample{Peer: id, Sent: self - int64(rtt), RTT: rtt, PeerClock: self - int64(rtt/2) + int64(offset), Received: now}
	}
	three := []string{"n1", "n2", "n3"}
	five := []string{"n1", "n2", "n3", "n4", "n5"}
	tests := []struct {
		name    string
		voters  []string
		samples []ClockSample
		known   bool
		offset  time.Duration // this node's (n1's) against the majority
		problem bool
		// undecided: no majority against this clock, nor for it.
		undecided bool
		// majority is the time a majority's clocks passed, against this node's.
		majority time.Duration
	}{
		{name: "single node", voters: []string{"n1"}, known: true},
		{name: "nothing measured", voters: three},
		{name: "all agree", voters: three, known: true,
			samples: []ClockSample{sample("n2", 3*time.Millisecond, time.Millisecond), sample("n3", -2*time.Millisecond, time.Millisecond)},
			offset:  -0, majority: 0},
		// Both peers see this node 25h ahead: it is the odd one out.
		{name: "this node 25h ahead", voters: three, known: true, problem: true,
			samples: []ClockSample{sample("n2", -25*time.Hour, time.Millisecond), sample("n3", -25*time.Hour, time.Millisecond)},
			offset:  25 * time.Hour, majority: -25 * time.Hour},
		// One peer of two is 25h off: the median points at it, not here.
		{name: "a peer 25h ahead", voters: three, known: true,
			samples: []ClockSample{sample("n2", 0, time.Millisecond), sample("n3", 25*time.Hour, time.Millisecond)},
			offset:  0, majority: 0},
		{name: "this node 2.5s behind", voters: three, known: true, problem: true,
			samples: []ClockSample{sample("n2", 2500*time.Millisecond, time.Millisecond), sample("n3", 2500*time.Millisecond, time.Millisecond)},
			offset:  -2500 * time.Millisecond, majority: 2500 * time.Millisecond},
		{name: "this node ahead within the bound", voters: three, known: true,
			samples: []ClockSample{sample("n2", -400*time.Millisecond, time.Millisecond), sample("n3", -400*time.Millisecond, time.Millisecond)},
			offset:  400 * time.Millisecond, majority: -400 * time.Millisecond},
		// 600ms off, known to ±200ms: it may be within the bound. (A
		// peer's clock is taken to be as late as the answer's arrival
		// allows: 200ms earlier.)
		{name: "uncertain", voters: three, known: true,
			samples: []ClockSample{sample("n2", -600*time.Millisecond, 400*time.Millisecond), sample("n3", -600*time.Millisecond, 400*time.Millisecond)},
			offset:  600 * time.Millisecond, majority: -800 * time.Millisecond},
		// Two of three measured and 25h apart: no majority against either
		// node; the majority's time is the earlier clock.
		{name: "two disagree", voters: three, known: true, undecided: true,
			samples: []ClockSample{sample("n3", -25*time.Hour, time.Millisecond)},
			offset:  0, majority: -25 * time.Hour},
		{name: "two disagree, this one behind", voters: three, known: true, undecided: true,
			samples: []ClockSample{sample("n3", 25*time.Hour, time.Millisecond)},
			offset:  0, majority: 0},
		{name: "two of three measured agree", voters: three, known: true,
			samples: []ClockSample{sample("n3", 10*time.Millisecond, time.Millisecond)},
			offset:  0, majority: 0},
		{name: "five, two skewed, this one of them", voters: five, known: true, problem: true,
			samples: []ClockSample{sample("n2", 0, time.Millisecond), sample("n3", -25*time.Hour, time.Millisecond), sample("n4", -25*time.Hour, time.Millisecond), sample("n5", -25*time.Hour, time.Millisecond)},
			offset:  25 * time.Hour, majority: -25 * time.Hour},
		// Four of five measured, two of them off: not yet a majority
		// for this clock.
		{name: "five, two skewed, this one not", voters: five, known: true, undecided: true,
			samples: []ClockSample{sample("n2", 25*time.Hour, time.Millisecond), sample("n3", 25*time.Hour, time.Millisecond), sample("n4", 0, time.Millisecond)},
			offset:  0, majority: 0},
		// Three of five measured (a majority), but only two say this
		// node is off: they may be the wrong ones.
		{name: "five, two of three measured disagree", voters: five, known: true, undecided: true,
			samples: []ClockSample{sample("n2", -25*time.Hour, time.Millisecond), sample("n3", -25*time.Hour, time.Millisecond)},
			offset:  25 * time.Hour, majority: -25 * time.Hour},
		{name: "five, two measured", voters: five,
			samples: []ClockSample{sample("n2", -25*time.Hour, time.Millisecond)}},
		// Every clock 1s from the next: this one, in the middle, is the
		// majority's; it may lead.
		{name: "three spread out, this one in the middle", voters: three, known: true,
			samples: []ClockSample{sample("n2", -time.Second, time.Millisecond), sample("n3", time.Second, time.Millisecond)},
			offset:  0, majority: 0},
		// Measurements of non-voters do not count.
		{name: "non-voter", voters: three,
			samples: []ClockSample{sample("n9", -25*time.Hour, time.Millisecond)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			samples := map[string]ClockSample{}
			for _, s := range tt.samples {
				samples[s.Peer] = s
			}
			st, decided, majority, ok := clockVerdict("n1", tt.voters, samples, self, now, testBound)
			if st.Known() != tt.known || ok != tt.known {
				t.Fatalf("known = %v (ok %v), want %v: %+v", st.Known(), ok, tt.known, st)
			}
			if want := tt.known && !tt.undecided; decided != want {
				t.Errorf("decided = %v, want %v", decided, want)
			}
			if !tt.known {
				if st.Problem != "" {
					t.Errorf("problem %q without a verdict", st.Problem)
				}
				return
			}
			if d := st.Offset - tt.offset; d < -time.Millisecond || d > time.Millisecond {
				t.Errorf("offset %s, want %s", st.Offset, tt.offset)
			}
			if (st.Problem != "") != tt.problem {
				t.Errorf("problem %q, want one: %v", st.Problem, tt.problem)
			}
			if d := time.Duration(majority-self) - tt.majority; d < -time.Millisecond || d > time.Millisecond {
				t.Errorf("majority's time %s from this node's, want %s", time.Duration(majority-self), tt.majority)
			}
		})
	}
}

// A leader elected after a pause in writes (an election that took seconds)
// starts from a state machine clock that is behind; a majority's clocks,
// measured before its first stamp, let it stamp with its own clock at once.
func TestStampClockNewLeaderAfterAPause(t *testing.T) {
	c := &stampClock{bound: testBound}
	now := time.Now()
	c.advance(now.UnixNano(), now) // measured as a follower
	c.lead(now.Add(-3*time.Second).UnixNano(), now)
	before := time.Now().UnixNano()
	got := c.stamp()
	if after := time.Now().UnixNano(); got < before || got > after {
		t.Errorf("first stamp of the term %s off the wall clock", time.Duration(got-before))
	}
}

// A leader elected after a pause in writes, with no majority measurement
// at hand (a node just restarted or added), counts the pause from when it
// applied the last stamp: its first stamp follows its wall clock rather
// than the stale state machine clock, so quick hand-overs do not add up
// lags. Without the applied instant, the stamp stays a pause behind.
func TestStampClockCountsThePauseSinceTheLastStampApplied(t *testing.T) {
	pause := 3 * time.Second
	now := time.Now()
	appliedAt := now.Add(-pause) // applied as a follower, then the election
	replicated := appliedAt.UnixNano()

	c := &stampClock{bound: testBound}
	c.applied(replicated, appliedAt)
	c.applied(replicated, now) // the same clock applied again: still the first instant
	c.lead(replicated, now)
	before := time.Now().UnixNano()
	if got, after := c.stamp(), time.Now().UnixNano(); got < before || got > after {
		t.Errorf("first stamp of the term %s off the wall clock, want on it", time.Duration(got-before))
	}

	unknown := &stampClock{bound: testBound}
	unknown.lead(replicated, now)
	if got := unknown.stamp(); time.Now().UnixNano()-got < int64(pause-testBound)-int64(100*time.Millisecond) {
		t.Errorf("with no applied instant the first stamp is %s behind the wall clock, want about the pause less the bound",
			time.Duration(time.Now().UnixNano()-got))
	}
}

// A leader whose clock is off hands leadership to the good clock nearest
// the majority's; when the last hand-over could not reach that member
// (down, paused, cut off), the next goes to another good clock, and back
// to it only when there is no other.
func TestPickGoodClockAvoidsTheMemberLastRefused(t *testing.T) {
	st := ClockStatus{MaxOffset: 500 * time.Millisecond, Offset: 30 * time.Hour, Peers: []PeerClock{
		{ID: "near", Offset: -30*time.Hour + 10*time.Millisecond},
		{ID: "far", Offset: -30*time.Hour + 400*time.Millisecond},
		{ID: "off", Offset: -28 * time.Hour},
		{ID: "learner", Offset: -30 * time.Hour},
	}}
	voters := map[string]raft.Server{"near": {ID: "near"}, "far": {ID: "far"}, "off": {ID: "off"}}
	for _, tc := range []struct{ avoid, want string }{{"", "near"}, {"near", "far"}, {"far", "near"}} {
		got, ok := pickGoodClock(st, voters, tc.avoid)
		if !ok || string(got.ID) != tc.want {
			t.Errorf("avoiding %q: picked %q (%v), want %q", tc.avoid, got.ID, ok, tc.want)
		}
	}
	delete(voters, "far")
	if got, ok := pickGoodClock(st, voters, "near"); !ok || got.ID != "near" {
		t.Errorf("with no other good clock: picked %q (%v), want near again", got.ID, ok)
	}
	delete(voters, "near")
	if got, ok := pickGoodClock(st, voters, ""); ok {
		t.Errorf("no voter with a good clock: picked %q", got.ID)
	}
}
