package main

import (
	"strconv"
	"strings"

	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
)

// sectionSyntax is the help text of --section.
const sectionSyntax = `a section of the seat map (repeatable), as
NAME:ROW=SEATS[/BLOCKED];ROW=SEATS...  Rows are listed front row first; a row
has seats 1 to SEATS; BLOCKED lists seats not for sale, as numbers and ranges
(3,7-9). Seats are labelled SECTION-ROW-N.
e.g. --section 'STALLS:A=20/1,20;B=22;C=22/10-12' --section 'BALCONY:A=30'`

// parseSection parses one --section value, like
// "STALLS:A=20/1,20;B=22;C=22/10-12", into a seat-map section. Names are
// checked by the server; this checks only the shape.
func parseSection(s string) (*bookdv1.Section, error) {
	name, rows, ok := strings.Cut(s, ":")
	name = strings.TrimSpace(name)
	if !ok || name == "" || strings.TrimSpace(rows) == "" {
		return nil, usagef("--section %q: want NAME:ROW=SEATS[/BLOCKED];..., like STALLS:A=20/1,20;B=22", s)
	}
	sec := &bookdv1.Section{Name: name}
	for _, r := range strings.Split(rows, ";") {
		r = strings.TrimSpace(r)
		if r == "" {
			continue
		}
		row, err := parseRow(r)
		if err != nil {
			return nil, usagef("--section %q: row %q: %v", s, r, err)
		}
		sec.Rows = append(sec.Rows, row)
	}
	if len(sec.Rows) == 0 {
		return nil, usagef("--section %q: no rows", s)
	}
	return sec, nil
}

// parseRow parses "A=20/1,5-7".
func parseRow(r string) (*bookdv1.SeatRow, error) {
	name, spec, ok := strings.Cut(r, "=")
	name = strings.TrimSpace(name)
	if !ok || name == "" {
		return nil, usagef("want ROW=SEATS, like A=20")
	}
	count, blocked, _ := strings.Cut(spec, "/")
	n, err := strconv.ParseInt(strings.TrimSpace(count), 10, 32)
	if err != nil || n < 1 {
		return nil, usagef("seats %q is not a positive number", count)
	}
	row := &bookdv1.SeatRow{Name: name, Seats: int32(n)}
	for _, part := range strings.Split(blocked, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		from, to, isRange := strings.Cut(part, "-")
		if !isRange {
			to = from
		}
		lo, err1 := strconv.ParseInt(strings.TrimSpace(from), 10, 32)
		hi, err2 := strconv.ParseInt(strings.TrimSpace(to), 10, 32)
		if err1 != nil || err2 != nil || lo < 1 || hi < lo || hi > n {
			return nil, usagef("blocked seats %q are not numbers or ranges within 1-%d", part, n)
		}
		for b := lo; b <= hi; b++ {
			row.Blocked = append(row.Blocked, int32(b))
		}
	}
	return row, nil
}
