package fsm_test

import (
	"maps"
	"testing"

	"github.com/bookd/bookd/fsm"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
)

// A retry answered from its idempotency record is refused with the same
// metadata as the first attempt: which seat, which event.
func TestReplayedRefusalKeepsMetadata(t *testing.T) {
	h := newHarness(t)
	ev := h.createEvent(&bookdv1.CreateEventRequest{Name: "seats", Seats: []string{"A1", "A2"}})
	h.book(&bookdv1.BookRequest{EventId: ev.GetId(), CustomerId: "ann", Seats: []string{"A1"}})
	req := &bookdv1.HoldRequest{EventId: ev.GetId(), CustomerId: "bob", Seats: []string{"A1"}, IdempotencyKey: "k"}
	first, again := h.do(req), h.do(req)
	wantErr(t, first, fsm.CodeFailedPrecondition, fsm.ReasonSeatTaken)
	wantErr(t, again, fsm.CodeFailedPrecondition, fsm.ReasonSeatTaken)
	if first.Err.Metadata["seat"] != "A1" || !maps.Equal(first.Err.Metadata, again.Err.Metadata) {
		t.Errorf("metadata %v first, %v replayed; want seat A1 both times", first.Err.Metadata, again.Err.Metadata)
	}
}
