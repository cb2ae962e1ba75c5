package fsm_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bookd/bookd/fsm"
	fsmv1 "github.com/bookd/bookd/proto/bookd/fsm/v1"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/hashicorp/raft"
	"google.golang.org/protobuf/proto"
)

// buildState applies a little of everything: events, holds active, expired,
// released and confirmed, bookings live and cancelled, idempotency records
// and members. It returns the events' ids.
func buildState(h *harness) []string {
	h.t.Helper()
	ga := h.createEvent(gaEvent(20)).GetId()
	mixed := h.createEvent(mixedEvent()).GetId()
	seats := h.createEvent(seatEvent("R1", "R2", "R3")).GetId()
	h.do(gaEvent(-1)) // refused

	expiring := h.hold(gaHold(ga, 2, 5*time.Second))
	h.hold(seatHold(mixed, 5*time.Second, "A4"))
	released := h.hold(gaHold(mixed, 3, time.Minute))
	h.release(released.GetId())
	confirmed := h.hold(seatHold(seats, time.Minute, "R1", "R2"))
	h.confirm(confirmed.GetId())
	keyed := gaHold(ga, 4, time.Hour)
	keyed.IdempotencyKey = "idem-1"
	h.do(keyed)
	b := h.book(gaBook(mixed, 2))
	h.book(seatBook(mixed, "A1"))
	h.now = t0 + 5*sec
	h.cancel(b.GetId())
	h.hold(seatHold(mixed, 30*time.Second, "A2")) // active at the end
	h.do(&fsmv1.RegisterMember{Id: "n1", RpcAddress: "10.0.0.1:1"})
	h.f.ApplyBatch([]*raft.Log{{Index: h.next, Type: raft.LogNoop}})
	h.next++
	if st := h.readHold(expiring.GetId(), 0).GetStatus(); st != bookdv1.HoldStatus_HOLD_STATUS_EXPIRED {
		h.t.Fatalf("buildState: hold %s is %v, want expired", expiring.GetId(), st)
	}
	return []string{ga, mixed, seats}
}

// followUp applies the same commands to a store restored from a snapshot
// and to its source, to show that the restored state behaves the same.
func followUp(h *harness, events []string) []*fsm.Result {
	h.t.Helper()
	h.now = t0 + 20*sec // before the seat hold on A2 expires
	var out []*fsm.Result
	out = append(out, h.doAll(
		gaHold(events[0], 20, time.Minute), // refused: 4 held
		seatHold(events[1], time.Minute, "A2"),
		seatHold(events[1], time.Minute, "A3"),
		&bookdv1.CancelBookingRequest{BookingId: "bk_13"},
	)...)
	h.now = t0 + 40*sec // the hold on A2 expires
	req := gaHold(events[0], 4, time.Hour)
	req.IdempotencyKey = "idem-1"
	out = append(out, h.doAll(seatHold(events[1], time.Minute, "A2"), req, &fsmv1.ExpireHolds{})...)
	return out
}

func TestSnapshotRestore(t *testing.T) {
	src := newHarness(t)
	events := buildState(src)
	applied := src.f.AppliedIndex()
	data := snapshotOf(t, src.f)

	dst := newHarness(t)
	if err := restore(t, dst.f, data); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	if got := dst.f.AppliedIndex(); got != applied {
		t.Errorf("AppliedIndex after Restore %d, want %d", got, applied)
	}
	sameDigest(t, src.f, dst.f)
	for _, ev := range events {
		if a, b := src.avail(ev), dst.avail(ev); !proto.Equal(a, b) {
			t.Errorf("availability of %s: source %v, restored %v", ev, a, b)
		}
		se, _ := src.f.Event(ev)
		de, err := dst.f.Event(ev)
		if err != nil || !proto.Equal(se, de) {
			t.Errorf("event %s: source %v, restored %v (%v)", ev, se, de, err)
		}
	}
	if m, err := dst.f.Members(); err != nil || len(m) != 1 {
		t.Errorf("members after restore: %v, %v", m, err)
	}
	if again := snapshotOf(t, dst.f); !bytes.Equal(again, data) {
		t.Errorf("a snapshot of the restored state differs from the one restored")
	}

	// The restored store behaves as its source: same answers, same state.
	dst.next = applied + 1
	a, b := followUp(src, events), followUp(dst, events)
	for i := range a {
		if !sameResult(a[i], b[i]) {
			t.Errorf("follow-up %d: source %v / %v, restored %v / %v", i, a[i].Response, a[i].Err, b[i].Response, b[i].Err)
		}
	}
	sameDigest(t, src.f, dst.f)

	// And the restored state is what a restart finds.
	dst.reopen()
	sameDigest(t, src.f, dst.f)
}

// A restore replaces whatever state the store had, not merges with it.
func TestRestoreReplacesState(t *testing.T) {
	src := newHarness(t)
	buildState(src)
	data := snapshotOf(t, src.f)

	dst := newHarness(t)
	dst.createEvent(&bookdv1.CreateEventRequest{Name: "only here", Capacity: 1})
	dst.do(&fsmv1.RegisterMember{Id: "zz", RpcAddress: "z:1"})
	if err := restore(t, dst.f, data); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	sameDigest(t, src.f, dst.f)
	if ev, err := dst.f.Event("ev_1"); err != nil || ev.GetName() == "only here" {
		t.Errorf("event ev_1 after restore: %v, %v", ev, err)
	}
	if m, _ := dst.f.Members(); slices.ContainsFunc(m, func(m fsm.Member) bool { return m.ID == "zz" }) {
		t.Errorf("member of the replaced state survived: %v", m)
	}
}

// The snapshot is the state when Snapshot was called, however long Persist
// takes to run and whatever is applied meanwhile.
func TestSnapshotIsPointInTime(t *testing.T) {
	src := newHarness(t)
	events := buildState(src)
	applied, want := digest(t, src.f)

	snap, err := src.f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	followUp(src, events)
	src.createEvent(gaEvent(9))
	var sink memSink
	if err := snap.Persist(&sink); err != nil {
		t.Fatalf("Persist: %v", err)
	}
	snap.Release()

	dst := newHarness(t)
	if err := restore(t, dst.f, sink.Bytes()); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	if got, sum := digest(t, dst.f); got != applied || !bytes.Equal(sum, want) {
		t.Errorf("restored index %d digest %x, want the state at Snapshot: %d %x", got, sum, applied, want)
	}
}

// A snapshot at or below the stored index is one Raft restores at start-up
// before replaying the log: the newer stored state is kept.
func TestRestoreOlderSnapshotKeepsState(t *testing.T) {
	tests := []struct {
		name  string
		extra int // entries applied after the snapshot
	}{
		{"same index", 0},
		{"older", 1},
		{"much older", 25},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			events := buildState(h)
			data := snapshotOf(t, h.f)
			for i := range tt.extra {
				h.now = t0 + int64(100+i)*sec
				h.do(gaBook(events[0], 1))
			}
			applied, before := digest(t, h.f)
			names := dirNames(t, h.dir)
			if err := restore(t, h.f, data); err != nil {
				t.Fatalf("Restore of an older snapshot: %v", err)
			}
			if got, after := digest(t, h.f); got != applied || !bytes.Equal(after, before) {
				t.Errorf("Restore of a snapshot at or below index %d changed the state (now at %d)", applied, got)
			}
			if got := dirNames(t, h.dir); !slices.Equal(got, names) {
				t.Errorf("Restore left %v in the data directory, had %v", got, names)
			}
			h.do(gaBook(events[0], 1)) // still usable
		})
	}
	t.Run("empty into empty", func(t *testing.T) {
		h := newHarness(t)
		data := snapshotOf(t, newHarness(t).f)
		if err := restore(t, h.f, data); err != nil {
			t.Fatalf("Restore of an empty snapshot: %v", err)
		}
		if h.f.AppliedIndex() != 0 {
			t.Errorf("AppliedIndex %d, want 0", h.f.AppliedIndex())
		}
	})
}

// A torn or corrupt snapshot is refused and the current state stays.
func TestRestoreCorruptSnapshot(t *testing.T) {
	src := newHarness(t)
	buildState(src)
	data := snapshotOf(t, src.f)
	if len(data) < 200 {
		t.Fatalf("snapshot of %d bytes is too small for this test", len(data))
	}

	dst := newHarness(t)
	ev := dst.createEvent(gaEvent(3)).GetId()
	dst.hold(gaHold(ev, 1, time.Minute))
	applied, before := digest(t, dst.f)
	names := dirNames(t, dst.dir)
	if applied >= src.f.AppliedIndex() {
		t.Fatalf("the target must be behind the snapshot")
	}

	type corruption struct {
		name string
		data []byte
	}
	var cases []corruption
	n := len(data)
	for _, cut := range []int{0, 1, 7, 8, 15, 16, 17, 20, n / 3, n / 2, n - 13, n - 12, n - 11, n - 5, n - 4, n - 3, n - 1} {
		cases = append(cases, corruption{fmt.Sprintf("truncated to %d of %d", cut, n), slices.Clone(data[:cut])})
	}
	// Every byte of the header and trailer, and bytes spread over the body.
	// Flipping 0x01 or 0x80 in the header's index only raises the index
	// (see TestRestoreCorruptHeaderIndex for lowering it).
	positions := []int{}
	for i := range 16 {
		positions = append(positions, i)
	}
	for i := 16; i < n-12; i += max(1, (n-28)/60) {
		positions = append(positions, i)
	}
	for i := n - 12; i < n; i++ {
		positions = append(positions, i)
	}
	for _, pos := range positions {
		for _, mask := range []byte{0x01, 0x80} {
			c := slices.Clone(data)
			c[pos] ^= mask
			cases = append(cases, corruption{fmt.Sprintf("byte %d ^ %#x", pos, mask), c})
		}
	}
	cases = append(cases,
		corruption{"not a snapshot", []byte("BOOKDSN\x02 and some more bytes to read")},
		corruption{"trailing record count off by one", func() []byte {
			c := slices.Clone(data)
			c[n-5]++
			return c
		}()},
	)

	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			err := restore(t, dst.f, tt.data)
			if err == nil {
				t.Fatalf("Restore of a corrupt snapshot succeeded (index now %d)", dst.f.AppliedIndex())
			}
			if !strings.HasPrefix(err.Error(), "fsm: ") {
				t.Errorf("error %q lacks the fsm: prefix", err)
			}
			if got, after := digest(t, dst.f); got != applied || !bytes.Equal(after, before) {
				t.Fatalf("a refused Restore changed the state (index %d)", got)
			}
			if got := dirNames(t, dst.dir); !slices.Equal(got, names) {
				t.Errorf("a refused Restore left %v in the data directory, had %v", got, names)
			}
		})
	}

	// The store is still whole and usable, and a good snapshot still restores.
	checkAvail(t, dst.avail(ev), 2, 1, 0, nil)
	dst.hold(gaHold(ev, 2, time.Minute))
	if err := restore(t, dst.f, data); err != nil {
		t.Fatalf("Restore of the good snapshot after the bad ones: %v", err)
	}
	sameDigest(t, src.f, dst.f)
}

// Restore decides on the header's index before reading the rest, so the
// header carries its own checksum: a bit flip that lowered the index to or
// below the stored one would otherwise make Restore keep a store that is
// behind the index Raft then believes in.
func TestRestoreCorruptHeaderIndex(t *testing.T) {
	src := newHarness(t)
	for range 12 {
		src.do(&fsmv1.ExpireHolds{})
	}
	data := snapshotOf(t, src.f) // index 12 = 0b1100
	dst := newHarness(t)
	for range 5 {
		dst.do(&fsmv1.ExpireHolds{})
	}
	data[15] ^= 0x08 // index 4, below the target's 5
	if err := restore(t, dst.f, data); err == nil {
		t.Errorf("Restore of a snapshot with a corrupt header returned nil; the store stays at index %d, Raft thinks 12", dst.f.AppliedIndex())
	}
}

// failingSink refuses writes after limit bytes.
type failingSink struct {
	memSink
	limit int
}

func (s *failingSink) Write(p []byte) (int, error) {
	if s.Len()+len(p) > s.limit {
		return 0, errors.New("disk full")
	}
	return s.memSink.Write(p)
}

func TestPersistFailure(t *testing.T) {
	h := newHarness(t)
	buildState(h)
	full := snapshotOf(t, h.f)
	for _, limit := range []int{0, 10, len(full) / 2, len(full) - 1} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			snap, err := h.f.Snapshot()
			if err != nil {
				t.Fatal(err)
			}
			defer snap.Release()
			sink := &failingSink{limit: limit}
			if err := snap.Persist(sink); err == nil {
				t.Fatalf("Persist into a sink that fails after %d bytes succeeded", limit)
			}
			if !sink.canceled || sink.closed {
				t.Errorf("after a failed Persist the sink is canceled=%v closed=%v, want canceled", sink.canceled, sink.closed)
			}
		})
	}
}

// Reads on other goroutines see either the old state or the restored one.
func TestRestoreWithConcurrentReads(t *testing.T) {
	src := newHarness(t)
	events := buildState(src)
	data := snapshotOf(t, src.f)
	srcAvail := src.avail(events[1])

	dst := newHarness(t)
	dst.createEvent(mixedEvent()) // ev_1; events[1] does not exist before the restore

	stop := make(chan struct{})
	errs := make(chan error, 3)
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, _, err := dst.f.Digest(); err != nil {
					errs <- err
					return
				}
				a, err := dst.f.Availability(events[1], t0)
				var fe *fsm.Error
				switch {
				case errors.As(err, &fe) && fe.Code == fsm.CodeNotFound: // before the restore
				case err != nil:
					errs <- err
					return
				case a.GetCapacity() != srcAvail.GetCapacity():
					errs <- fmt.Errorf("availability %v mixes states", a)
					return
				}
			}
		}()
	}
	err := restore(t, dst.f, data)
	close(stop)
	wg.Wait()
	close(errs)
	if err != nil {
		t.Fatalf("Restore: %v", err)
	}
	for err := range errs {
		t.Error(err)
	}
	sameDigest(t, src.f, dst.f)
}

// Open finishes or undoes a Restore cut short by a crash. The directory
// names are Restore's: the live store "state", the snapshot being loaded
// "state.restore", the store being replaced "state.old".
func TestOpenRecoversInterruptedRestore(t *testing.T) {
	tests := []struct {
		name  string
		crash func(t *testing.T, dir string)
	}{
		{"while loading the snapshot", func(t *testing.T, dir string) {
			mkJunk(t, filepath.Join(dir, "state.restore"))
		}},
		{"between the two renames", func(t *testing.T, dir string) {
			mkJunk(t, filepath.Join(dir, "state.restore"))
			if err := os.Rename(filepath.Join(dir, "state"), filepath.Join(dir, "state.old")); err != nil {
				t.Fatal(err)
			}
		}},
		{"before removing the old store", func(t *testing.T, dir string) {
			mkJunk(t, filepath.Join(dir, "state.old"))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			buildState(h)
			applied, want := digest(t, h.f)
			names := dirNames(t, h.dir)
			h.close()
			tt.crash(t, h.dir)
			h.open()
			if got, sum := digest(t, h.f); got != applied || !bytes.Equal(sum, want) {
				t.Errorf("after recovery the store is at %d %x, want %d %x", got, sum, applied, want)
			}
			if got := dirNames(t, h.dir); !slices.Equal(got, names) {
				t.Errorf("after recovery the directory holds %v, want %v", got, names)
			}
		})
	}
}

func mkJunk(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "junk"), []byte("junk"), 0o644); err != nil {
		t.Fatal(err)
	}
}
