package fsm_test

import (
	"fmt"
	"math/rand"
	"testing"
	"time"

	"github.com/bookd/bookd/fsm"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
)

// Claims on a hot seated event read its seats from the store until they
// are worth a scan, then from memory; memory and store agree all along.
func TestHotEventSeatsMoveIntoMemory(t *testing.T) {
	h := newHarness(t)
	var rows []*bookdv1.SeatRow
	for r := range 32 {
		rows = append(rows, row(fmt.Sprint("R", r), 100))
	}
	ev := h.createEvent(mapEvent(section("A", rows...)))
	loadedAt := -1
	for i := range 200 {
		seat := fmt.Sprintf("A-R%d-%d", i%32, 1+i/32)
		h.book(seatBook(ev.Id, seat))
		wantErr(t, h.do(seatBook(ev.Id, seat)), fsm.CodeFailedPrecondition, fsm.ReasonSeatTaken)
		n, err := fsm.CheckSeatIndex(h.f)
		if err != nil {
			t.Fatalf("after booking %d: %v", i, err)
		}
		if n == 1 && loadedAt < 0 {
			loadedAt = i
		}
	}
	// 3,200 seats load after 100 reads missed memory; each booking reads
	// its seat twice (check, take) and the refused retry once.
	if loadedAt < 0 || loadedAt > 50 {
		t.Fatalf("the event's seats came into memory after %d bookings, want within 50", loadedAt)
	}
	if a := h.avail(ev.Id); a.GetBookedSeats() != 200 {
		t.Fatalf("booked seats %d, want 200", a.GetBookedSeats())
	}
	h.reopen()
	if n, err := fsm.CheckSeatIndex(h.f); err != nil || n != 0 {
		t.Fatalf("after reopening: %d events in memory, err %v; want none", n, err)
	}
	wantErr(t, h.do(seatBook(ev.Id, "A-R0-1")), fsm.CodeFailedPrecondition, fsm.ReasonSeatTaken)
}

// Where seats are read from never changes an answer or the state: one
// random log applied with every seated event in memory, with none, and with
// room for a few (events come and go) gives the same results and digests.
func TestSeatsInMemoryDoNotChangeAnswers(t *testing.T) {
	for _, seed := range []int64{11, 12, 13} {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			logs := newWorkload(t, seed).logs(600)
			r := rand.New(rand.NewSource(seed))
			var first *harness
			var want []any
			for _, limit := range []int{0, 1, 8} {
				h := newHarness(t)
				if limit > 0 {
					fsm.LimitSeatsInMemory(h.f, limit)
				}
				got := run(h, logs, func() int { return 1 + r.Intn(8) })
				if _, err := fsm.CheckSeatIndex(h.f); err != nil {
					t.Fatalf("limit %d: %v", limit, err)
				}
				if first == nil {
					first, want = h, got
					continue
				}
				sameResults(t, want, got)
				sameDigest(t, first.f, h.f)
			}
		})
	}
}

// A snapshot restored over a store drops the seats in memory: claims then
// see the restored seats, not the ones the replaced store had.
func TestRestoreDropsSeatsInMemory(t *testing.T) {
	src := newHarness(t)
	ev := src.createEvent(seatEvent("A1", "A2"))
	for range 3 {
		src.createEvent(gaEvent(1)) // the snapshot is ahead of the store below
	}
	snap := snapshotOf(t, src.f)

	h := newHarness(t)
	h.createEvent(seatEvent("A1", "A2")) // the same event id
	h.book(seatBook(ev.Id, "A1"))
	if n, _ := fsm.CheckSeatIndex(h.f); n != 1 {
		t.Fatalf("%d events in memory before the restore, want 1", n)
	}
	if err := restore(t, h.f, snap); err != nil {
		t.Fatal(err)
	}
	h.next = h.f.AppliedIndex() + 1
	h.now += int64(time.Second)
	h.book(seatBook(ev.Id, "A1")) // free in the snapshot
	if _, err := fsm.CheckSeatIndex(h.f); err != nil {
		t.Fatal(err)
	}
}

// Within one batch, an event's seats come into memory after the batch has
// cached some of them, change there, and leave memory again (another event
// needs the room): the batch must not answer from what it cached before.
func TestSeatsLeavingMemoryMidBatchAreReadAgain(t *testing.T) {
	h := newHarness(t)
	fsm.LimitSeatsInMemory(h.f, 100) // room for one 64-seat event
	labels := func(prefix string) []string {
		var s []string
		for i := 1; i <= 64; i++ {
			s = append(s, fmt.Sprint(prefix, i))
		}
		return s
	}
	a := h.createEvent(seatEvent(labels("A")...))
	b := h.createEvent(seatEvent(labels("B")...))
	book := func(ev, key string, seats ...string) *bookdv1.BookRequest {
		r := seatBook(ev, seats...)
		r.IdempotencyKey = key
		return r
	}
	_, res := h.applyBatchEntry(
		stampedCommand(t0+1, book(a.Id, "k1", "A3", "ZZ")), // reads A3 (free) from the store, then fails
		stampedCommand(t0+2, book(a.Id, "k2", "A4")),       // A's seats come into memory
		stampedCommand(t0+3, book(a.Id, "k3", "A3")),       // A3 booked, in memory
		stampedCommand(t0+4, book(b.Id, "k4", "B1")),
		stampedCommand(t0+5, book(b.Id, "k5", "B2")), // B's seats come in, A's go
		stampedCommand(t0+6, book(a.Id, "k6", "A3")), // must see A3 booked
	)
	wantErr(t, res[0], fsm.CodeInvalidArgument, fsm.ReasonUnknownSeat)
	for _, i := range []int{1, 2, 3, 4} {
		mustOK[*bookdv1.BookResponse](t, res[i])
	}
	wantErr(t, res[5], fsm.CodeFailedPrecondition, fsm.ReasonSeatTaken, "A3")
	if _, err := fsm.CheckSeatIndex(h.f); err != nil {
		t.Fatal(err)
	}
}
