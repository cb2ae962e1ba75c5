package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"
)

// printTables writes, for each client count, one Markdown table in the
// shape of issue 17's: a row per measure of each workload, a column per
// system and client mode, and bookd's ratios to the best PostgreSQL column
// of the workload.
func printTables(w io.Writer, results []result) {
	var counts []int
	for _, r := range results {
		if !slices.Contains(counts, r.Clients) {
			counts = append(counts, r.Clients)
		}
	}
	for _, c := range counts {
		var rs []result
		for _, r := range results {
			if r.Clients == c {
				rs = append(rs, r)
			}
		}
		printTable(w, c, rs)
	}
	fmt.Fprintf(w, "Rates are calls that succeeded per second, from the start of the run to its last success, the sell-out tail and\n"+
		"the calls in flight at the end included; p50/p99 per successful booking (or read), from its first attempt, retries included;\n"+
		"CPU is the servers' (every process, from /proc) per 1,000 successes; × is the ratio to the best PostgreSQL column of the\n"+
		"workload (for CPU, to that column's CPU); audit: stored == acknowledged, allowing only bookings of unknown outcome.\n"+
		"Measured %s.\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"))
}

// printTable writes the table of one client count.
func printTable(w io.Writer, clients int, rs []result) {
	var cols, loads []string
	titles := map[string]string{}
	by := map[[2]string]result{}
	for _, r := range rs {
		if _, ok := titles[r.Target]; !ok {
			cols = append(cols, r.Target)
			titles[r.Target] = r.Config
		}
		if !slices.Contains(loads, r.Workload) {
			loads = append(loads, r.Workload)
		}
		by[[2]string{r.Workload, r.Target}] = r
	}
	head := []string{fmt.Sprintf("workload, %d clients", clients)}
	for _, c := range cols {
		head = append(head, titles[c])
	}
	fmt.Fprintf(w, "| %s |\n|%s\n", strings.Join(head, " | "), strings.Repeat("---|", len(head)))
	for _, load := range loads {
		ref, hasRef := bestPostgres(by, cols, load)
		for _, m := range tableMeasures(load) {
			cells := []string{load + " " + m.name}
			for _, c := range cols {
				r, ok := by[[2]string{load, c}]
				if !ok {
					cells = append(cells, "–")
					continue
				}
				cell := m.cell(r)
				if m.ratio != nil && hasRef && !strings.HasPrefix(c, "postgres") {
					if x, y := m.ratio(r), m.ratio(ref); y > 0 && x > 0 {
						cell += fmt.Sprintf(" (%s×)", ratio(x/y))
					}
				}
				cells = append(cells, cell)
			}
			fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
		}
	}
	fmt.Fprintln(w)
}

// measure is a row of a workload in the table.
type measure struct {
	name  string
	cell  func(result) string
	ratio func(result) float64 // the figure compared with PostgreSQL's; nil: none
}

// tableMeasures are the rows of one workload.
func tableMeasures(load string) []measure {
	unit := "bookings/s"
	switch {
	case isRead(load):
		unit = "reads/s"
	case load == workloadOrder:
		unit = "orders/s"
	}
	ms := []measure{
		{unit, func(r result) string { return thousands(r.rate()) }, result.rate},
		{"p50 / p99", func(r result) string { return fmt.Sprintf("%s / %s ms", millis(r.P50Ms), millis(r.P99Ms)) }, nil},
		{"server CPU-s per 1,000", func(r result) string { return fmt.Sprintf("%.3f", r.CPUPer1000) },
			func(r result) float64 { return r.CPUPer1000 }},
		{"errors / unknown", func(r result) string { return fmt.Sprintf("%s / %d", r.errorsText(), r.Unknown) }, nil},
		{"elections", electionsCell, nil},
	}
	if !isRead(load) {
		ms = append(ms, measure{"audit", auditCell, nil})
	}
	return ms
}

// electionsCell is the run's elections, or – where they were not counted.
func electionsCell(r result) string {
	if r.Elections == nil {
		return "–"
	}
	return fmt.Sprint(*r.Elections)
}

// auditCell is "ok" and the counts, or what failed.
func auditCell(r result) string {
	c := r.Reconcile
	if r.auditFailed() || c == nil {
		return "**FAILED**: " + r.auditText()
	}
	return fmt.Sprintf("ok: %s acknowledged, %s stored, %d unknown", thousands(float64(c.Acknowledged)),
		thousands(float64(c.Stored)), c.Unknown)
}

// bestPostgres is the PostgreSQL column with the highest rate on load.
func bestPostgres(by map[[2]string]result, cols []string, load string) (result, bool) {
	var best result
	found := false
	for _, c := range cols {
		r, ok := by[[2]string{load, c}]
		if ok && strings.HasPrefix(c, "postgres") && (!found || r.rate() > best.rate()) {
			best, found = r, true
		}
	}
	return best, found
}

// thousands formats x rounded, with commas: 19,542.
func thousands(x float64) string {
	s := fmt.Sprintf("%.0f", math.Round(x))
	var b strings.Builder
	for i, d := range s {
		if i > 0 && (len(s)-i)%3 == 0 && s[i-1] != '-' {
			b.WriteByte(',')
		}
		b.WriteRune(d)
	}
	return b.String()
}

// millis formats a latency: one decimal under 100 ms, whole above.
func millis(ms float64) string {
	if ms < 100 {
		return fmt.Sprintf("%.1f", ms)
	}
	return thousands(ms)
}

// ratio formats a ratio with two significant digits below 10.
func ratio(x float64) string {
	if x < 10 {
		return fmt.Sprintf("%.2g", x)
	}
	return thousands(x)
}
