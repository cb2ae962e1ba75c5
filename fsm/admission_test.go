package fsm_test

import (
	"strings"
	"testing"
	"time"

	"github.com/bookd/bookd/fsm"
	fsmv1 "github.com/bookd/bookd/proto/bookd/fsm/v1"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
)

// admissionToken is a token stating g; the state machine does not check the
// signature (the edges do), so any will do.
func admissionToken(g *fsm.AdmissionGrant) string { return fsm.AdmissionPayload(g) + ".c2ln" }

func admittedHold(ev, customer string, quantity int64, token string) *bookdv1.HoldRequest {
	r := gaHold(ev, quantity, time.Minute)
	r.CustomerId, r.AdmissionToken = customer, token
	return r
}

// An admission token is spent in the commit of the hold it admits: no more
// holds and tickets than it states, only for its event and customer, only
// before it expires; a refused hold spends nothing; a retry replays.
func TestAdmissionIsSpentWithTheHold(t *testing.T) {
	h := newHarness(t)
	ev := h.createEvent(gaEvent(10)).GetId()
	other := h.createEvent(gaEvent(10)).GetId()
	grant := func(ticket string, holds, tickets int64) string {
		return admissionToken(&fsm.AdmissionGrant{EventId: ev, Ticket: ticket, CustomerId: "ann", MaxHolds: holds, MaxTickets: tickets,
			ExpiresUnixMs: (t0 + time.Hour.Nanoseconds()) / 1e6})
	}
	one := grant("t1", 1, 0)
	first := admittedHold(ev, "ann", 2, one)
	first.IdempotencyKey = "k1"
	hd := mustOK[*bookdv1.HoldResponse](t, h.do(first)).GetHold()
	again := mustOK[*bookdv1.HoldResponse](t, h.do(first)).GetHold()
	if again.GetId() != hd.GetId() {
		t.Fatalf("retry with the same key placed %s, want the first hold %s", again.GetId(), hd.GetId())
	}
	wantErr(t, h.do(admittedHold(ev, "ann", 1, one)), fsm.CodePermissionDenied, fsm.ReasonAdmissionSpent, "already spent on 1 hold")

	// Two holds, three tickets in all.
	two := grant("t2", 2, 3)
	mustOK[*bookdv1.HoldResponse](t, h.do(admittedHold(ev, "ann", 2, two)))
	wantErr(t, h.do(admittedHold(ev, "ann", 2, two)), fsm.CodePermissionDenied, fsm.ReasonAdmissionSpent, "good for 3 ticket(s) in all, 2 used, 2 asked")
	mustOK[*bookdv1.HoldResponse](t, h.do(admittedHold(ev, "ann", 1, two)))
	wantErr(t, h.do(admittedHold(ev, "ann", 1, two)), fsm.CodePermissionDenied, fsm.ReasonAdmissionSpent)

	// Only its event and customer.
	three := grant("t3", 1, 0)
	wantErr(t, h.do(admittedHold(other, "ann", 1, three)), fsm.CodePermissionDenied, fsm.ReasonAdmissionInvalid, "another event")
	wantErr(t, h.do(admittedHold(ev, "bob", 1, three)), fsm.CodePermissionDenied, fsm.ReasonAdmissionInvalid, "another customer")
	// A claim refused (5 free, 9 asked) spends nothing.
	wantErr(t, h.do(admittedHold(ev, "ann", 9, three)), fsm.CodeFailedPrecondition, fsm.ReasonSoldOut)
	mustOK[*bookdv1.HoldResponse](t, h.do(admittedHold(ev, "ann", 1, three)))

	// What is spent survives a restart.
	h.reopen()
	wantErr(t, h.do(admittedHold(ev, "ann", 1, three)), fsm.CodePermissionDenied, fsm.ReasonAdmissionSpent)

	// Expiry by the state machine's time.
	h.at(time.Hour)
	wantErr(t, h.do(admittedHold(ev, "ann", 1, grant("t4", 1, 0))), fsm.CodePermissionDenied, fsm.ReasonAdmissionExpired)
}

// A token that does not decode is refused before the log, naming the field.
func TestAdmissionTokenMalformed(t *testing.T) {
	for _, tok := range []string{"nodot", "!!!.sig", "AAAA.sig",
		admissionToken(&fsm.AdmissionGrant{EventId: "ev_1", Ticket: "t", CustomerId: "c", MaxHolds: 0, ExpiresUnixMs: 1})} {
		err := fsm.ValidateHold(admittedHold("ev_1", "c", 1, tok))
		if err == nil || err.Code != fsm.CodeInvalidArgument || !strings.Contains(err.Message, "admission_token:") {
			t.Errorf("token %q: %v, want INVALID_ARGUMENT naming admission_token", tok, err)
		}
	}
}

// Purge forgets the spending of tokens that expired before its cut-off.
func TestPurgeForgetsExpiredAdmissions(t *testing.T) {
	h := newHarness(t)
	ev := h.createEvent(gaEvent(10)).GetId()
	tok := admissionToken(&fsm.AdmissionGrant{EventId: ev, Ticket: "t1", CustomerId: "ann", MaxHolds: 1,
		ExpiresUnixMs: (t0 + time.Minute.Nanoseconds()) / 1e6})
	mustOK[*bookdv1.HoldResponse](t, h.do(admittedHold(ev, "ann", 1, tok)))
	before := fsm.CountKeys(h.f, "a/")
	h.at(fsm.IdempotencyRetention + time.Hour)
	mustOK[*fsmv1.Purge](t, h.do(&fsmv1.Purge{IdempotencyBeforeUnixNanos: t0 + 2*time.Minute.Nanoseconds()}))
	if before != 1 || fsm.CountKeys(h.f, "a/") != 0 || fsm.CountKeys(h.f, "x/ax/") != 0 {
		t.Fatalf("spent tickets before purge %d, after %d (index %d); want 1, 0, 0", before, fsm.CountKeys(h.f, "a/"), fsm.CountKeys(h.f, "x/ax/"))
	}
}
