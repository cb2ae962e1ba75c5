package fsm_test

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/bookd/bookd/fsm"
	fsmv1 "github.com/bookd/bookd/proto/bookd/fsm/v1"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func TestCreateEvent(t *testing.T) {
	starts := &timestamppb.Timestamp{Seconds: 1_800_000_000}
	tests := []struct {
		name          string
		req           *bookdv1.CreateEventRequest
		wantAvailable int64
		wantFree      []string // sorted bytewise
	}{
		{
			name:          "GA",
			req:           &bookdv1.CreateEventRequest{Name: "Concert", Capacity: 100, StartsAt: starts},
			wantAvailable: 100,
		},
		{
			name:     "seats",
			req:      &bookdv1.CreateEventRequest{Name: "Theatre", Seats: []string{"B2", "A10", "A2", "A1"}},
			wantFree: []string{"A1", "A10", "A2", "B2"},
		},
		{
			name:          "GA and seats",
			req:           &bookdv1.CreateEventRequest{Name: "Both", Capacity: 7, Seats: []string{"Box 1", "Box 2"}},
			wantAvailable: 7,
			wantFree:      []string{"Box 1", "Box 2"},
		},
		{
			name:          "limits",
			req:           &bookdv1.CreateEventRequest{Name: strings.Repeat("n", fsm.MaxNameLen), Capacity: fsm.MaxCapacity, Seats: []string{strings.Repeat("s", fsm.MaxSeatLabelLen)}},
			wantAvailable: fsm.MaxCapacity,
			wantFree:      []string{strings.Repeat("s", fsm.MaxSeatLabelLen)},
		},
		{
			name:          "unicode name",
			req:           &bookdv1.CreateEventRequest{Name: "Café ♫ Zürich", Capacity: 1},
			wantAvailable: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.do(&bookdv1.CreateEventRequest{Name: "first", Capacity: 1}) // so the event is not at index 1
			index := h.next
			ev := h.createEvent(tt.req)

			want := &bookdv1.Event{
				Id:        id("ev", index),
				Name:      tt.req.GetName(),
				StartsAt:  tt.req.GetStartsAt(),
				Capacity:  tt.req.GetCapacity(),
				Seats:     tt.req.GetSeats(),
				CreatedAt: &timestamppb.Timestamp{Seconds: t0 / sec},
				Status:    bookdv1.EventStatus_EVENT_STATUS_ON_SALE,
			}
			if !proto.Equal(ev, want) {
				t.Errorf("CreateEvent returned %v, want %v", ev, want)
			}
			stored, err := h.f.Event(ev.GetId())
			if err != nil {
				t.Fatalf("Event(%s): %v", ev.GetId(), err)
			}
			if !proto.Equal(stored, want) {
				t.Errorf("Event(%s) = %v, want %v", ev.GetId(), stored, want)
			}

			a := h.avail(ev.GetId())
			checkAvail(t, a, tt.wantAvailable, 0, 0, tt.wantFree)
			if a.GetCapacity() != tt.req.GetCapacity() || a.GetHeldSeats() != 0 || a.GetBookedSeats() != 0 {
				t.Errorf("availability %v, want capacity %d and no seats held or booked", a, tt.req.GetCapacity())
			}
			if a.GetAppliedIndex() != index || a.GetAsOf().AsTime().UnixNano() != t0 {
				t.Errorf("availability as of index %d time %v, want %d and t0", a.GetAppliedIndex(), a.GetAsOf().AsTime(), index)
			}
		})
	}
}

func TestCreateEventInvalid(t *testing.T) {
	tooManySeats := make([]string, fsm.MaxSeatsPerEvent+1)
	for i := range tooManySeats {
		tooManySeats[i] = fmt.Sprintf("S%d", i)
	}
	tests := []struct {
		name string
		req  *bookdv1.CreateEventRequest
		want []string // substrings of the message; the first names the field
	}{
		{"name empty", &bookdv1.CreateEventRequest{Capacity: 1}, []string{"name:", "required"}},
		{"name too long", &bookdv1.CreateEventRequest{Name: strings.Repeat("x", fsm.MaxNameLen+1), Capacity: 1}, []string{"name:", "at most 200", "got 201"}},
		{"name control character", &bookdv1.CreateEventRequest{Name: "a\nb", Capacity: 1}, []string{"name:", "control"}},
		{"name DEL", &bookdv1.CreateEventRequest{Name: "a\x7fb", Capacity: 1}, []string{"name:", "control"}},
		{"starts_at invalid", &bookdv1.CreateEventRequest{Name: "n", Capacity: 1, StartsAt: &timestamppb.Timestamp{Nanos: -1}}, []string{"starts_at:"}},
		{"capacity negative", &bookdv1.CreateEventRequest{Name: "n", Capacity: -1}, []string{"capacity:", "got -1"}},
		{"capacity negative with seats", &bookdv1.CreateEventRequest{Name: "n", Capacity: -5, Seats: []string{"A1"}}, []string{"capacity:", "got -5"}},
		{"capacity too large", &bookdv1.CreateEventRequest{Name: "n", Capacity: fsm.MaxCapacity + 1}, []string{"capacity:", "10000000"}},
		{"no capacity and no seats", &bookdv1.CreateEventRequest{Name: "n"}, []string{"capacity:", "sections or seats"}},
		{"duplicate seat labels", &bookdv1.CreateEventRequest{Name: "n", Seats: []string{"A1", "A2", "A1"}}, []string{"seats[2]:", `"A1"`, "seats[0]"}},
		{"empty seat label", &bookdv1.CreateEventRequest{Name: "n", Seats: []string{"A1", ""}}, []string{"seats[1]:", "required"}},
		{"seat label too long", &bookdv1.CreateEventRequest{Name: "n", Seats: []string{strings.Repeat("s", fsm.MaxSeatLabelLen+1)}}, []string{"seats[0]:", "at most 32"}},
		{"seat label control character", &bookdv1.CreateEventRequest{Name: "n", Seats: []string{"A\t1"}}, []string{"seats[0]:", "control"}},
		{"starts after 2199", &bookdv1.CreateEventRequest{Name: "n", Capacity: 1, StartsAt: &timestamppb.Timestamp{Seconds: fsm.MaxStartsAtSeconds}}, []string{"starts_at:", "2199"}},
		{"too many seats", &bookdv1.CreateEventRequest{Name: "n", Seats: tooManySeats}, []string{"seats:", strconv.Itoa(fsm.MaxSeatsPerEvent), strconv.Itoa(fsm.MaxSeatsPerEvent + 1)}},
		{"idempotency key too long", &bookdv1.CreateEventRequest{Name: "n", Capacity: 1, IdempotencyKey: strings.Repeat("k", fsm.MaxIDLen+1)}, []string{"idempotency_key:", "at most 128"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			index := h.next
			wantErr(t, h.do(tt.req), fsm.CodeInvalidArgument, "", tt.want...)
			if _, err := h.f.Event(id("ev", index)); err == nil {
				t.Errorf("a refused CreateEvent stored event %s", id("ev", index))
			}
			if events, _, err := h.f.ListEvents(fsm.EventFilter{}, "", 10); err != nil || len(events) != 0 {
				t.Errorf("ListEvents after a refused CreateEvent = %v, %v; want none", events, err)
			}
			if got := h.f.AppliedIndex(); got != index {
				t.Errorf("AppliedIndex = %d, want %d: a refused command still moves the index", got, index)
			}
		})
	}
}

// Invalid UTF-8 cannot reach the log (protobuf refuses to encode it), so the
// validators are called directly.
func TestValidateInvalidUTF8(t *testing.T) {
	tests := []struct {
		name string
		err  *fsm.Error
		want string
	}{
		{"event name", fsm.ValidateCreateEvent(&bookdv1.CreateEventRequest{Name: "a\xffb", Capacity: 1}), "name: not valid UTF-8"},
		{"seat label", fsm.ValidateCreateEvent(&bookdv1.CreateEventRequest{Name: "n", Seats: []string{"ok", "\xc3"}}), "seats[1]: not valid UTF-8"},
		{"customer", fsm.ValidateHold(&bookdv1.HoldRequest{EventId: "ev_1", CustomerId: "\xff", Quantity: 1}), "customer_id: not valid UTF-8"},
		{"payment_ref", fsm.ValidateBook(&bookdv1.BookRequest{EventId: "ev_1", CustomerId: "c", Quantity: 1, PaymentRef: "\xff"}), "payment_ref: not valid UTF-8"},
		{"event id", fsm.ValidateHold(&bookdv1.HoldRequest{EventId: "ev_\xff", CustomerId: "c", Quantity: 1}), "event_id:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkError(t, tt.err, fsm.CodeInvalidArgument, "", tt.want)
		})
	}
	t.Run("EncodeCommand", func(t *testing.T) {
		c := &fsmv1.Command{Op: &fsmv1.Command_CreateEvent{CreateEvent: &bookdv1.CreateEventRequest{Name: "a\xffb"}}}
		if _, err := fsm.EncodeCommand(c); err == nil || !strings.HasPrefix(err.Error(), "fsm: encode command") {
			t.Errorf("EncodeCommand with invalid UTF-8 returned %v, want an fsm: encode command error", err)
		}
	})
}

// RequestHash is called by the proposer on the request it received; it has
// no error result, so a request protobuf cannot marshal (a string that is not
// UTF-8) must still hash, not panic.
func TestRequestHashInvalidUTF8(t *testing.T) {
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("RequestHash panicked: %v", r)
		}
	}()
	fsm.RequestHash(&bookdv1.HoldRequest{EventId: "ev_1", CustomerId: "\xff", Quantity: 1})
}

func TestEventReadsNotFound(t *testing.T) {
	h := newHarness(t)
	ev := h.createEvent(gaEvent(1))
	for _, badID := range []string{"ev_99", "ev_0", "ev_01", "ev_", "hd_1", "", "ev_-1", "ev_1x", ev.GetId() + "0"} {
		t.Run(badID, func(t *testing.T) {
			_, err := h.f.Event(badID)
			checkError(t, err, fsm.CodeNotFound, "", "not found")
			_, err = h.f.Availability(badID, t0)
			checkError(t, err, fsm.CodeNotFound, "", "not found")
		})
	}
}

func TestListEventsPaging(t *testing.T) {
	h := newHarness(t)
	var want []string
	for i := range 7 {
		want = append(want, h.createEvent(gaEvent(int64(i+1))).GetId())
		h.do(gaEvent(-1)) // refused: leaves a gap in the ids
	}
	for _, limit := range []int{1, 2, 3, 7, 8, 100} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			var got []string
			after := ""
			for pages := 0; ; pages++ {
				if pages > len(want)+1 {
					t.Fatalf("paging does not end")
				}
				events, next, err := h.f.ListEvents(fsm.EventFilter{}, after, limit)
				if err != nil {
					t.Fatalf("ListEvents(%q, %d): %v", after, limit, err)
				}
				if len(events) > limit {
					t.Fatalf("ListEvents(%q, %d) returned %d events", after, limit, len(events))
				}
				for _, ev := range events {
					got = append(got, ev.GetId())
				}
				if next == "" {
					break
				}
				after = next
			}
			if !slices.Equal(got, want) {
				t.Errorf("paged events %v, want %v", got, want)
			}
		})
	}
	t.Run("bad token", func(t *testing.T) {
		_, _, err := h.f.ListEvents(fsm.EventFilter{}, "bogus", 10)
		checkError(t, err, fsm.CodeInvalidArgument, "", "page_token")
	})
}

// Bug: ListEvents with limit 0 indexes events[-1] and panics as soon as
// there is one event (fsm/read.go, ListEvents: "next = events[len(events)-1]").
func TestListEventsZeroLimit(t *testing.T) {
	h := newHarness(t)
	h.createEvent(gaEvent(1))
	events, _, err := h.f.ListEvents(fsm.EventFilter{}, "", 0)
	if err != nil || len(events) != 0 {
		t.Errorf("ListEvents(\"\", 0) = %v, %v; want no events", events, err)
	}
}
