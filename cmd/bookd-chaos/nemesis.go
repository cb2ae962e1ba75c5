package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"github.com/bookd/bookd/cmd/bookd-chaos/netproxy"
	"github.com/bookd/bookd/cmd/bookd-chaos/procs"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/proto/bookd/v1/bookdv1connect"
)

// Fault kinds the nemesis injects.
const (
	faultKillLeader = "kill-leader"   // SIGKILL the leader, restart it
	faultKillNode   = "kill-node"     // SIGKILL a random node, restart it
	faultPause      = "pause"         // SIGSTOP a node past the election timeout, SIGCONT
	faultTruncate   = "torn-write"    // SIGKILL a node, cut the tail off its Pebble WAL, restart
	faultPartition  = "partition"     // majority/minority, isolated leader, or bridge
	faultFlaky      = "flaky-network" // drops (as resets), delay and reordering on every link
	faultMember     = "membership"    // remove a voter, add a fresh node that catches up by snapshot
	faultClock      = "clock-jump"    // restart a node with its clock offset and make it leader
	faultLeap       = "clock-leap"    // restart a node with its clock hours off, try to make it leader: it must not keep it
)

var faultKinds = []string{faultKillLeader, faultKillNode, faultPause, faultTruncate, faultPartition, faultFlaky, faultMember, faultClock, faultLeap}

// leapBound is bookd server's default --max-clock-offset: how far a leader
// may stamp from the majority's time whatever its own clock says. While a
// node's clock has leapt, replicated time may be that much further off.
const leapBound = 500 * time.Millisecond

// nemesis injects faults from four concurrent streams (process crashes,
// the network, membership changes and clock jumps), so that faults overlap
// as they do in production. Streams take a node before faulting it, so two
// streams never fault the same process at once.
type nemesis struct {
	c        *procs.Cluster
	nc       *nodeClients
	enabled  map[string]bool
	log      *slog.Logger
	election time.Duration
	maxSkew  time.Duration

	mu       sync.Mutex
	counts   map[string]int
	failures map[string]int
	busy     map[string]bool // node ids a stream is faulting
	minOff   time.Duration
	maxOff   time.Duration
	leapt    bool     // some node's clock leapt (see offsets)
	kept     []string // leapt nodes that kept leadership while they knew their clock was off
	bug      error    // the first fault that failed for a bug in the harness
}

func newNemesis(c *procs.Cluster, nc *nodeClients, log *slog.Logger, election, maxSkew time.Duration, enabled map[string]bool) *nemesis {
	return &nemesis{c: c, nc: nc, log: log, enabled: enabled, election: election, maxSkew: maxSkew,
		counts: map[string]int{}, failures: map[string]int{}, busy: map[string]bool{}}
}

func (n *nemesis) run(ctx context.Context, seed uint64) {
	streams := [][]string{
		{faultKillLeader, faultKillNode, faultPause, faultTruncate},
		{faultPartition, faultFlaky},
		{faultMember},
		{faultClock, faultLeap},
	}
	var wg sync.WaitGroup
	for i, all := range streams {
		var kinds []string
		for _, k := range all {
			if n.enabled[k] {
				kinds = append(kinds, k)
			}
		}
		if len(kinds) == 0 {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			rnd := rand.New(rand.NewPCG(seed, uint64(100+i)))
			for k := 0; ctx.Err() == nil; k++ {
				kind := kinds[k%len(kinds)]
				if err := n.inject(ctx, rnd, kind); err != nil && ctx.Err() == nil {
					n.mu.Lock()
					n.failures[kind]++
					if errors.Is(err, procs.ErrSlotInUse) && n.bug == nil {
						n.bug = fmt.Errorf("nemesis: %s: %w", kind, err)
					}
					n.mu.Unlock()
					n.log.Warn("fault not injected", "kind", kind, "err", err)
				}
				// Healthy time between faults; the network's faults last
				// longer, so its gaps do too.
				gap := time.Duration(200+rnd.IntN(600)) * time.Millisecond
				switch kind {
				case faultPartition, faultFlaky:
					gap = time.Duration(800+rnd.IntN(1200)) * time.Millisecond
				case faultMember, faultClock, faultLeap: // slow to inject already
					gap = time.Duration(100+rnd.IntN(300)) * time.Millisecond
				}
				sleep(ctx, gap)
			}
		}()
	}
	wg.Wait()
	<-ctx.Done()
}

// inject runs one fault to its end (the node restarted, the network healed).
func (n *nemesis) inject(ctx context.Context, rnd *rand.Rand, kind string) error {
	var err error
	switch kind {
	case faultKillLeader, faultKillNode, faultTruncate:
		err = n.crash(ctx, rnd, kind)
	case faultPause:
		err = n.pause(ctx, rnd)
	case faultPartition:
		err = n.partition(ctx, rnd)
	case faultFlaky:
		err = n.flaky(ctx, rnd)
	case faultMember:
		err = n.replace(ctx, rnd)
	case faultClock:
		err = n.clockJump(ctx, rnd)
	case faultLeap:
		err = n.clockLeap(ctx, rnd)
	}
	if err == nil {
		n.mu.Lock()
		n.counts[kind]++
		n.mu.Unlock()
	}
	return err
}

// Which node a fault takes.
type target int

const (
	anyNode target = iota
	leaderNode
	followerNode
)

// take reserves a running node for a fault, waiting up to two seconds for
// one that no other stream is faulting.
func (n *nemesis) take(ctx context.Context, rnd *rand.Rand, t target) (string, error) {
	deadline := time.Now().Add(2 * time.Second)
	for {
		id, err := n.tryTake(ctx, rnd, t)
		if err == nil || time.Now().After(deadline) || ctx.Err() != nil {
			return id, err
		}
		sleep(ctx, 100*time.Millisecond)
	}
}

func (n *nemesis) tryTake(ctx context.Context, rnd *rand.Rand, t target) (string, error) {
	leader := ""
	if t != anyNode {
		lctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		id, err := n.c.Leader(lctx)
		cancel()
		if err != nil {
			return "", err
		}
		leader = id
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	var free []string
	for _, nd := range n.c.Running() {
		if n.busy[nd.ID] || (t == leaderNode && nd.ID != leader) || (t == followerNode && nd.ID == leader) {
			continue
		}
		free = append(free, nd.ID)
	}
	if len(free) == 0 {
		return "", fmt.Errorf("no free node (leader %q)", leader)
	}
	sort.Strings(free)
	id := free[rnd.IntN(len(free))]
	n.busy[id] = true
	return id, nil
}

func (n *nemesis) give(id string) {
	n.mu.Lock()
	delete(n.busy, id)
	n.mu.Unlock()
}

func (n *nemesis) crash(ctx context.Context, rnd *rand.Rand, kind string) error {
	t := anyNode
	if kind == faultKillLeader {
		t = leaderNode
	}
	id, err := n.take(ctx, rnd, t)
	if err != nil {
		return err
	}
	defer n.give(id)
	if err := n.c.Kill(id); err != nil {
		return err
	}
	if kind == faultTruncate {
		if _, err := n.c.TruncatePebbleWAL(id, rnd); err != nil {
			n.c.Restart(ctx, id)
			return err
		}
	}
	sleep(ctx, time.Duration(100+rnd.IntN(400))*time.Millisecond)
	return n.restart(id)
}

// restart brings a node back even when the run is ending.
func (n *nemesis) restart(id string, opts ...procs.RestartOption) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return n.c.Restart(ctx, id, opts...)
}

func (n *nemesis) pause(ctx context.Context, rnd *rand.Rand) error {
	id, err := n.take(ctx, rnd, target(rnd.IntN(2)))
	if err != nil {
		return err
	}
	defer n.give(id)
	if err := n.c.Pause(id); err != nil {
		return err
	}
	sleep(ctx, n.election+time.Duration(rnd.Int64N(int64(2*n.election))))
	return n.c.Resume(id)
}

func (n *nemesis) partition(ctx context.Context, rnd *rand.Rand) error {
	var ids []string
	for _, nd := range n.c.Nodes() {
		ids = append(ids, nd.ID)
	}
	rnd.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	var groups [][]string
	switch rnd.IntN(3) {
	case 0: // a random majority and minority
		k := len(ids) / 2
		groups = [][]string{ids[:k], ids[k:]}
	case 1: // the leader alone
		leader, err := n.c.Leader(ctx)
		if err != nil {
			return err
		}
		var rest []string
		for _, id := range ids {
			if id != leader {
				rest = append(rest, id)
			}
		}
		groups = [][]string{{leader}, rest}
	case 2: // a bridge: one node sees both halves, which cannot see each other
		k := len(ids) / 2
		groups = [][]string{ids[:k+1], ids[k:]}
	}
	n.c.Net().Partition(groups...)
	n.log.Info("partition", "groups", fmt.Sprint(groups))
	sleep(ctx, time.Duration(500+rnd.IntN(1000))*time.Millisecond)
	n.c.Net().Heal()
	return nil
}

func (n *nemesis) flaky(ctx context.Context, rnd *rand.Rand) error {
	nodes := n.c.Nodes()
	f := netproxy.Fault{
		Drop:   float64(rnd.IntN(30)) / 1000,
		Delay:  time.Duration(rnd.IntN(40)) * time.Millisecond,
		Jitter: time.Duration(1+rnd.IntN(60)) * time.Millisecond,
	}
	for _, a := range nodes {
		for _, b := range nodes {
			if a != b {
				n.c.Net().SetFault(a.ID, b.ID, f)
			}
		}
	}
	sleep(ctx, time.Duration(500+rnd.IntN(1000))*time.Millisecond)
	n.c.Net().Heal()
	return nil
}

func (n *nemesis) replace(ctx context.Context, rnd *rand.Rand) error {
	id, err := n.take(ctx, rnd, followerNode)
	if err != nil {
		return err
	}
	defer n.give(id)
	rctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	_, err = n.c.Replace(rctx, id)
	return err
}

// clockJump restarts a node with its clock moved by up to maxSkew either
// way and hands it the leadership, so it stamps commands with a skewed
// clock. The node keeps the offset until its next clock jump.
func (n *nemesis) clockJump(ctx context.Context, rnd *rand.Rand) error {
	id, err := n.take(ctx, rnd, followerNode)
	if err != nil {
		return err
	}
	defer n.give(id)
	offset := time.Duration(rnd.Int64N(int64(2*n.maxSkew))) - n.maxSkew
	n.mu.Lock()
	n.minOff, n.maxOff = min(n.minOff, offset), max(n.maxOff, offset)
	n.mu.Unlock()
	if err := n.c.Kill(id); err != nil {
		return err
	}
	if err := n.restart(id, procs.WithClockOffset(offset)); err != nil {
		return err
	}
	nd, err := n.c.Node(id)
	if err != nil {
		return err
	}
	// Right after a restart the node may not know the leader yet: retry.
	cc := bookdv1connect.NewClusterServiceClient(n.nc.http, "http://"+nd.RPCAddr)
	deadline := time.Now().Add(3 * time.Second)
	for {
		tctx, cancel := context.WithTimeout(ctx, time.Second)
		_, err = cc.TransferLeadership(tctx, &bookdv1.TransferLeadershipRequest{Id: id})
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			n.log.Info("leadership not transferred to the skewed node", "node", id, "offset", offset, "err", err)
			return nil
		}
		sleep(ctx, 200*time.Millisecond)
	}
	n.mu.Lock()
	n.counts["skewed-leader"]++
	n.mu.Unlock()
	return nil
}

// clockLeap restarts a follower with its clock leapt 1 to 48 hours
// forwards or back, waits until it finds its clock off (it measures the
// other members'), and hands it the leadership: it must hand it on at
// once, and replicated time must not leap with it (the history check
// would see holds expire early, or late). The node then gets its old
// clock back. The offset is not counted among the nodes' offsets: the
// guard keeps it out of replicated time.
func (n *nemesis) clockLeap(ctx context.Context, rnd *rand.Rand) error {
	id, err := n.take(ctx, rnd, followerNode)
	if err != nil {
		return err
	}
	defer n.give(id)
	nd, err := n.c.Node(id)
	if err != nil {
		return err
	}
	// A cluster too young to have measured its clocks has no replicated
	// time to hold a leader to: its first leader's clock starts it (see
	// RELIABILITY.md, "Clock faults covered"). Leap only once the node has
	// measured a majority, so its state knows the members to measure again.
	sctx, cancel := context.WithTimeout(ctx, time.Second)
	st, err := n.c.Status(sctx, id)
	cancel()
	if err != nil {
		return err
	}
	if c := st.GetClock(); c.GetMembersNeeded() == 0 || c.GetMembersMeasured() < c.GetMembersNeeded() {
		return fmt.Errorf("%s has not measured the members' clocks yet (%d of %d)", id, c.GetMembersMeasured(), c.GetMembersNeeded())
	}
	prev := nd.ClockOffset()
	leap := time.Duration(1+rnd.IntN(48)) * time.Hour
	if rnd.IntN(2) == 0 {
		leap = -leap
	}
	n.mu.Lock()
	n.leapt = true
	n.mu.Unlock()
	if err := n.c.Kill(id); err != nil {
		return err
	}
	// Whatever happens now, the node gets its clock back.
	defer func() {
		err := n.c.Kill(id)
		if err == nil {
			err = n.restart(id, procs.WithClockOffset(prev))
		}
		if err != nil {
			n.log.Warn("restart after a clock leap", "node", id, "err", err)
		}
	}()
	if err := n.restart(id, procs.WithClockOffset(prev+leap)); err != nil {
		return err
	}
	problem := func() (leads bool, problem string) {
		sctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		st, err := n.c.Status(sctx, id)
		if err != nil {
			return false, ""
		}
		return st.GetState() == "Leader", st.GetClock().GetProblem()
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		if _, p := problem(); p != "" {
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("%s, its clock leapt %s, did not find it off", id, leap)
		}
		sleep(ctx, 200*time.Millisecond)
	}
	cc := bookdv1connect.NewClusterServiceClient(n.nc.http, "http://"+nd.RPCAddr)
	tctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	_, err = cc.TransferLeadership(tctx, &bookdv1.TransferLeadershipRequest{Id: id})
	cancel()
	n.log.Info("leadership handed to a node with a leapt clock", "node", id, "leap", leap, "err", err)
	// It must not keep leadership while it knows its clock is off (it may
	// lead when no majority can tell whose clock is wrong: a member down).
	deadline = time.Now().Add(5 * time.Second)
	for {
		leads, p := problem()
		if !leads || p == "" {
			return nil
		}
		if time.Now().After(deadline) {
			n.mu.Lock()
			n.kept = append(n.kept, fmt.Sprintf("clock leap: %s kept leadership for 5s with its clock %s off (%s)", id, leap, p))
			n.mu.Unlock()
			return nil
		}
		sleep(ctx, 100*time.Millisecond)
	}
}

// leapAnomalies are the leapt nodes that kept leadership.
func (n *nemesis) leapAnomalies() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.kept...)
}

// harnessBug is the first fault that failed because of a bug in the
// harness rather than in the cluster; the run must not pass then.
func (n *nemesis) harnessBug() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.bug
}

// offsets is the range of clock offsets replicated time may have had: those
// any node has had (0 included), and leapBound more either way once a
// node's clock leapt (a leapt leader stamps that far from the others').
func (n *nemesis) offsets() (lo, hi time.Duration) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.leapt {
		return n.minOff - leapBound, n.maxOff + leapBound
	}
	return n.minOff, n.maxOff
}

func (n *nemesis) summary() (counts, failures map[string]int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	counts, failures = map[string]int{}, map[string]int{}
	for k, v := range n.counts {
		counts[k] = v
	}
	for k, v := range n.failures {
		failures[k] = v
	}
	return counts, failures
}
