package raftnode_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/bookd/bookd/raftnode"
)

// callWithin runs f and fails the test if it has not returned within d.
func callWithin(t *testing.T, d time.Duration, what string, f func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		t.Fatalf("%s still blocked after %s", what, d)
		return nil
	}
}

func TestLeaderStopped(t *testing.T) {
	nodes, _ := startCluster(t, 3)
	old := waitReady(t, nodes)
	ev := createEvent(t, old, "before failover", 10)
	if err := old.Close(); err != nil {
		t.Fatalf("close leader %s: %v", old.ID(), err)
	}

	ctx := context.Background()
	err := callWithin(t, 10*time.Second, "Propose on a closed node", func() error {
		_, err := old.Propose(ctx, createEventCmd("after close", 1))
		return err
	})
	if err == nil {
		t.Errorf("Propose on the closed former leader succeeded")
	}
	err = callWithin(t, 10*time.Second, "ReadBarrier on a closed node", func() error { return old.ReadBarrier(ctx) })
	if err == nil {
		t.Errorf("ReadBarrier on the closed former leader succeeded")
	}
	if old.IsLeader() {
		t.Errorf("closed node %s still reports itself leader", old.ID())
	}

	rest := others(nodes, old)
	leader := waitReady(t, rest)
	if leader == old {
		t.Fatal("the closed node leads")
	}
	waitApplied(t, leader, indexOf(t, ev.GetId()))
	if _, err := leader.FSM().Event(ev.GetId()); err != nil {
		t.Errorf("new leader %s lost event %s: %v", leader.ID(), ev.GetId(), err)
	}
	createEvent(t, leader, "after failover", 1)
	if err := leader.ReadBarrier(ctx); err != nil {
		t.Errorf("ReadBarrier on the new leader: %v", err)
	}
}

// A leader that lost its quorum answers a proposal with an error in bounded
// time: ErrUnavailable if it was still leading when it proposed, else
// ErrNotLeader.
func TestLeaderWithoutQuorum(t *testing.T) {
	nodes, _ := startCluster(t, 3)
	leader := waitReady(t, nodes)
	for _, f := range others(nodes, leader) {
		if err := f.Close(); err != nil {
			t.Fatalf("close %s: %v", f.ID(), err)
		}
	}
	ctx := context.Background()
	err := callWithin(t, 15*time.Second, "Propose without a quorum", func() error {
		_, err := leader.Propose(ctx, createEventCmd("no quorum", 1))
		return err
	})
	if !errors.Is(err, raftnode.ErrUnavailable) && !errors.Is(err, raftnode.ErrNotLeader) {
		t.Errorf("Propose without a quorum = %v, want ErrUnavailable or ErrNotLeader", err)
	}
	err = callWithin(t, 15*time.Second, "ReadBarrier without a quorum", func() error { return leader.ReadBarrier(ctx) })
	if !errors.Is(err, raftnode.ErrUnavailable) && !errors.Is(err, raftnode.ErrNotLeader) {
		t.Errorf("ReadBarrier without a quorum = %v, want ErrUnavailable or ErrNotLeader", err)
	}
	waitFor(t, waitLong, func() error {
		if leader.IsLeader() {
			return errors.New("still leading without a quorum")
		}
		return nil
	})
}
