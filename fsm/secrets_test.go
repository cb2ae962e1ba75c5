package fsm_test

import (
	"testing"
	"time"

	"github.com/bookd/bookd/fsm"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
)

// withSecret applies req in a command that carries secret bytes, as the
// leader proposes a command that creates objects.
func (h *harness) withSecret(req *bookdv1.HoldRequest, secret byte) *bookdv1.Hold {
	h.t.Helper()
	c := stampedCommand(h.now, req)
	c.Secret = make([]byte, fsm.SecretBytes)
	for i := range c.Secret {
		c.Secret[i] = secret
	}
	return mustOK[*bookdv1.HoldResponse](h.t, h.applyCommands(c)[0]).GetHold()
}

// Objects carry the secret their command brought; a hold's booking keeps
// it; a wrong secret on a mutation is answered as a missing hold would be,
// whatever the hold's state; the right one, or none, acts.
func TestClientSecrets(t *testing.T) {
	h := newHarness(t)
	ev := h.createEvent(gaEvent(10)).GetId()
	hd := h.withSecret(gaHold(ev, 2, time.Minute), 7)
	if len(hd.GetClientSecret()) != 22 {
		t.Fatalf("client_secret %q: want 16 bytes in base64url", hd.GetClientSecret())
	}
	other := h.withSecret(gaHold(ev, 1, time.Minute), 9)
	if other.GetClientSecret() == hd.GetClientSecret() {
		t.Fatal("two holds with different command secrets share one")
	}
	wrong := other.GetClientSecret()
	for _, req := range []proto.Message{
		&bookdv1.ConfirmRequest{HoldId: hd.GetId(), ClientSecret: wrong},
		&bookdv1.ReleaseHoldRequest{HoldId: hd.GetId(), ClientSecret: wrong},
		&bookdv1.ExtendHoldRequest{HoldId: hd.GetId(), Ttl: durationpb.New(time.Minute), ClientSecret: wrong},
	} {
		res := h.do(req)
		wantErr(t, res, fsm.CodeNotFound, "", "hold "+hd.GetId()+" not found")
	}
	bk := mustOK[*bookdv1.ConfirmResponse](t, h.do(&bookdv1.ConfirmRequest{HoldId: hd.GetId(), ClientSecret: hd.GetClientSecret()})).GetBooking()
	if bk.GetClientSecret() != hd.GetClientSecret() {
		t.Fatalf("booking's client_secret %q, want the hold's %q", bk.GetClientSecret(), hd.GetClientSecret())
	}
	// The hold is confirmed now: a wrong secret still hears "not found", not
	// "already confirmed".
	wantErr(t, h.do(&bookdv1.ReleaseHoldRequest{HoldId: hd.GetId(), ClientSecret: wrong}), fsm.CodeNotFound, "")
	wantErr(t, h.do(&bookdv1.ReleaseHoldRequest{HoldId: hd.GetId(), ClientSecret: hd.GetClientSecret()}), fsm.CodeFailedPrecondition, fsm.ReasonHoldConfirmed)
	// No secret: a trusted back end acts by id.
	mustOK[*bookdv1.ReleaseHoldResponse](t, h.do(&bookdv1.ReleaseHoldRequest{HoldId: other.GetId()}))

	if fsm.SecretMatches("", "") || !fsm.SecretMatches("abc", "abc") || fsm.SecretMatches("abc", "abd") {
		t.Fatal("SecretMatches: an empty secret must match nothing, and only the same bytes match")
	}
}

// A waitlist entry's offer carries the entry's secret, so its holder can
// act on the offer.
func TestWaitlistOfferCarriesTheEntrysSecret(t *testing.T) {
	h := newHarness(t)
	ev := h.createEvent(gaEvent(1)).GetId()
	hd := h.withSecret(gaHold(ev, 1, time.Minute), 1)
	c := stampedCommand(h.now, &bookdv1.JoinWaitlistRequest{EventId: ev, CustomerId: "w", Quantity: 1})
	c.Secret = []byte("0123456789abcdef")
	e := mustOK[*bookdv1.JoinWaitlistResponse](t, h.applyCommands(c)[0]).GetEntry()
	wantErr(t, h.do(&bookdv1.LeaveWaitlistRequest{EntryId: e.GetId(), ClientSecret: hd.GetClientSecret()}), fsm.CodeNotFound, "")
	h.release(hd.GetId())
	offer := h.readHold(offerID(e), 0)
	if offer.GetClientSecret() == "" || offer.GetClientSecret() != e.GetClientSecret() {
		t.Fatalf("offer's client_secret %q, want the entry's %q", offer.GetClientSecret(), e.GetClientSecret())
	}
}
