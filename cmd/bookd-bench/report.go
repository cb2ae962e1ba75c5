package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
)

// result is what one run measured, as printed and as saved in JSON.
type result struct {
	Target   string `json:"target"`
	Config   string `json:"config,omitempty"` // how the target was called and configured, for tables
	Workload string `json:"workload"`
	Clients  int    `json:"clients"`
	Mode     string `json:"mode"` // closed or open (with the profile)

	Seconds      float64          `json:"seconds"`  // start to the last successful call, in-flight calls drained included
	SoldOut      bool             `json:"sold_out"` // the run ended at its sell-through
	Sold         float64          `json:"sold"`     // share of the inventory sold
	Attempts     int64            `json:"attempts"`
	Bookings     int64            `json:"bookings"`
	Tickets      int64            `json:"tickets"`
	Reads        int64            `json:"reads"`
	Conflicts    int64            `json:"conflicts"`
	Errors       map[string]int64 `json:"errors"`  // by code, unknown outcomes included
	Unknown      int64            `json:"unknown"` // bookings whose outcome the run never learned
	Drained      int64            `json:"drained"` // calls in flight when the run ended, let finish and counted
	BookingsPerS float64          `json:"bookings_per_s"`
	TicketsPerS  float64          `json:"tickets_per_s"`
	ReadsPerS    float64          `json:"reads_per_s"`
	// Latency of the successful calls, each from its first attempt to its
	// answer, retries included.
	P50Ms  float64 `json:"p50_ms"`
	P99Ms  float64 `json:"p99_ms"`
	P999Ms float64 `json:"p999_ms"`

	ServerCPUSeconds float64 `json:"server_cpu_s"`
	// CPUPer1000 is server CPU seconds per 1,000 bookings (per 1,000 reads
	// for browse).
	CPUPer1000 float64 `json:"server_cpu_s_per_1000"`

	// WindowBookingsPerS is the old figure: bookings/s over the first 90%
	// of the inventory, the sell-out tail left out (0 if never reached).
	WindowBookingsPerS float64 `json:"first_90pct_bookings_per_s,omitempty"`

	// Elections is how many times the Raft term moved during the run
	// (bookd under peers; nil where not counted).
	Elections *int `json:"elections,omitempty"`

	Audit     *Audit          `json:"audit,omitempty"`
	Orders    *orderAudit     `json:"orders_audit,omitempty"` // the order workload's
	AuditErr  string          `json:"audit_error,omitempty"`
	Reconcile *reconciliation `json:"stored_vs_acknowledged,omitempty"`
}

func newResult(target string, cfg runConfig, st *stats, v *venue, cpu time.Duration) result {
	r := result{
		Target: target, Workload: cfg.Workload, Clients: cfg.Clients, Mode: "closed",
		Attempts: st.attempts.Load(), Bookings: st.bookings.Load(), Tickets: st.tickets.Load(),
		Reads: st.reads.Load(), Conflicts: st.conflicts.Load(), Errors: st.errorCounts(),
		Unknown: st.unknown.Load(), Drained: st.drained.Load(),
		SoldOut: v.done(), Sold: v.sold(), ServerCPUSeconds: cpu.Seconds(),
	}
	if len(cfg.Profile) > 0 {
		r.Mode = "open " + formatProfile(cfg.Profile)
	}
	r.Seconds = time.Duration(st.lastDone.Load()).Seconds()
	if r.Seconds > 0 {
		r.BookingsPerS = float64(r.Bookings) / r.Seconds
		r.TicketsPerS = float64(r.Tickets) / r.Seconds
		r.ReadsPerS = float64(r.Reads) / r.Seconds
	}
	if at := time.Duration(st.windowAt.Load()).Seconds(); at > 0 {
		r.WindowBookingsPerS = float64(st.windowBookings.Load()) / at
	}
	if done := r.Bookings + r.Reads; done > 0 {
		r.CPUPer1000 = r.ServerCPUSeconds / float64(done) * 1000
	}
	lat := st.latency.snapshot()
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	r.P50Ms, r.P99Ms, r.P999Ms = ms(lat.quantile(0.5)), ms(lat.quantile(0.99)), ms(lat.quantile(0.999))
	return r
}

// rate is the run's headline: bookings/s, or reads/s for browse.
func (r result) rate() float64 {
	if isRead(r.Workload) {
		return r.ReadsPerS
	}
	return r.BookingsPerS
}

func (r result) errorsText() string {
	if len(r.Errors) == 0 {
		return "0"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(r.Errors)) {
		parts = append(parts, fmt.Sprintf("%s:%d", k, r.Errors[k]))
	}
	return strings.Join(parts, " ")
}

func (r result) auditText() string {
	switch {
	case r.AuditErr != "":
		return "audit failed: " + r.AuditErr
	case r.Audit == nil:
		return "-"
	}
	a := r.Audit
	s := fmt.Sprintf("oversold %d, double-sold %d", a.Oversold, a.DoubleSold)
	if a.CounterDiffers {
		s += ", COUNTER DIFFERS"
	}
	if c := r.Reconcile; c != nil {
		s += fmt.Sprintf("; acknowledged %d, stored %d (of them unknown outcomes %d), unknown %d, missing %d, extra %d, duplicate %d",
			c.Acknowledged, c.Stored, c.UnknownStored, c.Unknown, c.Missing, c.Extra, c.Duplicate)
		if !c.ok() {
			s += " — STORED != ACKNOWLEDGED"
		}
	}
	if r.Orders != nil {
		s += "; " + r.Orders.text()
	}
	return s
}

// printResult writes one run's table.
func printResult(w io.Writer, r result) {
	fmt.Fprintf(w, "\n%s %s, %d clients (%s)\n", r.Target, r.Workload, r.Clients, r.Mode)
	if r.Config != "" {
		fmt.Fprintf(w, "  %s\n", r.Config)
	}
	unit, what := "bookings/s", "bookings"
	switch {
	case isRead(r.Workload):
		unit = "reads/s"
	case r.Workload == workloadOrder:
		unit, what = "orders/s", "orders"
	}
	window := "-"
	if r.WindowBookingsPerS > 0 {
		window = fmt.Sprintf("%.0f", r.WindowBookingsPerS)
	}
	rows := [][2]string{
		{unit, fmt.Sprintf("%.0f", r.rate())},
		{"tickets/s", fmt.Sprintf("%.0f", r.TicketsPerS)},
		{"measured over", fmt.Sprintf("%.2fs to the last success (sold %.0f%% of the inventory)", r.Seconds, 100*r.Sold)},
		{"calls", fmt.Sprintf("%d (%d in flight at the end, let finish)", r.Attempts, r.Drained)},
		{what + " / tickets", fmt.Sprintf("%d / %d", r.Bookings, r.Tickets)},
		{"conflicts", fmt.Sprint(r.Conflicts)},
		{"errors", r.errorsText()},
		{"unknown outcomes", fmt.Sprint(r.Unknown)},
		{"success p50/p99/p999", fmt.Sprintf("%.2f / %.2f / %.2f ms from the first attempt", r.P50Ms, r.P99Ms, r.P999Ms)},
		{"server CPU", fmt.Sprintf("%.1fs, %.3fs per 1,000", r.ServerCPUSeconds, r.CPUPer1000)},
		{"audit", r.auditText()},
	}
	if !isRead(r.Workload) {
		rows = slices.Insert(rows, 3, [2]string{"old window (first 90%)", window + " " + unit + ", the sell-out tail left out"})
	}
	for _, row := range rows {
		fmt.Fprintf(w, "  %-22s %s\n", row[0], row[1])
	}
}

func formatProfile(p []step) string {
	var parts []string
	for _, s := range p {
		parts = append(parts, fmt.Sprintf("%g/s×%s", s.Rate, s.Len))
	}
	return strings.Join(parts, "→")
}

// auditFailed reports a run whose audit found inventory sold beyond what
// exists or stored bookings that are not the acknowledged ones (for
// orders, also not as asked, mispriced, or past a tier, category or
// voucher limit), or could not run.
func (r result) auditFailed() bool {
	return r.AuditErr != "" || (r.Audit != nil && (r.Audit.Oversold > 0 || r.Audit.DoubleSold > 0 || r.Audit.CounterDiffers)) ||
		(r.Reconcile != nil && !r.Reconcile.ok()) || (r.Orders != nil && r.Orders.failed())
}
