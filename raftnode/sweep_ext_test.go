package raftnode_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/bookd/bookd/fsm"
	fsmv1 "github.com/bookd/bookd/proto/bookd/fsm/v1"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"google.golang.org/protobuf/types/known/durationpb"
)

// The leader expires a due hold on its own: no other command is proposed
// after the hold, yet the stored hold ends up expired and its tickets free.
func TestLeaderSweepsDueHolds(t *testing.T) {
	cfg := nodeConfig(t, "n1")
	cfg.SweepInterval = 50 * time.Millisecond
	n := singleNode(t, cfg) // waits for the leader's own registration too

	ev := createEvent(t, n, "ga", 5)
	res, err := n.Propose(context.Background(), &fsm.Command{Op: &fsmv1.Command_Hold{Hold: &bookdv1.HoldRequest{
		EventId: ev.GetId(), CustomerId: "c1", Quantity: 2, Ttl: durationpb.New(time.Second),
	}}})
	if err != nil {
		t.Fatalf("propose hold: %v", err)
	}
	if res.Err != nil {
		t.Fatalf("hold: %v", res.Err)
	}
	hold := res.Response.(*bookdv1.HoldResponse).GetHold()
	created := hold.GetCreatedAt().AsTime().UnixNano()
	if got, want := hold.GetExpiresAt().AsTime().UnixNano()-created, time.Second.Nanoseconds(); got != want {
		t.Fatalf("hold expires %dns after creation, want %dns", got, want)
	}
	afterHold := n.Raft().LastIndex()

	// Read as of the creation time, a hold is reported expired only if the
	// store says so: the reader's clock cannot expire it.
	stored := func() (*bookdv1.Hold, error) { return n.FSM().Hold(hold.GetId(), created) }
	if h, err := stored(); err != nil || h.GetStatus() != bookdv1.HoldStatus_HOLD_STATUS_ACTIVE {
		t.Fatalf("hold right after creation: %v, %v; want active", h, err)
	}
	waitFor(t, 10*time.Second, func() error {
		h, err := stored()
		if err != nil {
			return err
		}
		if h.GetStatus() != bookdv1.HoldStatus_HOLD_STATUS_EXPIRED {
			return fmt.Errorf("stored hold %s is %v", h.GetId(), h.GetStatus())
		}
		return nil
	})
	if n.Raft().LastIndex() <= afterHold {
		t.Errorf("the hold expired without a log entry after it")
	}
	if now := n.Now(); now < created+time.Second.Nanoseconds() {
		t.Errorf("hold expired at node time %d, before its expiry %d", now, created+time.Second.Nanoseconds())
	}
	av, err := n.FSM().Availability(ev.GetId(), created)
	if err != nil {
		t.Fatalf("availability: %v", err)
	}
	if av.GetHeldQuantity() != 0 || av.GetAvailableQuantity() != 5 {
		t.Errorf("after expiry: held %d, available %d; want 0 held, 5 available", av.GetHeldQuantity(), av.GetAvailableQuantity())
	}
	if n.FSM().HoldsDue(n.Now()) {
		t.Errorf("HoldsDue still true after the only hold expired: the sweeper would keep proposing")
	}
}
