package fsm_test

import (
	"testing"
	"time"

	"github.com/bookd/bookd/fsm"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
)

// catalog makes two products' departures and a few events of their own,
// and returns the events' ids by short name (e1...e8) and the products'.
func catalog(h *harness) (map[string]string, string, string) {
	h.t.Helper()
	pA, pB := h.createProduct("Harbour").GetId(), h.createProduct("Night").GetId()
	ids := map[string]string{}
	add := func(name string, req *bookdv1.CreateEventRequest) string {
		ids[name] = h.createEvent(req).GetId()
		return ids[name]
	}
	dep := func(title, product string, day time.Duration, capacity int64) *bookdv1.CreateEventRequest {
		r := &bookdv1.CreateEventRequest{Name: title, ProductId: product, Capacity: capacity}
		if day >= 0 {
			r.StartsAt = ts(day * 24 * time.Hour)
		}
		return r
	}
	add("e1", dep("Harbour Tour morning", pA, 1, 10))
	h.book(bookFor(add("e2", dep("Harbour Tour noon", pA, 2, 2)), "bob", 2)) // sold out
	h.hold(holdFor(add("e3", dep("Night Walk", pB, 2, 5)), "bob", 3, time.Hour))
	add("e4", dep("Gala", "", -1, 100))
	mustOK[*bookdv1.CloseEventResponse](h.t, h.do(&bookdv1.CloseEventRequest{EventId: add("e5", dep("Harbour Tour evening", pA, 3, 10))}))
	seats := mapEvent(section("S", row("A", 4, 2)))
	seats.Name, seats.StartsAt = "Seat show", ts(4*24*time.Hour)
	add("e6", seats) // 3 seats for sale
	add("e7", dep("night walk late", pB, 5, 1))
	add("e8", dep("Harbour Tour dawn", pA, 1, 10))
	return ids, pA, pB
}

func TestListEventsFilters(t *testing.T) {
	h := newHarness(t)
	ids, pA, pB := catalog(h)
	d := func(n int) int64 { return t0 + int64(n)*24*int64(time.Hour) }
	tests := []struct {
		name   string
		filter fsm.EventFilter
		want   []string
	}{
		{"all, by start time then id", fsm.EventFilter{}, []string{"e4", "e1", "e8", "e2", "e3", "e5", "e6", "e7"}},
		{"product", fsm.EventFilter{ProductID: pA}, []string{"e1", "e8", "e2", "e5"}},
		{"other product", fsm.EventFilter{ProductID: pB}, []string{"e3", "e7"}},
		{"product without events", fsm.EventFilter{ProductID: "pr_999"}, nil},
		{"starts at or after", fsm.EventFilter{StartsAfter: d(2)}, []string{"e2", "e3", "e5", "e6", "e7"}},
		{"starts after, 1ns later", fsm.EventFilter{StartsAfter: d(2) + 1}, []string{"e5", "e6", "e7"}},
		// An event without a start time starts before nothing.
		{"starts before", fsm.EventFilter{StartsBefore: d(2)}, []string{"e1", "e8"}},
		{"range", fsm.EventFilter{StartsAfter: d(2), StartsBefore: d(4)}, []string{"e2", "e3", "e5"}},
		{"range, empty", fsm.EventFilter{StartsAfter: d(6), StartsBefore: d(9)}, nil},
		{"product and range", fsm.EventFilter{ProductID: pA, StartsAfter: d(1), StartsBefore: d(2)}, []string{"e1", "e8"}},
		{"query ignores case", fsm.EventFilter{Query: "harbour TOUR"}, []string{"e1", "e8", "e2", "e5"}},
		{"query inside a word", fsm.EventFilter{Query: "WALK"}, []string{"e3", "e7"}},
		{"query matching nothing", fsm.EventFilter{Query: "zzz"}, nil},
		{"query and start", fsm.EventFilter{Query: "night", StartsAfter: d(3)}, []string{"e7"}},
		{"min available 1: on sale, not sold out", fsm.EventFilter{MinAvailable: 1}, []string{"e4", "e1", "e8", "e3", "e6", "e7"}},
		{"min available 3: held tickets are not available", fsm.EventFilter{MinAvailable: 3}, []string{"e4", "e1", "e8", "e6"}},
		{"min available 4: blocked seats are not available", fsm.EventFilter{MinAvailable: 4}, []string{"e4", "e1", "e8"}},
		{"product and min available", fsm.EventFilter{ProductID: pA, MinAvailable: 1}, []string{"e1", "e8"}},
	}
	name := map[string]string{}
	for short, id := range ids {
		name[id] = short
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			events, next, err := h.f.ListEvents(tt.filter, "", 100)
			if err != nil {
				t.Fatalf("ListEvents: %v", err)
			}
			var got []string
			for _, ev := range events {
				got = append(got, name[ev.GetId()])
			}
			wantStrings(t, "events", got, tt.want)
			if next != "" {
				t.Errorf("one page of all events has a next page %q", next)
			}
			// Paging gives the same events, and no page after the last.
			for _, limit := range []int{1, 2, 3} {
				var paged []string
				token := ""
				for pages := 0; ; pages++ {
					if pages > len(tt.want)+1 {
						t.Fatalf("limit %d: paging does not end", limit)
					}
					page, next, err := h.f.ListEvents(tt.filter, token, limit)
					if err != nil {
						t.Fatalf("ListEvents(limit %d, %q): %v", limit, token, err)
					}
					if len(page) > limit || (next != "" && len(page) == 0) {
						t.Fatalf("limit %d: a page of %d events with next page %q", limit, len(page), next)
					}
					for _, ev := range page {
						paged = append(paged, name[ev.GetId()])
					}
					if next == "" {
						// "Empty on the last page": no empty page follows a full one.
						if want := max(1, (len(tt.want)+limit-1)/limit); pages+1 != want {
							t.Errorf("limit %d: %d pages, want %d", limit, pages+1, want)
						}
						break
					}
					token = next
				}
				wantStrings(t, "paged events", paged, tt.want)
			}
		})
	}
	t.Run("labels", func(t *testing.T) {
		events, _, _ := h.f.ListEvents(fsm.EventFilter{Query: "seat show"}, "", 10)
		if len(events) != 1 || len(events[0].GetSeats()) != 4 {
			t.Errorf("seat show listed as %v, want its 4 seat labels", events)
		}
	})
	t.Run("errors", func(t *testing.T) {
		_, _, err := h.f.ListEvents(fsm.EventFilter{ProductID: "harbour"}, "", 10)
		checkError(t, err, fsm.CodeInvalidArgument, "", "product_id:")
		_, _, err = h.f.ListEvents(fsm.EventFilter{ProductID: ids["e1"]}, "", 10)
		checkError(t, err, fsm.CodeInvalidArgument, "", "product_id:")
		_, _, err = h.f.ListEvents(fsm.EventFilter{}, "x.y.z", 10)
		checkError(t, err, fsm.CodeInvalidArgument, "", "page_token")
		_, _, err = h.f.ListEvents(fsm.EventFilter{}, "-5.1", 10)
		checkError(t, err, fsm.CodeInvalidArgument, "", "page_token")
	})
}
