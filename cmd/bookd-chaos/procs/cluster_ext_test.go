package procs_test

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/bookd/bookd/cmd/bookd-chaos/procs"
)

func TestPauseFollowerThenKillLeader(t *testing.T) {
	c := startCluster(t, procs.Options{Seed: 1})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cl := newClient(t, c)
	createEvents(ctx, t, cl, "first", 1, 0) // the client learns the leader
	old := leader(ctx, t, c)
	f := follower(t, c, old)

	if err := c.Pause(f); err != nil {
		t.Fatal(err)
	}
	sctx, scancel := context.WithTimeout(ctx, 500*time.Millisecond)
	if _, err := c.Status(sctx, f); err == nil {
		t.Errorf("paused %s answered GetStatus", f)
	}
	scancel()
	createEvents(ctx, t, cl, "while paused", 5, 0) // the other two are a quorum
	if err := c.Resume(f); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitCaughtUp(ctx, f); err != nil {
		t.Fatal(err)
	}

	if err := c.Kill(old); err != nil {
		t.Fatal(err)
	}
	if n, _ := c.Node(old); n.State() != procs.Stopped {
		t.Errorf("killed %s is %s", old, n.State())
	}
	newLeader(ctx, t, c, old)
	createEvents(ctx, t, cl, "after kill", 5, 0)
	if err := c.Restart(ctx, old); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitCaughtUp(ctx, old); err != nil {
		t.Fatal(err)
	}
	sameState(ctx, t, c)
	if crashed := c.Crashed(); len(crashed) > 0 {
		t.Errorf("%s exited unasked: %v", crashed[0].ID, crashed[0].ExitErr())
	}
}

func TestRestartAfterTornWALCatchesUp(t *testing.T) {
	// The snapshot flags are passed (and must be accepted); within a short
	// test Raft's 2-minute snapshot interval takes no snapshot.
	c := startCluster(t, procs.Options{Seed: 2, SnapshotThreshold: 40, TrailingLogs: 20})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cl := newClient(t, c)
	rnd := rand.New(rand.NewPCG(2, 2))
	// Seats make records large: Pebble writes its WAL to the file in
	// 32 KiB blocks when commits do not sync, so there is a file to tear.
	createEvents(ctx, t, cl, "before", 60, 100)
	victim := follower(t, c, leader(ctx, t, c))
	if _, err := c.WaitCaughtUp(ctx, victim); err != nil {
		t.Fatal(err)
	}
	if err := c.Kill(victim); err != nil {
		t.Fatal(err)
	}
	if cut, err := c.TruncatePebbleWAL(victim, rnd); err != nil || cut == 0 {
		t.Fatalf("TruncatePebbleWAL = %d, %v; want some bytes cut", cut, err)
	}
	createEvents(ctx, t, cl, "while down", 20, 0)
	if err := c.Restart(ctx, victim); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitCaughtUp(ctx, victim); err != nil {
		t.Fatal(err)
	}
	createEvents(ctx, t, cl, "after", 5, 0)
	sameState(ctx, t, c)
}

func TestTruncatePebbleWALRefusesARunningNode(t *testing.T) {
	c := startCluster(t, procs.Options{Seed: 3, Nodes: 1})
	if _, err := c.TruncatePebbleWAL("n1", rand.New(rand.NewPCG(3, 3))); err == nil {
		t.Fatal("TruncatePebbleWAL of a running node succeeded")
	}
}

func TestReplaceLeader(t *testing.T) {
	c := startCluster(t, procs.Options{Seed: 4})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cl := newClient(t, c)
	createEvents(ctx, t, cl, "before", 10, 0)
	old := leader(ctx, t, c)
	oldNode, _ := c.Node(old)

	newID, err := c.Replace(ctx, old)
	if err != nil {
		t.Fatal(err)
	}
	if newID == old {
		t.Fatalf("Replace kept the id %s", old)
	}
	var ids []string
	for _, n := range c.Nodes() {
		ids = append(ids, n.ID)
	}
	if slices.Contains(ids, old) || !slices.Contains(ids, newID) || len(ids) != 3 {
		t.Errorf("Nodes() = %v after replacing %s with %s", ids, old, newID)
	}
	nn, _ := c.Node(newID)
	if nn.DataDir == oldNode.DataDir || nn.IP == oldNode.IP {
		t.Errorf("new node %+v should start in the spare slot with a fresh data dir, not %+v's", nn, oldNode)
	}
	st, err := c.Status(ctx, leader(ctx, t, c))
	if err != nil {
		t.Fatal(err)
	}
	var members []string
	for _, m := range st.Members {
		if m.Voter {
			members = append(members, m.Id)
		}
	}
	slices.Sort(members)
	slices.Sort(ids)
	if !slices.Equal(members, ids) {
		t.Errorf("voters = %v, want %v", members, ids)
	}
	// The network now knows the slot's IP as the new node.
	c.Net().Partition([]string{newID})
	newLeader(ctx, t, c, newID)
	c.Net().Heal()
	createEvents(ctx, t, cl, "after", 5, 0)
	if _, err := c.WaitCaughtUp(ctx, newID); err != nil {
		t.Fatal(err)
	}
	sameState(ctx, t, c)
}

func TestPartitionLeaderAway(t *testing.T) {
	c := startCluster(t, procs.Options{Seed: 5})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cl := newClient(t, c)
	createEvents(ctx, t, cl, "before", 5, 0)
	old := leader(ctx, t, c)

	c.Net().Partition([]string{old})
	newLeader(ctx, t, c, old)
	createEvents(ctx, t, cl, "during", 5, 0) // the majority side commits
	// The cut-off leader steps down once it misses its quorum.
	for {
		st, err := c.Status(ctx, old)
		if err != nil {
			t.Fatal(err)
		}
		if st.State != "Leader" {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("partitioned %s still leads: %v", old, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
	if st := c.Net().Stats(); st.Blackholed == 0 && st.ResetsBlock == 0 {
		t.Errorf("the partition cut no connection: %+v", st)
	}

	c.Net().Heal()
	if _, err := c.WaitCaughtUp(ctx, old); err != nil {
		t.Fatal(err)
	}
	sameState(ctx, t, c)
}

// TestReplaceAgainAfterAFailedReplace is the interleaving behind a chaos
// run that died with "n15 exited while starting: bind: address already in
// use": a replacement of f fails half way (its new node runs and joins, f
// is left to remove), the nemesis then picks f, still a running member, to
// replace again. That Replace removed f first, gave f's slot to a new node,
// and then queued f for removal once more; removing it a second time
// unlistened the new node's proxies (the same addresses) and made f's slot
// the spare again while the new node still ran in it, so the replacement
// after that started a second server on the same ports.
func TestReplaceAgainAfterAFailedReplace(t *testing.T) {
	c := startCluster(t, procs.Options{Seed: 6})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cl := newClient(t, c)
	createEvents(ctx, t, cl, "before", 5, 0)
	f := follower(t, c, leader(ctx, t, c))

	// A context that is already done makes Replace fail right after it
	// started the new node, as a deadline running out under load does.
	done, stop := context.WithCancel(ctx)
	stop()
	if _, err := c.Replace(done, f); err == nil {
		t.Fatalf("Replace(%s) with a done context succeeded", f)
	}
	if len(c.Nodes()) != 4 {
		t.Fatalf("Nodes() = %v after a failed Replace; the test needs the new node left running with %s", ids(c.Nodes()), f)
	}
	first := c.Nodes()[3].ID
	waitVoters(ctx, t, c, 4)
	if _, err := c.WaitCaughtUp(ctx, first); err != nil {
		t.Fatal(err)
	}

	// f was replaced (by first) but not removed yet; replacing it again
	// finishes the first replacement and must not start another node.
	if id, err := c.Replace(ctx, f); err == nil {
		t.Errorf("Replace(%s) of a node already replaced started %s", f, id)
	}
	if slices.Contains(ids(c.Nodes()), f) {
		t.Errorf("Nodes() = %v: %s not removed", ids(c.Nodes()), f)
	}
	// The spare is f's slot and nothing runs in it: the next replacement
	// starts there.
	second, err := c.Replace(ctx, follower(t, c, leader(ctx, t, c)))
	if err != nil {
		t.Fatal(err)
	}
	waitVoters(ctx, t, c, 3)
	ips := map[string]string{}
	for _, n := range c.Nodes() {
		if other, ok := ips[n.IP]; ok {
			t.Errorf("%s and %s share %s", other, n.ID, n.IP)
		}
		ips[n.IP] = n.ID
		if n.State() != procs.Running {
			t.Errorf("%s is %s", n.ID, n.State())
		}
	}
	createEvents(ctx, t, cl, "after", 5, 0)
	if _, err := c.WaitCaughtUp(ctx, second); err != nil {
		t.Fatal(err)
	}
	sameState(ctx, t, c)
}

func ids(nodes []*procs.Node) []string {
	var out []string
	for _, n := range nodes {
		out = append(out, n.ID)
	}
	return out
}

// waitVoters waits until the leader counts n voters, all of them members
// the cluster lists.
func waitVoters(ctx context.Context, t *testing.T, c *procs.Cluster, n int) {
	t.Helper()
	for {
		var voters []string
		if st, err := c.Status(ctx, leader(ctx, t, c)); err == nil {
			for _, m := range st.Members {
				if m.Voter {
					voters = append(voters, m.Id)
				}
			}
		}
		members := ids(c.Nodes())
		slices.Sort(voters)
		slices.Sort(members)
		if len(voters) == n && slices.Equal(voters, members) {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("voters %v, members %v; want %d voters, the members: %v", voters, members, n, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
