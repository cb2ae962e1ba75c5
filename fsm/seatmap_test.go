package fsm_test

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bookd/bookd/fsm"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
)

// Seat maps: labels, blocked seats, per-section availability.
func TestSeatMapLabelsAndAvailability(t *testing.T) {
	h := newHarness(t)
	req := mapEvent(
		section("STALLS", row("A", 4, 2), row("B", 3)),
		section("Circle_1", row("1", 2, 1, 2)),
	)
	req.Seats = []string{"X1", "X2"}
	ev := h.createEvent(req)
	want := []string{"STALLS-A-1", "STALLS-A-2", "STALLS-A-3", "STALLS-A-4", "STALLS-B-1", "STALLS-B-2", "STALLS-B-3",
		"Circle_1-1-1", "Circle_1-1-2", "X1", "X2"}
	wantStrings(t, "CreateEvent seats", ev.GetSeats(), want)
	wantStrings(t, "stored event seats", h.event(ev.GetId()).GetSeats(), want)
	if got := h.event(ev.GetId()).GetSections(); len(got) != 2 || got[0].GetRows()[0].GetBlocked()[0] != 2 {
		t.Errorf("stored sections %v, want the seat map as given", got)
	}

	h.hold(seatHold(ev.GetId(), 10*time.Minute, "STALLS-B-1"))
	h.book(seatBook(ev.GetId(), "X2", "STALLS-A-4"))
	a := h.avail(ev.GetId())
	checkAvail(t, a, 0, 0, 0, []string{"STALLS-A-1", "STALLS-A-3", "STALLS-B-2", "STALLS-B-3", "X1"})
	if a.GetBlockedSeats() != 3 || a.GetHeldSeats() != 1 || a.GetBookedSeats() != 2 {
		t.Errorf("blocked/held/booked seats %d/%d/%d, want 3/1/2", a.GetBlockedSeats(), a.GetHeldSeats(), a.GetBookedSeats())
	}
	type counts struct {
		name                        string
		free, held, booked, blocked int64
	}
	var got []counts
	for _, s := range a.GetSections() {
		got = append(got, counts{s.GetSection(), s.GetFreeSeats(), s.GetHeldSeats(), s.GetBookedSeats(), s.GetBlockedSeats()})
	}
	wantSections := []counts{{"STALLS", 4, 1, 1, 1}, {"Circle_1", 0, 0, 0, 2}, {"", 1, 0, 1, 0}}
	if !slices.Equal(got, wantSections) {
		t.Errorf("sections %+v, want %+v", got, wantSections)
	}
}

func TestSeatMapClaimsRefused(t *testing.T) {
	h := newHarness(t)
	ev := h.createEvent(mapEvent(section("S", row("A", 3, 2)))).GetId()
	h.book(seatBook(ev, "S-A-3"))
	tests := []struct {
		name   string
		req    *bookdv1.HoldRequest
		code   fsm.Code
		reason string
		msg    []string
	}{
		{"blocked seat", seatHold(ev, 10*time.Minute, "S-A-1", "S-A-2"), fsm.CodeFailedPrecondition, fsm.ReasonSeatBlocked, []string{"S-A-2", "not for sale"}},
		{"seat past the row", seatHold(ev, 10*time.Minute, "S-A-4"), fsm.CodeInvalidArgument, fsm.ReasonUnknownSeat, []string{`seats[0]`, `"S-A-4"`}},
		{"unknown row", seatHold(ev, 10*time.Minute, "S-B-1"), fsm.CodeInvalidArgument, fsm.ReasonUnknownSeat, []string{`"S-B-1"`}},
		{"booked seat", seatHold(ev, 10*time.Minute, "S-A-3"), fsm.CodeFailedPrecondition, fsm.ReasonSeatTaken, []string{"S-A-3", "taken"}},
		{"unknown section", bestHold(ev, "T", 1), fsm.CodeInvalidArgument, fsm.ReasonUnknownSeat, []string{"section", `"T"`}},
		{"best available more than free", bestHold(ev, "", 2), fsm.CodeFailedPrecondition, fsm.ReasonSoldOut, []string{"fewer than 2 seats free"}},
		{"best available in section more than free", bestHold(ev, "S", 2), fsm.CodeFailedPrecondition, fsm.ReasonSoldOut, []string{"section S of event", "fewer than 2"}},
		{"GA on a seated event", gaHold(ev, 1, 10*time.Minute), fsm.CodeInvalidArgument, "", []string{"quantity", "no general admission"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantErr(t, h.do(tt.req), tt.code, tt.reason, tt.msg...)
			book := &bookdv1.BookRequest{EventId: ev, CustomerId: "bob", Quantity: tt.req.GetQuantity(), Seats: tt.req.GetSeats(),
				Section: tt.req.GetSection(), BestAvailable: tt.req.GetBestAvailable()}
			wantErr(t, h.do(book), tt.code, tt.reason, tt.msg...)
		})
	}
	checkAvail(t, h.avail(ev), 0, 0, 0, []string{"S-A-1"})
	t.Run("best available on a GA event", func(t *testing.T) {
		ga := h.createEvent(gaEvent(5)).GetId()
		wantErr(t, h.do(bestHold(ga, "", 1)), fsm.CodeInvalidArgument, "", "best_available", "no seats")
	})
}

// Best-available holds choose adjacent seats in the front-most row that has
// a run, the run nearest the middle; otherwise the front rows' free seats.
func TestBestAvailable(t *testing.T) {
	twoSections := []*bookdv1.Section{
		section("STALLS", row("A", 10), row("B", 10), row("C", 6, 3, 4)),
		section("BALCONY", row("A", 4)),
	}
	tests := []struct {
		name    string
		taken   []string // booked first
		section string
		n       int64
		want    []string // "": the labels without the "STALLS-" prefix
	}{
		{"one seat: middle of front row, left of centre", nil, "", 1, []string{"A-5"}},
		{"two seats: the two middle ones", nil, "", 2, []string{"A-5", "A-6"}},
		{"three seats: a tie goes left", nil, "", 3, []string{"A-4", "A-5", "A-6"}},
		{"whole row", nil, "", 10, []string{"A-1", "A-2", "A-3", "A-4", "A-5", "A-6", "A-7", "A-8", "A-9", "A-10"}},
		{"middle taken: nearest run", []string{"STALLS-A-5", "STALLS-A-6"}, "", 2, []string{"A-3", "A-4"}},
		{"middle taken, right side nearer", []string{"STALLS-A-4", "STALLS-A-5"}, "", 2, []string{"A-6", "A-7"}},
		{"front row has no run: next row", []string{"STALLS-A-3", "STALLS-A-6", "STALLS-A-9"}, "", 3, []string{"B-4", "B-5", "B-6"}},
		{"front row has a run at its edge", []string{"STALLS-A-4", "STALLS-A-5", "STALLS-A-6", "STALLS-A-7"}, "", 3, []string{"A-1", "A-2", "A-3"}},
		{"blocked seats split a row", stallsRowsExcept("C"), "STALLS", 2, []string{"C-1", "C-2"}},
		{"no run anywhere: free seats of the front rows", append(stallsRowsExcept("C"), "STALLS-C-2", "STALLS-C-5",
			"BALCONY-A-2", "BALCONY-A-3"), "", 3, []string{"C-1", "C-6", "BALCONY-A-1"}},
		{"fallback within a section", append(stallsRowsExcept("C"), "STALLS-C-2", "STALLS-C-5"), "STALLS", 2, []string{"C-1", "C-6"}},
		{"section chosen", nil, "BALCONY", 2, []string{"BALCONY-A-2", "BALCONY-A-3"}},
		{"section skips fuller rows of others", nil, "BALCONY", 4, []string{"BALCONY-A-1", "BALCONY-A-2", "BALCONY-A-3", "BALCONY-A-4"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			ev := h.createEvent(mapEvent(twoSections...)).GetId()
			for i := 0; i < len(tt.taken); i += fsm.MaxSeatsPerHold {
				h.book(seatBook(ev, tt.taken[i:min(i+fsm.MaxSeatsPerHold, len(tt.taken))]...))
			}
			var want []string
			for _, l := range tt.want {
				if !strings.HasPrefix(l, "BALCONY") {
					l = "STALLS-" + l
				}
				want = append(want, l)
			}
			hd := h.hold(bestHold(ev, tt.section, tt.n))
			wantStrings(t, "held seats", hd.GetSeats(), want)
			if hd.GetQuantity() != tt.n {
				t.Errorf("hold quantity %d, want %d", hd.GetQuantity(), tt.n)
			}
			// Book chooses the same way, from what is left.
			h.release(hd.GetId())
			b := h.book(&bookdv1.BookRequest{EventId: ev, CustomerId: "bob", Quantity: tt.n, Section: tt.section, BestAvailable: true})
			wantStrings(t, "booked seats", b.GetSeats(), want)
		})
	}
}

// stallsRowsExcept lists the seats of stalls rows A and B, and of C unless
// C is named: what a test books to leave only the rest free.
func stallsRowsExcept(keep ...string) []string {
	var out []string
	for _, r := range []string{"A", "B"} {
		for n := 1; n <= 10; n++ {
			out = append(out, "STALLS-"+r+"-"+strconv.Itoa(n))
		}
	}
	if !slices.Contains(keep, "C") {
		for _, n := range []int{1, 2, 5, 6} {
			out = append(out, "STALLS-C-"+strconv.Itoa(n))
		}
	}
	return out
}

// Seats given by label form rows by their letters: best available works on them too.
func TestBestAvailableLabelledSeats(t *testing.T) {
	h := newHarness(t)
	ev := h.createEvent(seatEvent("A1", "A2", "A3", "B1", "B2", "B3", "B4", "Box")).GetId()
	h.book(seatBook(ev, "A2"))
	hd := h.hold(bestHold(ev, "", 2))
	wantStrings(t, "held seats", hd.GetSeats(), []string{"B2", "B3"})
	hd = h.hold(bestHold(ev, "", 3))
	wantStrings(t, "fallback seats", hd.GetSeats(), []string{"A1", "A3", "B1"})
}

func TestSeatMapValidation(t *testing.T) {
	h := newHarness(t)
	tests := []struct {
		name     string
		sections []*bookdv1.Section
		msg      string
	}{
		{"empty section name", []*bookdv1.Section{section("", row("A", 1))}, "sections[0].name"},
		{"dash in section name", []*bookdv1.Section{section("A-B", row("A", 1))}, "sections[0].name: only letters"},
		{"section name too long", []*bookdv1.Section{section(strings.Repeat("s", 17), row("A", 1))}, "sections[0].name: 1 to 16"},
		{"repeated section", []*bookdv1.Section{section("S", row("A", 1)), section("S", row("A", 1))}, `sections[1].name: "S" repeats sections[0]`},
		{"no rows", []*bookdv1.Section{section("S")}, "sections[0].rows: a section needs at least one row"},
		{"repeated row", []*bookdv1.Section{section("S", row("A", 1), row("A", 2))}, `sections[0].rows[1].name: "A" repeats rows[0]`},
		{"bad row name", []*bookdv1.Section{section("S", row("A 1", 1))}, "sections[0].rows[0].name"},
		{"no seats", []*bookdv1.Section{section("S", row("A", 0))}, "sections[0].rows[0].seats: must be between 1 and 1000, got 0"},
		{"too many seats", []*bookdv1.Section{section("S", row("A", 1001))}, "sections[0].rows[0].seats"},
		{"blocked past the row", []*bookdv1.Section{section("S", row("A", 3, 4))}, "sections[0].rows[0].blocked[0]: row A has seats 1 to 3, got 4"},
		{"blocked zero", []*bookdv1.Section{section("S", row("A", 3, 1, 0))}, "sections[0].rows[0].blocked[1]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantErr(t, h.do(mapEvent(tt.sections...)), fsm.CodeInvalidArgument, "", tt.msg)
		})
	}
	t.Run("label repeats a seat of the map", func(t *testing.T) {
		req := mapEvent(section("S", row("A", 2)))
		req.Seats = []string{"S-A-2"}
		wantErr(t, h.do(req), fsm.CodeInvalidArgument, "", "S-A-2")
	})
	events, _, err := h.f.ListEvents(fsm.EventFilter{}, "", 10)
	if err != nil || len(events) != 0 {
		t.Errorf("refused seat maps left events %v (%v)", events, err)
	}
}

func TestBestAvailableRequestValidation(t *testing.T) {
	h := newHarness(t)
	ev := h.createEvent(mapEvent(section("S", row("A", 4)))).GetId()
	tests := []struct {
		name string
		req  *bookdv1.HoldRequest
		msg  string
	}{
		{"section without best_available", &bookdv1.HoldRequest{EventId: ev, CustomerId: "a", Quantity: 1, Section: "S"}, "section: only used with best_available"},
		{"seats and best_available", &bookdv1.HoldRequest{EventId: ev, CustomerId: "a", Seats: []string{"S-A-1"}, BestAvailable: true}, "best_available: give seats or best_available, not both"},
		{"bad section name", &bookdv1.HoldRequest{EventId: ev, CustomerId: "a", Quantity: 1, Section: "S-A", BestAvailable: true}, "section: only letters"},
		{"no quantity", &bookdv1.HoldRequest{EventId: ev, CustomerId: "a", BestAvailable: true}, "quantity: give a quantity above 0"},
		{"too many", &bookdv1.HoldRequest{EventId: ev, CustomerId: "a", Quantity: fsm.MaxSeatsPerHold + 1, BestAvailable: true}, "quantity: at most 50"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantErr(t, h.do(tt.req), fsm.CodeInvalidArgument, "", tt.msg)
			book := &bookdv1.BookRequest{EventId: ev, CustomerId: "a", Quantity: tt.req.GetQuantity(), Seats: tt.req.GetSeats(),
				Section: tt.req.GetSection(), BestAvailable: tt.req.GetBestAvailable()}
			wantErr(t, h.do(book), fsm.CodeInvalidArgument, "", tt.msg)
		})
	}
	checkAvail(t, h.avail(ev), 0, 0, 0, []string{"S-A-1", "S-A-2", "S-A-3", "S-A-4"})
}
