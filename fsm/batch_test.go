package fsm_test

import (
	"strings"
	"testing"
	"time"

	"github.com/bookd/bookd/fsm"
	fsmv1 "github.com/bookd/bookd/proto/bookd/fsm/v1"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/hashicorp/raft"
	"google.golang.org/protobuf/proto"
)

// applyBatchEntry applies cmds as one batch entry at the next index.
func (h *harness) applyBatchEntry(cmds ...*fsmv1.Command) (uint64, []*fsm.Result) {
	h.t.Helper()
	data, included, errs := fsm.EncodeBatch(cmds)
	for i, err := range errs {
		if err != nil {
			h.t.Fatalf("EncodeBatch: command %d: %v", i, err)
		}
	}
	if len(included) != len(cmds) {
		h.t.Fatalf("EncodeBatch included %d of %d commands", len(included), len(cmds))
	}
	index := h.next
	h.next++
	out := h.f.ApplyBatch([]*raft.Log{{Index: index, Term: 1, Type: raft.LogCommand, Data: data}})
	res, ok := out[0].([]*fsm.Result)
	if !ok || len(res) != len(cmds) {
		h.t.Fatalf("batch entry answered %T (%v), want %d results", out[0], out[0], len(cmds))
	}
	return index, res
}

// A batch entry applies its commands in order, each with its own result,
// objects numbered by index and position, and one feed sequence.
func TestBatchEntryAppliesCommandsInOrder(t *testing.T) {
	h := newHarness(t)
	ev := h.createEvent(gaEvent(3))
	key := func(r *bookdv1.BookRequest, k string) *bookdv1.BookRequest { r.IdempotencyKey = k; return r }
	index, res := h.applyBatchEntry(
		stampedCommand(t0+1, key(gaBook(ev.Id, 2), "a")),
		stampedCommand(t0+2, key(gaBook(ev.Id, 2), "b")), // only 1 left
		stampedCommand(t0+3, key(gaBook(ev.Id, 1), "c")),
		stampedCommand(t0+4, key(gaBook(ev.Id, 2), "a")), // a's retry in the same entry: replayed
	)
	a := mustOK[*bookdv1.BookResponse](t, res[0]).GetBooking()
	wantErr(t, res[1], fsm.CodeFailedPrecondition, fsm.ReasonSoldOut)
	c := mustOK[*bookdv1.BookResponse](t, res[2]).GetBooking()
	again := mustOK[*bookdv1.BookResponse](t, res[3]).GetBooking()
	if a.GetId() != id("bk", index) || c.GetId() != id("bk", index)+"-2" {
		t.Errorf("booking ids %q and %q, want %s and %s-2", a.GetId(), c.GetId(), id("bk", index), id("bk", index))
	}
	if !proto.Equal(a, again) {
		t.Errorf("retry in the same entry answered %v, want the first answer %v", again, a)
	}
	for _, b := range []*bookdv1.Booking{a, c} {
		if got := h.readBooking(b.GetId()); !proto.Equal(got, b) {
			t.Errorf("stored booking %v, answered %v", got, b)
		}
	}
	checkAvail(t, h.avail(ev.Id), 0, 0, 3, nil)

	changes, _, err := h.f.Changes(index-1, 1<<31, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 2 {
		t.Fatalf("entry wrote %d change records, want 2 (two bookings): %v", len(changes), changes)
	}
	for seq, ch := range changes {
		if ch.GetIndex() != index || ch.GetSeq() != uint32(seq) {
			t.Errorf("change %d at (%d,%d), want (%d,%d)", seq, ch.GetIndex(), ch.GetSeq(), index, seq)
		}
	}
	if changes[1].GetBookingId() != c.GetId() {
		t.Errorf("second change names booking %q, want %q", changes[1].GetBookingId(), c.GetId())
	}
}

// Replaying a batch entry the store already holds changes nothing, and the
// objects a batch created are found after a restart.
func TestBatchEntrySurvivesRestart(t *testing.T) {
	h := newHarness(t)
	ev := h.createEvent(gaEvent(10))
	_, res := h.applyBatchEntry(stampedCommand(t0+1, gaHold(ev.Id, 1, time.Minute)), stampedCommand(t0+2, gaHold(ev.Id, 2, time.Minute)))
	second := mustOK[*bookdv1.HoldResponse](t, res[1]).GetHold()
	h.reopen()
	if got := h.readHold(second.GetId(), 0); got.GetQuantity() != 2 {
		t.Fatalf("after restart hold %s has quantity %d, want 2", second.GetId(), got.GetQuantity())
	}
	checkAvail(t, h.avail(ev.Id), 7, 3, 0, nil)
}

// Identifiers have one canonical form: position 0 is written without a
// suffix, and malformed ones are unknown rather than aliases.
func TestBatchIdentifiers(t *testing.T) {
	h := newHarness(t)
	h.createEvent(gaEvent(10))
	for _, bad := range []string{"bk_0", "bk_01", "bk_5-0", "bk_5-01", "bk_5-1024", "bk_5-", "bk_-1", "bk_5-1-2", "bk_18014398509481984"} {
		if _, err := h.f.Booking(bad); err == nil || !strings.Contains(err.Error(), "not found") {
			t.Errorf("Booking(%q) = %v, want not found", bad, err)
		}
	}
}

func FuzzDecodeEntry(f *testing.F) {
	one, _ := fsm.EncodeCommand(stampedCommand(t0, gaEvent(1)))
	batch, _, _ := fsm.EncodeBatch([]*fsmv1.Command{stampedCommand(t0, gaEvent(1)), stampedCommand(t0, gaHold("ev_1", 1, time.Second))})
	f.Add(one)
	f.Add(batch)
	f.Add([]byte{2})
	f.Add([]byte{2, 10, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		cmds, _, err := fsm.DecodeEntry(data) // must not panic
		if err != nil && cmds != nil {
			t.Fatalf("DecodeEntry(%x) returned commands with error %v", data, err)
		}
		for i, c := range cmds {
			if c.GetOp() == nil {
				t.Fatalf("DecodeEntry(%x) accepted command %d with no operation", data, i)
			}
		}
		if err == nil && (len(cmds) == 0 || len(cmds) > fsm.MaxCommandsPerEntry) {
			t.Fatalf("DecodeEntry(%x) accepted %d commands", data, len(cmds))
		}
	})
}
