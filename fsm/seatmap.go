package fsm

import (
	"strconv"

	fsmv1 "github.com/bookd/bookd/proto/bookd/fsm/v1"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
)

// Seat maps. An event's seats come from its sections (each seat labelled
// "<section>-<row>-<number>") and from labels given one by one. Both are
// grouped into rows at creation, in a SeatLayout: a row of a section keeps
// its numbers; labels given one by one form rows by their letters ("A12" is
// seat 12 of row A, in the section named ""). Best-available holds choose
// seats row by row from the layout.

// Limits on seat maps.
const (
	MaxSectionNameLen = 16
	MaxSeatsPerRow    = 1000
)

// seatLabel is the label of a seat in a seat map.
func seatLabel(section, row string, number int32) string {
	return section + "-" + row + "-" + strconv.Itoa(int(number))
}

// validateSections checks a seat map and returns its seat count.
func validateSections(sections []*bookdv1.Section) (int, *Error) {
	seen := make(map[string]int, len(sections))
	total := 0
	for i, sec := range sections {
		field := "sections[" + strconv.Itoa(i) + "]"
		if err := checkMapName(field+".name", sec.GetName()); err != nil {
			return 0, err
		}
		if j, dup := seen[sec.GetName()]; dup {
			return 0, invalid("%s.name: %q repeats sections[%d]", field, sec.GetName(), j)
		}
		seen[sec.GetName()] = i
		if len(sec.GetRows()) == 0 {
			return 0, invalid("%s.rows: a section needs at least one row", field)
		}
		rows := make(map[string]int, len(sec.GetRows()))
		for r, row := range sec.GetRows() {
			rf := field + ".rows[" + strconv.Itoa(r) + "]"
			if err := checkMapName(rf+".name", row.GetName()); err != nil {
				return 0, err
			}
			if j, dup := rows[row.GetName()]; dup {
				return 0, invalid("%s.name: %q repeats rows[%d]", rf, row.GetName(), j)
			}
			rows[row.GetName()] = r
			if n := row.GetSeats(); n < 1 || n > MaxSeatsPerRow {
				return 0, invalid("%s.seats: must be between 1 and %d, got %d", rf, MaxSeatsPerRow, n)
			}
			for b, num := range row.GetBlocked() {
				if num < 1 || num > row.GetSeats() {
					return 0, invalid("%s.blocked[%d]: row %s has seats 1 to %d, got %d", rf, b, row.GetName(), row.GetSeats(), num)
				}
			}
			total += int(row.GetSeats())
			if total > MaxSeatsPerEvent {
				return 0, invalid("sections: at most %d seats per event", MaxSeatsPerEvent)
			}
		}
	}
	return total, nil
}

// checkMapName allows letters, digits and '_', so labels split unambiguously.
func checkMapName(field, s string) *Error {
	if s == "" || len(s) > MaxSectionNameLen {
		return invalid("%s: 1 to %d letters, digits or '_', got %q", field, MaxSectionNameLen, clip(s))
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return invalid("%s: only letters, digits and '_' are allowed, got %q", field, clip(s))
		}
	}
	return nil
}

// buildLayout lays out an event's seats: the seat map's rows, then the
// seats given by label grouped by their letters, rows in order of first
// appearance. It also returns every label, in that order, and the blocked ones.
func buildLayout(sections []*bookdv1.Section, labels []string) (*fsmv1.SeatLayout, []string, map[string]bool) {
	layout := &fsmv1.SeatLayout{}
	var all []string
	blocked := map[string]bool{}
	for _, sec := range sections {
		for _, row := range sec.GetRows() {
			lr := &fsmv1.LayoutRow{Section: sec.GetName(), Row: row.GetName()}
			for n := int32(1); n <= row.GetSeats(); n++ {
				l := seatLabel(sec.GetName(), row.GetName(), n)
				lr.Labels, lr.Numbers = append(lr.Labels, l), append(lr.Numbers, n)
				all = append(all, l)
			}
			for _, n := range row.GetBlocked() {
				blocked[seatLabel(sec.GetName(), row.GetName(), n)] = true
			}
			layout.Rows = append(layout.Rows, lr)
		}
	}
	byRow := map[string]*fsmv1.LayoutRow{}
	for _, l := range labels {
		name, number := splitLabel(l)
		lr := byRow[name]
		if lr == nil {
			lr = &fsmv1.LayoutRow{Row: name}
			byRow[name] = lr
			layout.Rows = append(layout.Rows, lr)
		}
		lr.Labels, lr.Numbers = append(lr.Labels, l), append(lr.Numbers, number)
		all = append(all, l)
	}
	return layout, all, blocked
}

// splitLabel reads "A12" as row "A", seat 12. A label not made of letters
// then digits is a row of its own, seat 0.
func splitLabel(l string) (string, int32) {
	i := len(l)
	for i > 0 && l[i-1] >= '0' && l[i-1] <= '9' {
		i--
	}
	if i == 0 || i == len(l) || len(l)-i > 6 || l[i] == '0' {
		return l, 0
	}
	n, _ := strconv.Atoi(l[i:])
	return l[:i], int32(n)
}

// hasSection reports whether the layout has a section of that name.
func hasSection(layout *fsmv1.SeatLayout, section string) bool {
	for _, r := range layout.GetRows() {
		if r.GetSection() == section {
			return true
		}
	}
	return false
}

// bestAvailable chooses n free seats in a section ("" for any): the first
// row, front first, with n free seats side by side, nearest the middle of the
// row; failing that, the free seats of the front rows. It returns nil when
// the section has fewer than n free seats.
func (t *txn) bestAvailable(event uint64, layout *fsmv1.SeatLayout, section string, n int) []string {
	var fallback []string
	for _, row := range layout.GetRows() {
		if section != "" && row.GetSection() != section {
			continue
		}
		free := make([]bool, len(row.GetLabels()))
		for i, l := range row.GetLabels() {
			state, _ := t.seat(event, l)
			free[i] = state == seatFree
		}
		if seats := adjacentRun(row, free, n); seats != nil {
			return seats
		}
		for i, l := range row.GetLabels() {
			if free[i] && len(fallback) < n {
				fallback = append(fallback, l)
			}
		}
	}
	if len(fallback) < n {
		return nil
	}
	return fallback
}

// adjacentRun finds n free seats with consecutive numbers in a row, the run
// whose middle is nearest the row's middle (the first such on a tie).
func adjacentRun(row *fsmv1.LayoutRow, free []bool, n int) []string {
	nums := row.GetNumbers()
	best, bestDist := -1, 0
	centre2 := len(nums) - 1 // twice the middle position
	run := 0
	for i := range nums {
		switch {
		case !free[i] || nums[i] == 0:
			run = 0
			continue
		case run > 0 && nums[i] == nums[i-1]+1:
			run++
		default:
			run = 1
		}
		if run >= n {
			start := i - n + 1
			dist := 2*start + n - 1 - centre2
			if dist < 0 {
				dist = -dist
			}
			if best < 0 || dist < bestDist {
				best, bestDist = start, dist
			}
		}
	}
	if best < 0 {
		return nil
	}
	return append([]string(nil), row.GetLabels()[best:best+n]...)
}
