package rpc_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"connectrpc.com/connect"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/rpc/clustertest"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
)

// watch reads changes from addr, after cursor, until it has n of them or
// the context ends.
func watch(ctx context.Context, addr, cursor string, n int) ([]*bookdv1.Change, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := bookingClient(addr).WatchChanges(ctx, &bookdv1.WatchChangesRequest{Cursor: cursor})
	if err != nil {
		return nil, err
	}
	defer stream.Close()
	var got []*bookdv1.Change
	for len(got) < n && stream.Receive() {
		got = append(got, stream.Msg().GetChanges()...)
	}
	if len(got) >= n {
		return got, nil
	}
	return got, fmt.Errorf("stream from %s ended after %d of %d changes: %w", addr, len(got), n, stream.Err())
}

// kinds lists the kinds of changes.
func kinds(changes []*bookdv1.Change) []string {
	var out []string
	for _, c := range changes {
		out = append(out, c.GetKind())
	}
	return out
}

// feedTraffic makes one change of most kinds: an event, holds that are
// confirmed, released and left to expire, a waitlist offer, a cancellation.
// It returns how many changes it made.
func feedTraffic(t *testing.T, addr string) int {
	t.Helper()
	ctx := context.Background()
	cl := bookingClient(addr)
	ev := createEvent(t, addr, 2, nil)
	hold := func(customer string, ttl time.Duration) *bookdv1.Hold {
		resp, err := cl.Hold(ctx, &bookdv1.HoldRequest{EventId: ev.Id, CustomerId: customer, Quantity: 1, Ttl: durationpb.New(ttl)})
		if err != nil {
			t.Fatalf("hold for %s: %v", customer, err)
		}
		return resp.Hold
	}
	confirmed := hold("ann", time.Minute)
	booking, err := cl.Confirm(ctx, &bookdv1.ConfirmRequest{HoldId: confirmed.Id, PaymentRef: "p"})
	if err != nil {
		t.Fatalf("confirm: %v", err)
	}
	expiring := hold("bob", time.Second) // sold out now
	if _, err := cl.JoinWaitlist(ctx, &bookdv1.JoinWaitlistRequest{EventId: ev.Id, CustomerId: "cat", Quantity: 1}); err != nil {
		t.Fatalf("join waitlist: %v", err)
	}
	_ = expiring
	// bob's hold expires within a second; the sweeper's ExpireHolds (or any
	// command) expires it and offers the ticket to cat.
	deadline := time.Now().Add(20 * time.Second)
	for {
		av, err := cl.GetAvailability(ctx, &bookdv1.GetAvailabilityRequest{EventId: ev.Id})
		if err != nil {
			t.Fatalf("availability: %v", err)
		}
		if av.GetWaitlistLength() == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the waitlist was not served after bob's hold expired")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := cl.CancelBooking(ctx, &bookdv1.CancelBookingRequest{BookingId: booking.Booking.Id}); err != nil {
		t.Fatalf("cancel booking: %v", err)
	}
	released := hold("dan", time.Minute)
	if _, err := cl.ReleaseHold(ctx, &bookdv1.ReleaseHoldRequest{HoldId: released.Id}); err != nil {
		t.Fatalf("release: %v", err)
	}
	// event_created, hold_created, booking_confirmed, hold_created,
	// waitlist_joined, hold_expired, waitlist_offer, booking_cancelled,
	// hold_created, hold_released
	return 10
}

// The feed read from a follower is the leader's, change for change, and a
// watcher that resumes from a cursor on another node misses nothing and
// repeats nothing.
func TestWatchChangesSameOnEveryNode(t *testing.T) {
	c := clustertest.Start(t, 3, clustertest.Options{})
	leader := c.WaitReady()
	n := feedTraffic(t, leader.RPCAddr)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	want, err := watch(ctx, leader.RPCAddr, "", n)
	if err != nil {
		t.Fatal(err)
	}
	wantKinds := []string{"event_created", "hold_created", "booking_confirmed", "hold_created", "waitlist_joined",
		"hold_expired", "waitlist_offer", "booking_cancelled", "hold_created", "hold_released"}
	if got := kinds(want); !slices.Equal(got, wantKinds) {
		t.Errorf("leader's feed has kinds %v, want %v", got, wantKinds)
	}
	for _, nd := range c.Nodes {
		got, err := watch(ctx, nd.RPCAddr, "", n)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.EqualFunc(got, want, func(a, b *bookdv1.Change) bool { return proto.Equal(a, b) }) {
			t.Errorf("feed from %s differs from the leader's:\n got %v\nwant %v", nd.ID, got, want)
		}
	}

	// Resume: the first 4 changes from one follower, the rest from another.
	var followers []string
	for _, nd := range c.Nodes {
		if nd != leader {
			followers = append(followers, nd.RPCAddr)
		}
	}
	first, err := watch(ctx, followers[0], "", 4)
	if err != nil {
		t.Fatal(err)
	}
	first = first[:4]
	rest, err := watch(ctx, followers[1], first[3].GetCursor(), n-4)
	if err != nil {
		t.Fatal(err)
	}
	if resumed := append(first, rest...); !slices.EqualFunc(resumed, want, func(a, b *bookdv1.Change) bool { return proto.Equal(a, b) }) {
		t.Errorf("feed resumed at %s: got %v, want %v", first[3].GetCursor(), kinds(resumed), kinds(want))
	}
}

// A watcher started from now sees only later changes, as they commit.
func TestWatchChangesFromNow(t *testing.T) {
	c := clustertest.Start(t, 3, clustertest.Options{})
	leader := c.WaitReady()
	newEvent(t, leader.RPCAddr, "earlier")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	follower := c.Nodes[0]
	if follower == leader {
		follower = c.Nodes[1]
	}
	c.WaitConverged()
	stream, err := bookingClient(follower.RPCAddr).WatchChanges(ctx, &bookdv1.WatchChangesRequest{FromNow: true})
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	got := make(chan *bookdv1.Change, 10)
	go func() {
		for stream.Receive() {
			for _, ch := range stream.Msg().GetChanges() {
				got <- ch
			}
		}
		close(got)
	}()
	ev := newEvent(t, leader.RPCAddr, "later")
	select {
	case ch := <-got:
		if ch.GetKind() != "event_created" || ch.GetEventId() != ev.Id {
			t.Errorf("first change from now is %v, want event_created of %s", ch, ev.Id)
		}
	case <-ctx.Done():
		t.Fatal("no change arrived")
	}
}

// A cursor older than the retained feed is refused with OUT_OF_RANGE; bad
// cursors with INVALID_ARGUMENT.
func TestWatchChangesCursorOutOfRange(t *testing.T) {
	c := clustertest.Start(t, 3, clustertest.Options{FeedRetention: 500 * time.Millisecond, PurgeInterval: 100 * time.Millisecond})
	leader := c.WaitReady()
	newEvent(t, leader.RPCAddr, "first")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	old, err := watch(ctx, leader.RPCAddr, "", 1)
	if err != nil {
		t.Fatal(err)
	}
	if old[0].GetKind() != "event_created" {
		t.Fatalf("first change %v, want event_created", old[0])
	}
	// Later changes, then wait for the leader to purge the first ones.
	time.Sleep(time.Second)
	newEvent(t, leader.RPCAddr, "second")
	for _, nd := range c.Nodes {
		c.Eventually(20*time.Second, func() error {
			_, err := watch(ctx, nd.RPCAddr, "1-0", 1)
			if connect.CodeOf(err) != connect.CodeOutOfRange {
				return fmt.Errorf("%s: watch from 1-0: %v, want OUT_OF_RANGE", nd.ID, err)
			}
			return nil
		})
	}
	stream, err := bookingClient(leader.RPCAddr).WatchChanges(ctx, &bookdv1.WatchChangesRequest{EventId: "ev_99999"})
	if err == nil {
		stream.Receive()
		err = stream.Err()
		stream.Close()
	}
	if connect.CodeOf(err) != connect.CodeNotFound {
		t.Errorf("watch of a missing event: %v, want NOT_FOUND", err)
	}
	for _, bad := range []string{"x", "0-0", "5", "-1-2", "1-99999999999"} {
		_, err := watch(ctx, leader.RPCAddr, bad, 1)
		var ce *connect.Error
		if !errors.As(err, &ce) || ce.Code() != connect.CodeInvalidArgument {
			t.Errorf("cursor %q: %v, want INVALID_ARGUMENT", bad, err)
		}
	}
}

// newEvent creates a GA event named name.
func newEvent(t *testing.T, addr, name string) *bookdv1.Event {
	t.Helper()
	resp, err := retry(context.Background(), func(ctx context.Context) (*bookdv1.CreateEventResponse, error) {
		return bookingClient(addr).CreateEvent(ctx, &bookdv1.CreateEventRequest{Name: name, Capacity: 5, IdempotencyKey: t.Name() + "/" + name})
	})
	if err != nil {
		t.Fatalf("create event %s: %v", name, err)
	}
	return resp.Event
}
