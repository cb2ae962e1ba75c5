package client_test

import (
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/bookd/bookd/client"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
)

func TestLeaderHeaderRedirectsNextCall(t *testing.T) {
	follower, leader := newFakeNode(t, "follower"), newFakeNode(t, "leader")
	follower.setLeader(leader.Addr)
	leader.setLeader(leader.Addr)
	// The leader is not among the endpoints: the Client learns it.
	c := newClient(t, []string{follower.Addr})

	if _, err := c.Hold(t.Context(), &bookdv1.HoldRequest{EventId: "e1", Quantity: 1}); err != nil {
		t.Fatal(err)
	}
	if got := c.Leader(); got != leader.Addr {
		t.Fatalf("Leader() = %q, want %q", got, leader.Addr)
	}
	if _, err := c.Confirm(t.Context(), &bookdv1.ConfirmRequest{HoldId: "h1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetEvent(t.Context(), "e1"); err != nil {
		t.Fatal(err)
	}
	if got := follower.calls(); got != 1 {
		t.Errorf("follower got %d requests, want only the first", got)
	}
	if got := leader.calls(); got != 2 {
		t.Errorf("leader got %d requests, want the 2 after the first", got)
	}
}

func TestLeaderLearnedFromErrorResponse(t *testing.T) {
	follower, leader, other := newFakeNode(t, "follower"), newFakeNode(t, "leader"), newFakeNode(t, "other")
	// The follower cannot reach the leader to forward, but knows who it is.
	follower.setLeader(leader.Addr)
	follower.failAlways(unavailable())
	c := newClient(t, []string{follower.Addr, other.Addr})

	if _, err := c.Book(t.Context(), &bookdv1.BookRequest{EventId: "e1", Quantity: 1}); err != nil {
		t.Fatal(err)
	}
	if got, want := []int{follower.calls(), leader.calls(), other.calls()}, []int{1, 1, 0}; !equalInts(got, want) {
		t.Errorf("requests to follower, leader, other = %v, want %v", got, want)
	}
}

func TestUnavailableLeaderIsForgotten(t *testing.T) {
	a, leader := newFakeNode(t, "a"), newFakeNode(t, "leader")
	a.setLeader(leader.Addr)
	c := newClient(t, []string{a.Addr})
	if _, err := c.GetEvent(t.Context(), "e1"); err != nil {
		t.Fatal(err)
	}
	if got := c.Leader(); got != leader.Addr {
		t.Fatalf("Leader() = %q, want %q", got, leader.Addr)
	}

	// The leader loses its quorum; a no longer knows a leader either.
	a.setLeader("")
	leader.failAlways(unavailable())
	ev, err := c.GetEvent(t.Context(), "e2")
	if err != nil {
		t.Fatal(err)
	}
	if ev.GetName() != "a" {
		t.Errorf("GetEvent answered by %q, want a", ev.GetName())
	}
	if got := c.Leader(); got != "" {
		t.Errorf("Leader() after the leader failed = %q, want \"\"", got)
	}
	if got := leader.calls(); got != 1 {
		t.Errorf("failed leader got %d requests, want 1", got)
	}
}

func TestUnreachableLeaderIsForgotten(t *testing.T) {
	a := newFakeNode(t, "a")
	gone := deadAddr(t)
	a.setLeader(gone)
	c := newClient(t, []string{a.Addr})
	if _, err := c.GetEvent(t.Context(), "e1"); err != nil {
		t.Fatal(err)
	}
	a.setLeader("")
	if _, err := c.GetEvent(t.Context(), "e2"); err != nil {
		t.Fatalf("GetEvent with the leader unreachable: %v", err)
	}
	if got := c.Leader(); got != "" {
		t.Errorf("Leader() = %q, want \"\" once %s is unreachable", got, gone)
	}
	if got := a.calls(); got != 2 {
		t.Errorf("a got %d requests, want 2", got)
	}
}

func TestMalformedLeaderHeaderIsIgnored(t *testing.T) {
	a := newFakeNode(t, "a")
	a.setLeader("not an address")
	c := newClient(t, []string{a.Addr})
	if _, err := c.GetEvent(t.Context(), "e1"); err != nil {
		t.Fatal(err)
	}
	if got := c.Leader(); got != "" {
		t.Errorf("Leader() = %q, want \"\"", got)
	}
}

func TestStaleReadsStayOnTheirNode(t *testing.T) {
	a, leader := newFakeNode(t, "a"), newFakeNode(t, "leader")
	a.setLeader(leader.Addr)
	c := newClient(t, []string{a.Addr})
	if _, err := c.GetEvent(t.Context(), "e1"); err != nil {
		t.Fatal(err)
	}

	if _, err := c.GetHold(t.Context(), "h1", client.Stale(2*time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetBooking(t.Context(), "b1", client.Stale(0)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListBookings(t.Context(), &bookdv1.ListBookingsRequest{
		EventId: "e1",
		Read:    &bookdv1.ReadOptions{Consistency: bookdv1.Consistency_CONSISTENCY_STALE},
	}); err != nil {
		t.Fatal(err)
	}
	if got := leader.calls(); got != 0 {
		t.Errorf("leader got %d stale reads, want 0", got)
	}
	reqs := a.requests()
	if len(reqs) != 4 {
		t.Fatalf("a got %d requests, want 4", len(reqs))
	}
	want := []*bookdv1.ReadOptions{
		nil,
		{Consistency: bookdv1.Consistency_CONSISTENCY_STALE, MaxStaleness: durationpb.New(2 * time.Second)},
		{Consistency: bookdv1.Consistency_CONSISTENCY_STALE},
		{Consistency: bookdv1.Consistency_CONSISTENCY_STALE},
	}
	for i, r := range reqs {
		got := r.(interface{ GetRead() *bookdv1.ReadOptions }).GetRead()
		if !proto.Equal(got, want[i]) {
			t.Errorf("request %d read options = %v, want %v", i, got, want[i])
		}
	}
}

func TestConcurrentCallsWhileLeaderMoves(t *testing.T) {
	nodes := []*fakeNode{newFakeNode(t, "n1"), newFakeNode(t, "n2"), newFakeNode(t, "n3")}
	for i, n := range nodes {
		n.setLeader(nodes[(i+1)%len(nodes)].Addr)
	}
	nodes[0].script(unavailable(), unavailable(), unavailable())
	c := newClient(t, []string{nodes[0].Addr, nodes[1].Addr, nodes[2].Addr})

	var wg sync.WaitGroup
	errs := make(chan error, 16*10*2)
	for range 16 {
		wg.Go(func() {
			for range 10 {
				_, err := c.Hold(t.Context(), &bookdv1.HoldRequest{EventId: "e1", Quantity: 1})
				errs <- err
				_, err = c.Availability(t.Context(), "e1", client.Stale(0))
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("call failed: %v", err)
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
