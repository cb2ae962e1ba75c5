package fsm_test

import (
	"slices"
	"testing"
	"time"

	"github.com/bookd/bookd/fsm"
	fsmv1 "github.com/bookd/bookd/proto/bookd/fsm/v1"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/hashicorp/raft"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
)

// feedScenario applies one of every mutation, one second apart, with a
// refused command after each, and returns the change kinds it must leave.
func feedScenario(h *harness) []string {
	h.t.Helper()
	step := 0
	tick := func() {
		step++
		h.at(time.Duration(step) * time.Second)
		// A refused command changes nothing and reports nothing.
		wantErr(h.t, h.do(&bookdv1.ConfirmRequest{HoldId: "hd_999999"}), fsm.CodeNotFound, "")
	}
	p := h.createProduct("Tour")
	tick()
	req := &bookdv1.CreateEventRequest{Name: "Day 1", Capacity: 2, Seats: []string{"A1", "A2"}, ProductId: p.GetId(),
		WaitlistOfferTtl: durationpb.New(time.Minute)}
	ev := h.createEvent(req).GetId()
	tick()
	seats := h.hold(seatHold(ev, time.Minute, "A1"))
	tick()
	h.extend(seats.GetId(), 2*time.Minute)
	tick()
	b1 := h.confirm(seats.GetId())
	tick()
	ga := h.hold(gaHold(ev, 2, time.Minute))
	tick()
	wl := h.join(ev, "bob", 1)
	tick()
	h.release(ga.GetId()) // bob is offered one ticket
	tick()
	b2 := h.book(gaBook(ev, 1))
	tick()
	h.cancel(b2.GetId())
	tick()
	wl2 := h.join(ev, "carol", 2)
	tick()
	mustOK[*bookdv1.LeaveWaitlistResponse](h.t, h.do(&bookdv1.LeaveWaitlistRequest{EntryId: wl2.GetId()}))
	tick()
	h.at(time.Hour) // bob's offer expires
	h.do(&fsmv1.ExpireHolds{})
	tick()
	last := h.hold(seatHold(ev, time.Minute, "A2"))
	tick()
	mustOK[*bookdv1.CloseEventResponse](h.t, h.do(&bookdv1.CloseEventRequest{EventId: ev}))
	tick()
	mustOK[*bookdv1.CancelEventResponse](h.t, h.do(&bookdv1.CancelEventRequest{EventId: ev}))
	offer := offerID(wl)
	return []string{
		"product_created:",
		"event_created:" + ev,
		"hold_created:" + seats.GetId(),
		"hold_extended:" + seats.GetId(),
		"booking_confirmed:" + b1.GetId(),
		"hold_created:" + ga.GetId(),
		"waitlist_joined:" + wl.GetId(),
		"hold_released:" + ga.GetId(),
		"waitlist_offer:" + offer,
		"booking_confirmed:" + b2.GetId(),
		"booking_cancelled:" + b2.GetId(),
		"waitlist_joined:" + wl2.GetId(),
		"waitlist_left:" + wl2.GetId(),
		"hold_expired:" + offer,
		"hold_created:" + last.GetId(),
		"event_closed:" + ev,
		"event_cancelled:" + ev,
		"hold_released:" + last.GetId(),
	}
}

// Every mutation reports its changes, in commit order, each stamped with
// its command's time; refused commands report nothing.
func TestFeedKinds(t *testing.T) {
	h := newHarness(t)
	want := feedScenario(h)
	changes := allChanges(t, h.f)
	wantStrings(t, "changes", kinds(changes), want)
	for i, c := range changes {
		if i > 0 && !feedBefore(changes[i-1], c) {
			t.Errorf("change %d at %d-%d does not follow %d-%d", i, c.GetIndex(), c.GetSeq(), changes[i-1].GetIndex(), changes[i-1].GetSeq())
		}
		if i > 0 && c.GetTimeUnixNanos() < changes[i-1].GetTimeUnixNanos() {
			t.Errorf("change %d is stamped before the one before it", i)
		}
		if c.GetKind() == "product_created" {
			if c.GetProductId() == "" {
				t.Errorf("change %d (product_created) names no product", i)
			}
			continue
		}
		if c.GetEventId() == "" || (c.GetKind() != "event_created" && c.GetKind() != "event_closed" &&
			c.GetKind() != "event_cancelled" && c.GetCustomerId() == "") {
			t.Errorf("change %d (%s) lacks its event or customer: %v", i, c.GetKind(), c)
		}
	}
	// Fields of a few changes in full.
	byKind := func(k string) *fsm.Change {
		i := slices.IndexFunc(changes, func(c *fsm.Change) bool { return c.GetKind() == k })
		return changes[i]
	}
	created := byKind("event_created")
	if created.GetProductId() == "" || created.GetQuantity() != 2 || created.GetTimeUnixNanos() != t0+1*sec {
		t.Errorf("event_created = %v, want product, capacity 2, at +1s", created)
	}
	hold := byKind("hold_created")
	if !slices.Equal(hold.GetSeats(), []string{"A1"}) || hold.GetQuantity() != 1 || hold.GetCustomerId() != "alice" || hold.GetTimeUnixNanos() != t0+2*sec {
		t.Errorf("hold_created = %v, want alice's seat A1 at +2s", hold)
	}
	offer := byKind("waitlist_offer")
	if offer.GetWaitlistEntryId() == "" || offer.GetCustomerId() != "bob" || offer.GetQuantity() != 1 {
		t.Errorf("waitlist_offer = %v, want bob's offer of 1 for his entry", offer)
	}
	cancelled := byKind("event_cancelled")
	if cancelled.GetQuantity() != 1 {
		t.Errorf("event_cancelled reports %d tickets to refund, want 1 (seat A1)", cancelled.GetQuantity())
	}
}

func feedBefore(a, b *fsm.Change) bool {
	return a.GetIndex() < b.GetIndex() || a.GetIndex() == b.GetIndex() && a.GetSeq() < b.GetSeq()
}

// Reading after any change gives exactly the changes that follow it, and
// paging with any page size gives every change once, in order.
func TestFeedResume(t *testing.T) {
	h := newHarness(t)
	feedScenario(h)
	// A batch of several commands numbers its changes in one sequence.
	ev := h.createEvent(gaEvent(10)).GetId()
	batchEntry(h, gaHold(ev, 1, time.Minute), gaBook(ev, 1), gaHold(ev, 100, time.Minute), gaHold(ev, 2, time.Minute))
	all := allChanges(t, h.f)
	last := all[len(all)-3:]
	if last[0].GetIndex() != last[2].GetIndex() || last[0].GetSeq() != 0 || last[1].GetSeq() != 1 || last[2].GetSeq() != 2 {
		t.Errorf("changes of one batch at %d-%d, %d-%d, %d-%d; want one index, seq 0 1 2",
			last[0].GetIndex(), last[0].GetSeq(), last[1].GetIndex(), last[1].GetSeq(), last[2].GetIndex(), last[2].GetSeq())
	}
	for i, c := range all {
		got := changesAfter(t, h.f, c)
		if len(got) != len(all)-i-1 || (len(got) > 0 && !proto.Equal(got[0], all[i+1])) {
			t.Fatalf("after change %d (%d-%d): %d changes, want %d", i, c.GetIndex(), c.GetSeq(), len(got), len(all)-i-1)
		}
	}
	for _, limit := range []int{1, 2, 3, 7, len(all), len(all) + 1} {
		var got []*fsm.Change
		var afterIndex uint64
		var afterSeq uint32
		for pages := 0; ; pages++ {
			if pages > len(all)+1 {
				t.Fatalf("limit %d: paging does not end", limit)
			}
			page, more, err := h.f.Changes(afterIndex, afterSeq, limit)
			if err != nil {
				t.Fatalf("Changes(%d, %d, %d): %v", afterIndex, afterSeq, limit, err)
			}
			if len(page) > limit || (more && len(page) != limit) {
				t.Fatalf("Changes(limit %d) gave %d changes, more %v", limit, len(page), more)
			}
			got = append(got, page...)
			if !more {
				break
			}
			afterIndex, afterSeq = page[len(page)-1].GetIndex(), page[len(page)-1].GetSeq()
		}
		if len(got) != len(all) {
			t.Fatalf("limit %d: paged %d changes, want %d", limit, len(got), len(all))
		}
		for i := range all {
			if !proto.Equal(got[i], all[i]) {
				t.Errorf("limit %d: change %d is %v, want %v", limit, i, got[i], all[i])
			}
		}
	}
	// A cursor past the end gives nothing; so does one in the middle of an
	// entry after its last change.
	end := all[len(all)-1]
	if got, more, err := h.f.Changes(end.GetIndex()+5, 0, 10); err != nil || more || len(got) != 0 {
		t.Errorf("Changes past the end = %d, %v, %v", len(got), more, err)
	}
	if got, _, err := h.f.Changes(end.GetIndex(), end.GetSeq()+1, 10); err != nil || len(got) != 0 {
		t.Errorf("Changes after the last seq = %d, %v", len(got), err)
	}
	// The feed survives a restart and a snapshot.
	h.reopen()
	if got := allChanges(t, h.f); len(got) != len(all) {
		t.Errorf("after reopen %d changes, want %d", len(got), len(all))
	}
	r := newHarness(t)
	if err := restore(t, r.f, snapshotOf(t, h.f)); err != nil {
		t.Fatal(err)
	}
	if got := allChanges(t, r.f); len(got) != len(all) || !proto.Equal(got[len(got)-1], end) {
		t.Errorf("after restore %d changes, want %d", len(got), len(all))
	}
}

// batchEntry applies requests as one log entry of several commands (EncodeBatch).
func batchEntry(h *harness, reqs ...proto.Message) []*fsm.Result {
	h.t.Helper()
	cmds := make([]*fsm.Command, len(reqs))
	for i, r := range reqs {
		cmds[i] = command(r)
		cmds[i].StampUnixNanos = h.now
	}
	data, included, _ := fsm.EncodeBatch(cmds)
	if len(included) != len(cmds) {
		h.t.Fatalf("EncodeBatch left out commands: %v", included)
	}
	out := h.f.ApplyBatch([]*raft.Log{{Index: h.next, Term: 1, Type: raft.LogCommand, Data: data}})
	h.next++
	res, ok := out[0].([]*fsm.Result)
	if !ok || len(res) != len(reqs) {
		h.t.Fatalf("batch entry answered %T %v", out[0], out[0])
	}
	return res
}
