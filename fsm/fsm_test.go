package fsm_test

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/bookd/bookd/fsm"
	fsmv1 "github.com/bookd/bookd/proto/bookd/fsm/v1"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/hashicorp/raft"
	"google.golang.org/protobuf/proto"
)

func TestOpenEmpty(t *testing.T) {
	h := newHarness(t)
	if got := h.f.AppliedIndex(); got != 0 {
		t.Errorf("AppliedIndex of a new store = %d, want 0", got)
	}
	events, next, err := h.f.ListEvents(fsm.EventFilter{}, "", 10)
	if err != nil || len(events) != 0 || next != "" {
		t.Errorf("ListEvents on a new store = %v, %q, %v", events, next, err)
	}
	members, err := h.f.Members()
	if err != nil || len(members) != 0 {
		t.Errorf("Members on a new store = %v, %v", members, err)
	}
	if applied, _ := digest(t, h.f); applied != 0 {
		t.Errorf("Digest index %d, want 0", applied)
	}
}

// Many commands in one batch are applied in order, each seeing the effects
// of those before it.
func TestApplyBatchRace(t *testing.T) {
	tests := []struct {
		name     string
		capacity int64
		holds    int
		quantity func(i int) int64
	}{
		{"200 holds of 1 for 50", 50, 200, func(int) int64 { return 1 }},
		{"200 holds of 1-3 for 50", 50, 200, func(i int) int64 { return int64(i%3 + 1) }},
		{"10 holds of 5 for 50", 50, 10, func(int) int64 { return 5 }},
		{"60 holds of 50 for 1000", 1000, 60, func(int) int64 { return 50 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			ev := h.createEvent(gaEvent(tt.capacity)).GetId()
			reqs := make([]proto.Message, tt.holds)
			for i := range reqs {
				r := gaHold(ev, tt.quantity(i), time.Minute)
				r.CustomerId = fmt.Sprintf("c%d", i)
				reqs[i] = r
			}
			res := h.doAll(reqs...)
			var held, left int64 = 0, tt.capacity
			for i, r := range res {
				q := tt.quantity(i)
				if q <= left {
					hd := mustOK[*bookdv1.HoldResponse](t, r).GetHold()
					if hd.GetQuantity() != q || hd.GetCustomerId() != fmt.Sprintf("c%d", i) {
						t.Errorf("hold %d is %v, want %d tickets for c%d", i, hd, q, i)
					}
					held += q
					left -= q
				} else {
					wantErr(t, r, fsm.CodeFailedPrecondition, fsm.ReasonSoldOut)
				}
			}
			a := h.avail(ev)
			checkAvail(t, a, tt.capacity-held, held, 0, nil)
			if held > tt.capacity {
				t.Errorf("held %d tickets of %d", held, tt.capacity)
			}
		})
	}
}

func TestApplyBatchOneBatchEqualsSingles(t *testing.T) {
	reqs := func(ev string) []proto.Message {
		return []proto.Message{
			gaHold(ev, 3, time.Minute), seatHold(ev, time.Minute, "A1"), seatBook(ev, "A1"), seatBook(ev, "A2"),
			&bookdv1.ConfirmRequest{HoldId: "hd_2"}, gaBook(ev, 7), gaBook(ev, 1), &bookdv1.CancelBookingRequest{BookingId: "bk_7"},
			gaBook(ev, 1), &fsmv1.RegisterMember{Id: "n1", RpcAddress: "x:1"},
		}
	}
	single := newHarness(t)
	batched := newHarness(t)
	ev := single.createEvent(mixedEvent()).GetId()
	batched.createEvent(mixedEvent())
	var singleRes []*fsm.Result
	for _, r := range reqs(ev) {
		singleRes = append(singleRes, single.do(r))
	}
	batchRes := batched.doAll(reqs(ev)...)
	for i := range singleRes {
		if !sameResult(singleRes[i], batchRes[i]) {
			t.Errorf("command %d: alone %v / %v, in a batch %v / %v", i, singleRes[i].Response, singleRes[i].Err, batchRes[i].Response, batchRes[i].Err)
		}
	}
	sameDigest(t, single.f, batched.f)
}

// Raft replays entries from its last snapshot: entries at or below the
// applied index must change nothing and return nil.
func TestApplyBatchSkipsAppliedEntries(t *testing.T) {
	h := newHarness(t)
	var cmds []*fsmv1.Command
	cmds = append(cmds, stampedCommand(t0, mixedEvent()))
	for i := range 9 {
		cmds = append(cmds, stampedCommand(t0+int64(i)*sec, gaHold("ev_1", 1, time.Minute)))
	}
	logs := h.entries(cmds...)
	h.f.ApplyBatch(logs)
	applied, before := digest(t, h.f)
	if applied != 10 {
		t.Fatalf("AppliedIndex %d, want 10", applied)
	}
	availBefore := h.avail("ev_1")
	reversed := slices.Clone(logs)
	slices.Reverse(reversed)

	tests := []struct {
		name string
		logs []*raft.Log
	}{
		{"whole batch again", logs},
		{"last entry again", logs[9:]},
		{"first entry again", logs[:1]},
		{"middle", logs[3:6]},
		{"reversed", reversed},
		{"empty batch", nil},
		{"noop at an applied index", []*raft.Log{{Index: 5, Type: raft.LogNoop}}},
		{"undecodable at an applied index", []*raft.Log{{Index: 4, Type: raft.LogCommand, Data: []byte("junk")}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := h.f.ApplyBatch(tt.logs)
			if len(out) != len(tt.logs) {
				t.Fatalf("ApplyBatch returned %d results for %d entries", len(out), len(tt.logs))
			}
			for i, r := range out {
				if r != nil {
					t.Errorf("result %d for an applied entry is %v, want nil", i, r)
				}
			}
			if got, after := digest(t, h.f); got != applied || !bytes.Equal(after, before) {
				t.Errorf("re-applying changed the state (index %d)", got)
			}
			if a := h.avail("ev_1"); !proto.Equal(a, availBefore) {
				t.Errorf("availability %v, want %v", a, availBefore)
			}
		})
	}

	t.Run("overlapping batch", func(t *testing.T) {
		next := h.entries(stampedCommand(t0+20*sec, gaHold("ev_1", 1, time.Minute)))
		out := h.f.ApplyBatch(append(slices.Clone(logs[8:]), next...))
		if out[0] != nil || out[1] != nil {
			t.Errorf("results for applied entries %v, %v; want nil", out[0], out[1])
		}
		hd := mustOK[*bookdv1.HoldResponse](t, results(t, out[2:])[0]).GetHold()
		if hd.GetId() != "hd_11" {
			t.Errorf("new hold id %s, want hd_11", hd.GetId())
		}
		if got := h.f.AppliedIndex(); got != 11 {
			t.Errorf("AppliedIndex %d, want 11", got)
		}
		checkAvail(t, h.avail("ev_1"), 0, 10, 0, allSeats)
	})
}

func TestApplyBatchNonCommandEntries(t *testing.T) {
	h := newHarness(t)
	ev := h.createEvent(gaEvent(3)).GetId()
	logs := []*raft.Log{
		{Index: 2, Type: raft.LogNoop},
		{Index: 3, Type: raft.LogConfiguration, Data: []byte("not a command")},
		{Index: 4, Type: raft.LogBarrier},
		{Index: 5, Type: raft.LogCommand, Data: encode(t, stampedCommand(t0, gaHold(ev, 1, time.Minute)))},
		{Index: 6, Type: raft.LogNoop},
	}
	out := h.f.ApplyBatch(logs)
	for _, i := range []int{0, 1, 2, 4} {
		if out[i] != nil {
			t.Errorf("result for %v entry is %v, want nil", logs[i].Type, out[i])
		}
	}
	if hd := mustOK[*bookdv1.HoldResponse](t, results(t, out[3:4])[0]).GetHold(); hd.GetId() != "hd_5" {
		t.Errorf("hold id %s, want hd_5", hd.GetId())
	}
	if got := h.f.AppliedIndex(); got != 6 {
		t.Errorf("AppliedIndex %d, want 6 (the last entry, a no-op)", got)
	}
	h.next = 7
	h.reopen()
	if got := h.f.AppliedIndex(); got != 6 {
		t.Errorf("AppliedIndex after restart %d, want 6", got)
	}
}

func TestApplySingle(t *testing.T) {
	h := newHarness(t)
	out := h.f.Apply(&raft.Log{Index: 1, Type: raft.LogCommand, Data: encode(t, stampedCommand(t0, gaEvent(2)))})
	ev := mustOK[*bookdv1.CreateEventResponse](t, out.(*fsm.Result)).GetEvent()
	if ev.GetId() != "ev_1" {
		t.Errorf("event id %s, want ev_1", ev.GetId())
	}
	if again := h.f.Apply(&raft.Log{Index: 1, Type: raft.LogCommand, Data: encode(t, stampedCommand(t0, gaEvent(2)))}); again != nil {
		t.Errorf("Apply of an applied entry returned %v, want nil", again)
	}
}

func TestAppliedChanged(t *testing.T) {
	h := newHarness(t)
	ch := h.f.AppliedChanged()
	select {
	case <-ch:
		t.Fatal("AppliedChanged is closed before anything was applied")
	default:
	}
	h.do(gaEvent(1))
	select {
	case <-ch:
	default:
		t.Fatal("AppliedChanged not closed after an apply")
	}
	ch = h.f.AppliedChanged()
	h.f.ApplyBatch([]*raft.Log{{Index: 1, Type: raft.LogNoop}}) // already applied: the index does not move
	select {
	case <-ch:
		t.Error("AppliedChanged closed though the index did not move")
	default:
	}
	h.f.ApplyBatch([]*raft.Log{{Index: 2, Type: raft.LogNoop}})
	select {
	case <-ch:
	default:
		t.Error("AppliedChanged not closed after a no-op moved the index")
	}
}

// A waiter on another goroutine sees every index it waits for.
func TestAppliedChangedWaiter(t *testing.T) {
	h := newHarness(t)
	const target = 50
	done := make(chan uint64)
	go func() {
		for {
			ch := h.f.AppliedChanged()
			if got := h.f.AppliedIndex(); got >= target {
				done <- got
				return
			}
			<-ch
		}
	}()
	for range target {
		h.do(&fsmv1.ExpireHolds{})
	}
	select {
	case got := <-done:
		if got != target {
			t.Errorf("waiter saw index %d, want %d", got, target)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("waiter did not see the applied index reach the target")
	}
}

func TestRestart(t *testing.T) {
	h := newHarness(t)
	ev := h.createEvent(mixedEvent()).GetId()
	hd := h.hold(seatHold(ev, time.Minute, "A1"))
	ga := h.hold(gaHold(ev, 3, time.Minute))
	b := h.book(seatBook(ev, "A2"))
	key := gaBook(ev, 2)
	key.IdempotencyKey = "k"
	keyed := mustOK[*bookdv1.BookResponse](t, h.do(key))
	h.do(&fsmv1.RegisterMember{Id: "n1", RpcAddress: "10.0.0.1:7000"})
	h.now = t0 + 5*sec
	h.do(&fsmv1.ExpireHolds{})
	applied, before := digest(t, h.f)
	availBefore := h.avail(ev)

	for i := range 3 {
		t.Run(fmt.Sprint("restart ", i), func(t *testing.T) {
			h.reopen()
			if got := h.f.AppliedIndex(); got != applied {
				t.Errorf("AppliedIndex after restart %d, want %d", got, applied)
			}
			if got, after := digest(t, h.f); got != applied || !bytes.Equal(after, before) {
				t.Errorf("state changed across a restart")
			}
			if a := h.avail(ev); !proto.Equal(a, availBefore) {
				t.Errorf("availability after restart %v, want %v", a, availBefore)
			}
			if got := h.readHold(hd.GetId(), h.now); got.GetStatus() != bookdv1.HoldStatus_HOLD_STATUS_ACTIVE {
				t.Errorf("hold after restart %v", got)
			}
			if got := h.readBooking(b.GetId()); !proto.Equal(got, b) {
				t.Errorf("booking after restart %v, want %v", got, b)
			}
			if m, err := h.f.Members(); err != nil || len(m) != 1 || m[0] != (fsm.Member{ID: "n1", RPCAddress: "10.0.0.1:7000"}) {
				t.Errorf("members after restart %v, %v", m, err)
			}
		})
	}

	// Entries up to the stored index are not applied again; later ones are.
	replay := &raft.Log{Index: 2, Type: raft.LogCommand, Data: encode(t, stampedCommand(t0, seatHold(ev, time.Minute, "A3")))}
	if out := h.f.ApplyBatch([]*raft.Log{replay}); out[0] != nil {
		t.Errorf("replayed entry returned %v", out[0])
	}
	again := mustOK[*bookdv1.BookResponse](t, h.do(key))
	if !proto.Equal(again, keyed) {
		t.Errorf("keyed retry after restart %v, want %v", again, keyed)
	}
	h.confirm(ga.GetId())
	checkAvail(t, h.avail(ev), 5, 0, 5, []string{"A3", "A4", "A5"})
	// The clock survived too: a command stamped before +5s runs at +5s.
	h.now = t0
	if hd := h.hold(gaHold(ev, 1, time.Second)); hd.GetCreatedAt().AsTime().UnixNano() != t0+5*sec {
		t.Errorf("hold after restart created at %v, want t0+5s", hd.GetCreatedAt().AsTime())
	}
}

func TestReadsAfterClose(t *testing.T) {
	f, err := fsm.Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	f.ApplyBatch([]*raft.Log{{Index: 1, Type: raft.LogCommand, Data: encode(t, stampedCommand(t0, gaEvent(1)))}})
	if err := f.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	reads := map[string]func() error{
		"Event":        func() error { _, err := f.Event("ev_1"); return err },
		"Hold":         func() error { _, err := f.Hold("hd_1", t0); return err },
		"Booking":      func() error { _, err := f.Booking("bk_1"); return err },
		"Availability": func() error { _, err := f.Availability("ev_1", t0); return err },
		"ListEvents":   func() error { _, _, err := f.ListEvents(fsm.EventFilter{}, "", 10); return err },
		"ListBookings": func() error { _, _, err := f.ListBookings("ev_1", "", "", 10); return err },
		"Members":      func() error { _, err := f.Members(); return err },
		"Digest":       func() error { _, _, err := f.Digest(); return err },
	}
	for name, read := range reads {
		if err := read(); !errors.Is(err, fsm.ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", name, err)
		}
	}
}

func TestMembers(t *testing.T) {
	h := newHarness(t)
	res := h.doAll(
		&fsmv1.RegisterMember{Id: "n2", RpcAddress: "b:2"},
		&fsmv1.RegisterMember{Id: "n1", RpcAddress: "a:1"},
		&fsmv1.RegisterMember{Id: "n3", RpcAddress: "c:3"},
		&fsmv1.RegisterMember{Id: "n1", RpcAddress: "a:9"}, // re-register moves the address
		&fsmv1.UnregisterMember{Id: "n3"},
		&fsmv1.UnregisterMember{Id: "unknown"},
	)
	for i, r := range res {
		if r.Err != nil {
			t.Errorf("command %d refused: %v", i, r.Err)
		}
	}
	want := []fsm.Member{{ID: "n1", RPCAddress: "a:9"}, {ID: "n2", RPCAddress: "b:2"}}
	if got, err := h.f.Members(); err != nil || !slices.Equal(got, want) {
		t.Errorf("Members() = %v, %v; want %v", got, err, want)
	}

	invalid := []struct {
		name string
		req  *fsmv1.RegisterMember
		want string
	}{
		{"no id", &fsmv1.RegisterMember{RpcAddress: "a:1"}, "id: required"},
		{"no address", &fsmv1.RegisterMember{Id: "n4"}, "rpc_address: required"},
		{"control character", &fsmv1.RegisterMember{Id: "n\x00", RpcAddress: "a:1"}, "id: control"},
	}
	for _, tt := range invalid {
		t.Run(tt.name, func(t *testing.T) {
			wantErr(t, h.do(tt.req), fsm.CodeInvalidArgument, "", tt.want)
			if got, _ := h.f.Members(); !slices.Equal(got, want) {
				t.Errorf("a refused RegisterMember changed members to %v", got)
			}
		})
	}
}

// Reads may run on any goroutine while Raft applies; run with -race.
func TestConcurrentReads(t *testing.T) {
	h := newHarness(t)
	ev := h.createEvent(mixedEvent()).GetId()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for r := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var last uint64
			for {
				select {
				case <-stop:
					return
				default:
				}
				a, err := h.f.Availability(ev, t0)
				if err != nil {
					errs <- err
					return
				}
				if a.GetAppliedIndex() < last {
					errs <- fmt.Errorf("reader %d: applied index went from %d to %d", r, last, a.GetAppliedIndex())
					return
				}
				last = a.GetAppliedIndex()
				if a.GetHeldQuantity()+a.GetBookedQuantity()+a.GetAvailableQuantity() != a.GetCapacity() {
					errs <- fmt.Errorf("reader %d: inconsistent availability %v", r, a)
					return
				}
				if int64(len(a.GetFreeSeats()))+a.GetHeldSeats()+a.GetBookedSeats() != 5 {
					errs <- fmt.Errorf("reader %d: inconsistent seats %v", r, a)
					return
				}
				h.f.Hold("hd_2", t0)
				h.f.ListEvents(fsm.EventFilter{}, "", 10)
				h.f.ListBookings(ev, "", "", 10)
				h.f.Members()
				h.f.AppliedChanged()
				h.f.HoldsDue(t0)
				if _, _, err := h.f.Digest(); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for i := range 100 {
		h.now = t0 + int64(i)*sec
		switch i % 4 {
		case 0:
			h.do(gaHold(ev, 2, 3*time.Second))
		case 1:
			h.do(seatHold(ev, 2*time.Second, allSeats[i%5]))
		case 2:
			h.do(gaBook(ev, 1))
		case 3:
			h.do(&bookdv1.CancelBookingRequest{BookingId: id("bk", h.next-1)})
		}
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
