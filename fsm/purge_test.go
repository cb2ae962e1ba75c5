package fsm_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/bookd/bookd/fsm"
	fsmv1 "github.com/bookd/bookd/proto/bookd/fsm/v1"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"google.golang.org/protobuf/proto"
)

const day = 24 * time.Hour

func purgeAt(h *harness, idemBefore, feedBefore time.Duration) *fsm.Result {
	h.t.Helper()
	p := &fsmv1.Purge{}
	if idemBefore != 0 {
		p.IdempotencyBeforeUnixNanos = t0 + idemBefore.Nanoseconds()
	}
	if feedBefore != 0 {
		p.FeedBeforeUnixNanos = t0 + feedBefore.Nanoseconds()
	}
	return h.do(p)
}

// Purge never forgets an idempotency record younger than 24 hours by the
// state machine's clock, nor feed records of the future.
func TestPurgeRefused(t *testing.T) {
	h := newHarness(t)
	h.createEvent(gaEvent(1))
	h.at(day + time.Hour)
	wantErr(t, purgeAt(h, time.Hour+1, 0), fsm.CodeInvalidArgument, "", "idempotency_before_unix_nanos: records younger than 24h0m0s are kept")
	wantErr(t, purgeAt(h, 0, day+time.Hour+1), fsm.CodeInvalidArgument, "", "feed_before_unix_nanos: in the future")
	mustOK[*fsmv1.Purge](t, purgeAt(h, time.Hour, day+time.Hour))
	// The clock is the greatest stamp seen: an older stamp does not make an
	// earlier cut-off look old enough.
	h.at(0)
	wantErr(t, purgeAt(h, time.Hour+time.Second, 0), fsm.CodeInvalidArgument, "", "younger than")
}

// After a Purge, a key whose record is older than the cut-off is forgotten:
// it may be used for another request, and its old request runs again.
// Younger records are kept.
func TestPurgeForgetsOldKeys(t *testing.T) {
	h := newHarness(t)
	ev := h.createEvent(gaEvent(10)).GetId()
	old := gaHold(ev, 1, time.Minute)
	old.IdempotencyKey = "old"
	first := mustOK[*bookdv1.HoldResponse](t, h.do(old)).GetHold()
	refused := gaHold(ev, 11, time.Minute)
	refused.IdempotencyKey = "refused"
	wantErr(t, h.do(refused), fsm.CodeFailedPrecondition, fsm.ReasonSoldOut)
	h.at(time.Second)
	young := gaHold(ev, 2, time.Minute)
	young.IdempotencyKey = "young"
	mustOK[*bookdv1.HoldResponse](t, h.do(young))

	h.at(day + time.Second)
	if h.f.PurgeDue(t0, 0) || !h.f.PurgeDue(t0+1, 0) {
		t.Errorf("PurgeDue(t0) = %v, PurgeDue(t0+1) = %v; want false, true", h.f.PurgeDue(t0, 0), h.f.PurgeDue(t0+1, 0))
	}
	mustOK[*fsmv1.Purge](t, purgeAt(h, time.Second, 0)) // records before +1s
	if h.f.PurgeDue(t0+sec, 0) || !h.f.PurgeDue(t0+sec+1, 0) {
		t.Errorf("after the purge PurgeDue does not see the young record only")
	}

	again := mustOK[*bookdv1.HoldResponse](t, h.do(old)).GetHold()
	if again.GetId() == first.GetId() {
		t.Errorf("after the purge the old request replayed hold %s, want a new hold", again.GetId())
	}
	other := gaHold(ev, 3, time.Minute)
	other.IdempotencyKey = "refused"
	mustOK[*bookdv1.HoldResponse](t, h.do(other))
	young.Quantity = 5
	wantErr(t, h.do(young), fsm.CodeAlreadyExists, fsm.ReasonKeyReused)
}

// A feed purge forgets the changes of commands older than the cut-off;
// reading from before what is left answers OUT_OF_RANGE, reading from the
// last forgotten change or later does not.
func TestPurgeFeed(t *testing.T) {
	h := newHarness(t)
	ev := h.createEvent(gaEvent(10)).GetId()
	h.at(time.Second)
	batchEntry(h, gaHold(ev, 1, time.Minute), gaHold(ev, 1, time.Minute)) // two changes at +1s, one entry
	h.at(2 * time.Second)
	h.book(gaBook(ev, 1))
	all := allChanges(t, h.f)
	if len(all) != 4 {
		t.Fatalf("%d changes, want 4", len(all))
	}

	h.at(3 * time.Second)
	if !h.f.PurgeDue(0, t0+2*sec) || h.f.PurgeDue(0, t0) {
		t.Errorf("PurgeDue of the feed is wrong before the purge")
	}
	mustOK[*fsmv1.Purge](t, purgeAt(h, 0, 2*time.Second)) // the changes at t0 and +1s
	if h.f.PurgeDue(0, t0+2*sec) {
		t.Errorf("PurgeDue true after the purge")
	}
	kept := allChanges(t, h.f)
	if len(kept) != 1 || !protoEqualChange(kept[0], all[3]) {
		t.Fatalf("after the purge the feed is %q, want only %q", kinds(kept), kinds(all[3:]))
	}
	for _, c := range all[:2] {
		_, _, err := h.f.Changes(c.GetIndex(), c.GetSeq(), 10)
		checkError(t, err, fsm.CodeOutOfRange, "", "older than the retained change feed")
	}
	got := changesAfter(t, h.f, all[2]) // the last change forgotten
	if len(got) != 1 || !protoEqualChange(got[0], all[3]) {
		t.Errorf("after the last forgotten change: %q, want %q", kinds(got), kinds(all[3:]))
	}
	if got := changesAfter(t, h.f, all[3]); len(got) != 0 {
		t.Errorf("after the last change: %q", kinds(got))
	}
	// The retained window survives a snapshot.
	r := newHarness(t)
	if err := restore(t, r.f, snapshotOf(t, h.f)); err != nil {
		t.Fatal(err)
	}
	_, _, err := r.f.Changes(all[0].GetIndex(), all[0].GetSeq(), 10)
	checkError(t, err, fsm.CodeOutOfRange, "", "older than")
	// Purging everything leaves an empty feed that later changes extend.
	h.at(4 * time.Second)
	mustOK[*fsmv1.Purge](t, purgeAt(h, 0, 4*time.Second))
	if got := allChanges(t, h.f); len(got) != 0 {
		t.Errorf("feed after purging all: %q", kinds(got))
	}
	_, _, err = h.f.Changes(all[2].GetIndex(), all[2].GetSeq(), 10)
	checkError(t, err, fsm.CodeOutOfRange, "")
	b := h.book(gaBook(ev, 1))
	got = changesAfter(t, h.f, all[3])
	wantStrings(t, "changes after the purge", kinds(got), []string{"booking_confirmed:" + b.GetId()})
}

func protoEqualChange(a, b *fsm.Change) bool {
	return a.GetIndex() == b.GetIndex() && a.GetSeq() == b.GetSeq() && a.GetKind() == b.GetKind()
}

// One Purge forgets a bounded number of records; the next goes on.
func TestPurgeInSteps(t *testing.T) {
	h := newHarness(t)
	const n = 10_500
	for i := 0; i < n; i += fsm.MaxCommandsPerEntry {
		var reqs []proto.Message
		for j := i; j < min(i+fsm.MaxCommandsPerEntry, n); j++ {
			reqs = append(reqs, &bookdv1.CreateProductRequest{Name: "p", IdempotencyKey: strconv.Itoa(j)})
		}
		batchEntry(h, reqs...)
	}
	h.at(day + time.Second)
	mustOK[*fsmv1.Purge](t, purgeAt(h, time.Second, time.Second))
	if !h.f.PurgeDue(t0+sec, 0) {
		t.Fatalf("after one Purge nothing is left to purge; want the records past its bound")
	}
	mustOK[*fsmv1.Purge](t, purgeAt(h, time.Second, time.Second))
	if h.f.PurgeDue(t0+sec, t0+sec) {
		t.Errorf("after two Purges records are left")
	}
	// Every key is forgotten: using it again makes a new product.
	before := len(listProductsN(t, h.f))
	res := batchEntry(h, &bookdv1.CreateProductRequest{Name: "q", IdempotencyKey: "0"}, &bookdv1.CreateProductRequest{Name: "q", IdempotencyKey: strconv.Itoa(n - 1)})
	for _, r := range res {
		mustOK[*bookdv1.CreateProductResponse](t, r)
	}
	if after := len(listProductsN(t, h.f)); after != before+2 {
		t.Errorf("%d products, then %d; want 2 more", before, after)
	}
}

func listProductsN(t testing.TB, f *fsm.FSM) []*bookdv1.Product {
	t.Helper()
	products, _, err := f.ListProducts("", 100_000)
	if err != nil {
		t.Fatal(err)
	}
	return products
}

// A feed purge too goes in steps; the feed then starts after the last
// change forgotten, and resumes from there.
func TestPurgeFeedInSteps(t *testing.T) {
	h := newHarness(t)
	ev := h.createEvent(gaEvent(fsm.MaxCapacity)).GetId()
	const n = 10_500
	for i := 0; i < n; i += fsm.MaxCommandsPerEntry {
		var reqs []proto.Message
		for j := i; j < min(i+fsm.MaxCommandsPerEntry, n); j++ {
			reqs = append(reqs, gaBook(ev, 1))
		}
		batchEntry(h, reqs...)
	}
	all := allChanges(t, h.f)
	if len(all) != n+1 {
		t.Fatalf("%d changes, want %d", len(all), n+1)
	}
	h.at(time.Second)
	mustOK[*fsmv1.Purge](t, purgeAt(h, 0, time.Second))
	kept := allChanges(t, h.f)
	if len(kept) != n+1-10_000 || !protoEqualChange(kept[0], all[10_000]) {
		t.Fatalf("after one Purge %d changes left starting at %d-%d, want %d from %d-%d",
			len(kept), kept[0].GetIndex(), kept[0].GetSeq(), n+1-10_000, all[10_000].GetIndex(), all[10_000].GetSeq())
	}
	_, _, err := h.f.Changes(all[9_998].GetIndex(), all[9_998].GetSeq(), 1)
	checkError(t, err, fsm.CodeOutOfRange, "")
	if got := changesAfter(t, h.f, all[9_999]); len(got) != len(kept) {
		t.Errorf("after the last change forgotten: %d changes, want %d", len(got), len(kept))
	}
	if !h.f.PurgeDue(0, t0+sec) {
		t.Errorf("PurgeDue false with %d old changes left", len(kept))
	}
	mustOK[*fsmv1.Purge](t, purgeAt(h, 0, time.Second))
	if got := allChanges(t, h.f); len(got) != 0 || h.f.PurgeDue(0, t0+sec) {
		t.Errorf("after two Purges %d changes are left", len(got))
	}
}
