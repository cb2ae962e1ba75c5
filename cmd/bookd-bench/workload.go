package main

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync/atomic"
)

// The workloads of a run.
const (
	workloadGA          = "ga"           // one hot general-admission event
	workloadSeats       = "seats"        // assigned seats, front rows hot
	workloadHoldConfirm = "hold-confirm" // hold GA tickets, then confirm
	workloadBrowse      = "browse"       // availability reads, stale allowed (as an edge reads)
	// workloadBrowseLinear is availability reads, linearizable.
	workloadBrowseLinear = "browse-lin"
	// workloadOrder is orders of several items on the two events of a
	// tour, priced by category and tier, some with a voucher (bookd only).
	workloadOrder = "order"
)

// workloads run against every system; peers runs them all by default.
var workloads = []string{workloadGA, workloadSeats, workloadHoldConfirm, workloadBrowse, workloadBrowseLinear}

// bookdWorkloads run against bookd only: etcd and PostgreSQL have no
// orders in their usual way of booking.
var bookdWorkloads = []string{workloadOrder}

// bookdOnly reports whether workload runs against bookd only.
func bookdOnly(workload string) bool { return slices.Contains(bookdWorkloads, workload) }

// isRead reports whether workload reads rather than books.
func isRead(workload string) bool {
	return workload == workloadBrowse || workload == workloadBrowseLinear
}

// venue is the inventory of a run and what the load generator knows has
// been sold of it: acknowledged sales are marked here so that customers
// pick seats a fresh seat map would show as free, and the run can stop when
// everything is sold. Conflicts still happen: customers race for the same
// free seats, most of all in the front rows.
type venue struct {
	inv Inventory
	// stopAt is the share of the inventory whose sale ends the run: the
	// last seats of a hot venue sell slowly whatever the system, as
	// customers hunt for them, so that tail is left out of the rates.
	stopAt     float64
	rows       int
	perRow     int
	rowZipf    float64
	taken      []atomic.Bool // by seat number, row-major: sold, or refused to someone
	soldSeat   atomic.Int64  // seats whose sale was acknowledged
	takenSeats atomic.Int64  // seats marked taken
	tickets    atomic.Int64  // GA tickets acknowledged
	// tours, when set, are the events the order workload sells instead
	// (see order.go); inv then only names them.
	tours *tourSet
}

// newGAVenue is one event of capacity tickets.
func newGAVenue(capacity int64) *venue {
	return &venue{inv: Inventory{Name: "bench-ga", Capacity: capacity}}
}

// newSeatedVenue is rows × perRow seats labelled R001-S0001 (front row
// first); rowZipf > 1 skews customers toward the front rows.
func newSeatedVenue(rows, perRow int, rowZipf float64) *venue {
	v := &venue{rows: rows, perRow: perRow, rowZipf: rowZipf, taken: make([]atomic.Bool, rows*perRow)}
	v.inv = Inventory{Name: "bench-seats", Seats: make([]string, 0, rows*perRow)}
	for r := range rows {
		for s := range perRow {
			v.inv.Seats = append(v.inv.Seats, fmt.Sprintf("R%03d-S%04d", r+1, s+1))
		}
	}
	return v
}

func (v *venue) seated() bool { return len(v.inv.Seats) > 0 }

// soldOut reports whether every ticket is known sold, or every seat known
// taken.
func (v *venue) soldOut() bool {
	if v.tours != nil {
		return v.tours.soldOut()
	}
	if v.seated() {
		return v.takenSeats.Load() >= int64(len(v.taken))
	}
	return v.tickets.Load() >= v.inv.Capacity
}

// sold is the share of the inventory whose sale was acknowledged.
func (v *venue) sold() float64 {
	if v.tours != nil {
		return v.tours.sold()
	}
	if v.seated() {
		return float64(v.soldSeat.Load()) / float64(len(v.taken))
	}
	return float64(v.tickets.Load()) / float64(v.inv.Capacity)
}

// done reports whether the run should end: stopAt of the inventory is
// sold, or none of it looks free.
func (v *venue) done() bool {
	return v.soldOut() || (v.stopAt > 0 && v.sold() >= v.stopAt)
}

// customer makes the attempts of one simulated customer; one per client
// goroutine, so it needs no lock.
type customer struct {
	id   string
	n    int
	v    *venue
	rnd  *rand.Rand
	zipf *rand.Zipf
	// seatNos are the seat numbers of the last seated attempt.
	seatNos []int
}

func newCustomer(v *venue, run string, i int, seed uint64) *customer {
	c := &customer{id: fmt.Sprintf("%s-c%d", run, i), v: v, rnd: rand.New(rand.NewPCG(seed, uint64(i)))}
	if v.seated() {
		c.zipf = rand.NewZipf(c.rnd, v.rowZipf, 1, uint64(v.rows-1))
	}
	return c
}

// next is the customer's next attempt: 1–4 GA tickets, or 1–4 adjacent
// seats in a row drawn by the zipf skew that look free. ok is false when
// the venue looks sold out.
func (c *customer) next() (Attempt, bool) {
	c.n++
	a := Attempt{Key: fmt.Sprintf("%s-%d", c.id, c.n), Customer: c.id}
	if c.v.tours != nil {
		return c.v.tours.next(c.rnd, a)
	}
	want := 1 + c.rnd.IntN(4)
	if !c.v.seated() {
		left := c.v.inv.Capacity - c.v.tickets.Load()
		if left <= 0 {
			return a, false
		}
		a.Quantity = int64(min(int64(want), left))
		return a, true
	}
	nos := c.pickSeats(want)
	if len(nos) == 0 {
		return a, false
	}
	c.seatNos = nos
	for _, no := range nos {
		a.Seats = append(a.Seats, c.v.inv.Seats[no])
	}
	return a, true
}

// pickSeats finds up to want adjacent free-looking seats: in a row drawn by
// the zipf skew, from a random seat on. A customer who sees the drawn row
// full draws again, so that as the front fills up demand moves to the best
// rows left in proportion to their appeal, rather than all of it onto the
// next row; after a few full draws it takes the first row with room.
func (c *customer) pickSeats(want int) []int {
	v := c.v
	row := 0
	for range 8 {
		row = int(c.zipf.Uint64())
		if nos := c.seatsInRow(row, want); nos != nil {
			return nos
		}
	}
	for range v.rows {
		row = (row + 1) % v.rows
		if nos := c.seatsInRow(row, want); nos != nil {
			return nos
		}
	}
	return nil
}

// seatsInRow returns up to want adjacent free-looking seats of row, or nil
// when the row looks full.
func (c *customer) seatsInRow(row, want int) []int {
	v := c.v
	base := row * v.perRow
	start := c.rnd.IntN(v.perRow)
	for off := range v.perRow {
		s := (start + off) % v.perRow
		if v.taken[base+s].Load() {
			continue
		}
		nos := []int{base + s}
		for len(nos) < want && s+len(nos) < v.perRow && !v.taken[base+s+len(nos)].Load() {
			nos = append(nos, base+s+len(nos))
		}
		return nos
	}
	return nil
}

// sold records an acknowledged sale of the customer's last attempt.
func (c *customer) sold(a Attempt) {
	if c.v.tours != nil {
		c.v.tours.soldOrder(a)
		return
	}
	if !c.v.seated() {
		c.v.tickets.Add(a.Quantity)
		return
	}
	c.v.soldSeat.Add(int64(len(c.seatNos)))
	c.markTaken()
}

// conflicted records that the system refused the customer's last attempt,
// with err, because some of its seats are taken (or, for an order, its
// voucher used up). Which seats is not said, so all of them are taken off
// the customer's map, as a refreshed seat map would mostly show; this loses
// a few free seats at the end, equally for every system.
func (c *customer) conflicted(err error) {
	if c.v.tours != nil {
		c.v.tours.conflicted(err)
		return
	}
	if c.v.seated() {
		c.markTaken()
	}
}

func (c *customer) markTaken() {
	for _, no := range c.seatNos {
		if !c.v.taken[no].Swap(true) {
			c.v.takenSeats.Add(1)
		}
	}
}

// soldShare is the part of the venue known sold, for progress lines.
func (v *venue) soldShare() string { return fmt.Sprintf("%.0f%%", 100*v.sold()) }
