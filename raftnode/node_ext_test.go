package raftnode_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/bookd/bookd/fsm"
	fsmv1 "github.com/bookd/bookd/proto/bookd/fsm/v1"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/raftnode"
)

func TestSingleNodeProposeAndReadBarrier(t *testing.T) {
	cfg := nodeConfig(t, "n1")
	n := singleNode(t, cfg)

	if id, addr := n.Leader(); id != "n1" || addr != cfg.RPCAddr {
		t.Errorf("Leader() = %q, %q; want n1, %s", id, addr, cfg.RPCAddr)
	}
	if d := n.LastContact(); d != 0 {
		t.Errorf("LastContact() on the leader = %s, want 0", d)
	}

	ev := createEvent(t, n, "concert", 5)
	if ev.GetName() != "concert" || ev.GetCapacity() != 5 || ev.GetId() == "" {
		t.Errorf("created event %v, want name concert, capacity 5 and an id", ev)
	}

	// A command the state machine refuses comes back in the Result, not as
	// a proposal error.
	res, err := n.Propose(context.Background(), &fsm.Command{Op: &fsmv1.Command_Hold{Hold: &bookdv1.HoldRequest{
		EventId: "ev_999999", CustomerId: "c1", Quantity: 1,
	}}})
	if err != nil {
		t.Fatalf("propose hold on a missing event: %v", err)
	}
	if res.Err == nil || res.Response != nil {
		t.Errorf("hold on a missing event: Result{Response: %v, Err: %v}, want only Err", res.Response, res.Err)
	}

	// Proposals and reads at once: every read succeeds, and a read that
	// starts after all proposals returned sees all of them.
	const writers, reads = 20, 20
	ids := make([]string, writers)
	var wg sync.WaitGroup
	errs := make(chan error, writers+reads)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := n.Propose(context.Background(), createEventCmd(fmt.Sprintf("event %d", i), 10))
			if err != nil {
				errs <- fmt.Errorf("propose %d: %w", i, err)
				return
			}
			if res.Err != nil {
				errs <- fmt.Errorf("propose %d: %v", i, res.Err)
				return
			}
			ids[i] = res.Response.(*bookdv1.CreateEventResponse).GetEvent().GetId()
		}()
	}
	for i := range reads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := n.ReadBarrier(context.Background()); err != nil {
				errs <- fmt.Errorf("read %d: %w", i, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		t.FailNow()
	}
	if err := n.ReadBarrier(context.Background()); err != nil {
		t.Fatalf("ReadBarrier: %v", err)
	}
	var maxIndex uint64
	for _, id := range ids {
		maxIndex = max(maxIndex, indexOf(t, id))
		if _, err := n.FSM().Event(id); err != nil {
			t.Errorf("event %s after ReadBarrier: %v", id, err)
		}
	}
	if got := n.FSM().AppliedIndex(); got < maxIndex {
		t.Errorf("after ReadBarrier the FSM applied %d, want at least %d", got, maxIndex)
	}

	st, err := n.Status()
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	want := raftnode.MemberStatus{ID: "n1", RaftAddr: cfg.RaftAddr, RPCAddr: cfg.RPCAddr, Voter: true, Leader: true}
	if st.NodeID != "n1" || st.State != "Leader" || st.LeaderID != "n1" || st.LeaderRPC != cfg.RPCAddr ||
		len(st.Members) != 1 || st.Members[0] != want {
		t.Errorf("Status() = %+v, want node n1 leading alone with member %+v", st, want)
	}
	if st.AppliedIndex < maxIndex || st.CommitIndex < st.AppliedIndex || st.LastLogIndex < st.CommitIndex || st.Term == 0 {
		t.Errorf("Status() indexes: term %d, applied %d, commit %d, last %d; want term > 0 and %d <= applied <= commit <= last",
			st.Term, st.AppliedIndex, st.CommitIndex, st.LastLogIndex, maxIndex)
	}
	if first, err := n.FirstLogIndex(); err != nil || first != 1 {
		t.Errorf("FirstLogIndex() = %d, %v; want 1 (no snapshot yet)", first, err)
	}
}

func TestSingleNodeRestartKeepsState(t *testing.T) {
	cfg := nodeConfig(t, "n1")
	n := singleNode(t, cfg)
	var evs []*bookdv1.Event
	for i := range 5 {
		evs = append(evs, createEvent(t, n, fmt.Sprintf("event %d", i), 3))
	}
	appliedBefore := n.FSM().AppliedIndex()
	lastBefore := n.Raft().LastIndex()
	if err := n.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := n.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}

	// Same directory, same initial cluster: the node must see its state
	// and not try to bootstrap again.
	cfg.InitialCluster = []raftnode.Peer{{ID: cfg.ID, RaftAddr: cfg.RaftAddr}}
	n2, err := raftnode.Open(cfg)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	t.Cleanup(func() { n2.Close() })
	if got := n2.FSM().AppliedIndex(); got < appliedBefore {
		t.Errorf("reopened FSM applied index %d, below %d before the restart", got, appliedBefore)
	}
	waitReady(t, []*raftnode.Node{n2})
	if got := n2.Raft().LastIndex(); got < lastBefore {
		t.Errorf("reopened Raft log ends at %d, below %d before the restart", got, lastBefore)
	}
	for _, ev := range evs {
		got, err := n2.FSM().Event(ev.GetId())
		if err != nil {
			t.Errorf("event %s after restart: %v", ev.GetId(), err)
			continue
		}
		if got.GetName() != ev.GetName() {
			t.Errorf("event %s after restart is named %q, want %q", ev.GetId(), got.GetName(), ev.GetName())
		}
	}
	ev := createEvent(t, n2, "after restart", 1)
	if idx := indexOf(t, ev.GetId()); idx <= lastBefore {
		t.Errorf("event created after restart at index %d, want above %d", idx, lastBefore)
	}
	if err := n2.ReadBarrier(context.Background()); err != nil {
		t.Errorf("ReadBarrier after restart: %v", err)
	}
	if st, err := n2.Status(); err != nil || len(st.Members) != 1 {
		t.Errorf("Status after restart: %+v, %v; want one member", st, err)
	}
}

// A node started with ClockOffset stamps its commands with its skewed clock.
func TestClockOffsetStampsCommands(t *testing.T) {
	const offset = 3 * time.Hour
	cfg := nodeConfig(t, "n1")
	cfg.ClockOffset = offset
	n := singleNode(t, cfg)

	before := time.Now().Add(offset).UnixNano()
	now := n.Now()
	ev := createEvent(t, n, "skewed", 1)
	after := time.Now().Add(offset).UnixNano()
	if now < before || now > after {
		t.Errorf("Now() = %d, want within [%d, %d] (wall clock + %s)", now, before, after, offset)
	}
	if got := ev.GetCreatedAt().AsTime().UnixNano(); got < before || got > after {
		t.Errorf("event created at %d, want within [%d, %d] (wall clock + %s)", got, before, after, offset)
	}
}

func TestRegisterMemberProposesOnlyChanges(t *testing.T) {
	cfg := nodeConfig(t, "n1")
	n := singleNode(t, cfg)

	last := n.Raft().LastIndex()
	if err := n.RegisterMember("n1", cfg.RPCAddr); err != nil {
		t.Fatalf("RegisterMember with the recorded address: %v", err)
	}
	if got := n.Raft().LastIndex(); got != last {
		t.Errorf("RegisterMember with the recorded address appended to the log (%d -> %d)", last, got)
	}

	moved := freeAddr(t)
	if err := n.RegisterMember("n1", moved); err != nil {
		t.Fatalf("RegisterMember with a new address: %v", err)
	}
	if err := registered(n, "n1", moved); err != nil {
		t.Error(err)
	}
	if got := n.Raft().LastIndex(); got <= last {
		t.Errorf("RegisterMember with a new address did not append to the log (%d)", got)
	}
}

func TestWaitApplied(t *testing.T) {
	n := singleNode(t, nodeConfig(t, "n1"))
	applied := n.FSM().AppliedIndex()
	if err := n.WaitApplied(context.Background(), applied); err != nil {
		t.Errorf("WaitApplied(%d) at applied %d: %v", applied, applied, err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	future := applied + 1000
	err := n.WaitApplied(ctx, future)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitApplied(%d) at applied %d = %v, want context.DeadlineExceeded", future, applied, err)
	}

	// A wait for the next index returns once a proposal is applied.
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitLong)
		defer cancel()
		done <- n.WaitApplied(ctx, applied+1)
	}()
	createEvent(t, n, "wake up", 1)
	if err := <-done; err != nil {
		t.Errorf("WaitApplied(%d) after a proposal: %v", applied+1, err)
	}
}

// Reads that arrive together share Raft barriers instead of each adding one
// to the log.
func TestReadBarrierSharesRounds(t *testing.T) {
	n := singleNode(t, nodeConfig(t, "n1"))
	const reads = 64
	last := n.Raft().LastIndex()
	start := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, reads)
	for range reads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs <- n.ReadBarrier(context.Background())
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("ReadBarrier: %v", err)
		}
	}
	// At most the term's first round appends a barrier; the others share
	// rounds that append nothing (readindex_ext_test.go).
	if added := n.Raft().LastIndex() - last; added > 1 {
		t.Errorf("%d concurrent reads added %d log entries, want at most 1", reads, added)
	}
}

// A caller whose context is already done has given up: Propose should not
// put its command in the log.
func TestProposeHonoursDoneContext(t *testing.T) {
	n := singleNode(t, nodeConfig(t, "n1"))
	expired, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	cancelled, cancel2 := context.WithCancel(context.Background())
	cancel2()
	for name, ctx := range map[string]context.Context{"expired deadline": expired, "cancelled": cancelled} {
		before := n.Raft().LastIndex()
		res, err := n.Propose(ctx, createEventCmd(name, 1))
		if err == nil {
			t.Errorf("Propose with a context that is done (%s) = %v, want an error", name, res.Response)
		}
		if got := n.Raft().LastIndex(); got != before {
			t.Errorf("Propose with a context that is done (%s) appended to the log (%d -> %d)", name, before, got)
		}
	}
}
