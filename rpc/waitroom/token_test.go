package waitroom

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/bookd/bookd/fsm"
	"google.golang.org/protobuf/proto"
)

func TestVerifyChecksSignatureEventCustomerAndExpiry(t *testing.T) {
	signer, _ := NewSigner([]byte(testSecret))
	other, _ := NewSigner([]byte("another secret, also 16+ bytes"))
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	grant := &fsm.AdmissionGrant{EventId: "ev1", Ticket: "t1", CustomerId: "alice", MaxHolds: 1,
		ExpiresUnixMs: now.Add(time.Minute).UnixMilli()}
	token := signer.Sign(grant)
	payload, sig, _ := strings.Cut(token, ".")
	// signed is payload signed with the test secret, whatever it states.
	signed := func(payload string) string {
		h := hmac.New(sha256.New, []byte(testSecret))
		h.Write([]byte(payload))
		return payload + "." + base64.RawURLEncoding.EncodeToString(h.Sum(nil))
	}
	mutated := func(mut func(g *fsm.AdmissionGrant)) string {
		g := proto.Clone(grant).(*fsm.AdmissionGrant)
		mut(g)
		return fsm.AdmissionPayload(g) + "." + sig
	}
	for _, tc := range []struct {
		name              string
		signer            *Signer
		token, event, cus string
		at                time.Time
		want              error
	}{
		{"valid", signer, token, "ev1", "alice", now, nil},
		{"a millisecond before expiry", signer, token, "ev1", "alice", now.Add(time.Minute - time.Millisecond), nil},
		{"another event", signer, token, "ev2", "alice", now, ErrWrongEvent},
		{"another customer", signer, token, "ev1", "bob", now, ErrWrongCustomer},
		{"at expiry", signer, token, "ev1", "alice", now.Add(time.Minute), ErrExpired},
		{"another secret", other, token, "ev1", "alice", now, ErrBadToken},
		{"customer changed", signer, mutated(func(g *fsm.AdmissionGrant) { g.CustomerId = "bob" }), "ev1", "bob", now, ErrBadToken},
		{"holds raised", signer, mutated(func(g *fsm.AdmissionGrant) { g.MaxHolds = 20 }), "ev1", "alice", now, ErrBadToken},
		{"signature cut", signer, token[:len(token)-2], "ev1", "alice", now, ErrBadToken},
		{"no signature", signer, payload, "ev1", "alice", now, ErrBadToken},
		{"signature not base64", signer, payload + ".!!", "ev1", "alice", now, ErrBadToken},
		{"too long", signer, signed(strings.Repeat("A", fsm.MaxAdmissionTokenLen)), "ev1", "alice", now, ErrBadToken},
		{"signed but not a grant", signer, signed("bm90IGEgZ3JhbnQ"), "ev1", "alice", now, ErrBadToken},
		{"signed but incomplete", signer, signed(fsm.AdmissionPayload(&fsm.AdmissionGrant{EventId: "ev1", CustomerId: "alice", MaxHolds: 1, ExpiresUnixMs: 1})), "ev1", "alice", now, ErrBadToken},
		{"empty", signer, "", "ev1", "alice", now, ErrBadToken},
	} {
		g, err := tc.signer.Verify(tc.token, tc.event, tc.cus, tc.at)
		switch {
		case tc.want == nil && (err != nil || !proto.Equal(g, grant)):
			t.Errorf("%s: %v, %v; want the grant", tc.name, g, err)
		case tc.want != nil && (!errors.Is(err, tc.want) || g != nil):
			t.Errorf("%s: %v, %v; want %v and no grant", tc.name, g, err, tc.want)
		}
	}
}

func TestTokenStatesTheAdmission(t *testing.T) {
	for _, tc := range []struct {
		name                  string
		holds, tickets        int
		wantHolds, wantTicket int64
	}{
		{"defaults", 0, 0, 1, 0},
		{"bounded", 3, 4, 3, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.configure(t, Config{EventID: "ev1", Rate: 1, AdmitFor: 5 * time.Minute, HoldsPerAdmission: tc.holds, TicketsPerAdmission: tc.tickets})
			f.clk.add(1234 * time.Microsecond) // the token states milliseconds
			st := f.join(t, "ev1", "alice")
			g, err := fsm.DecodeAdmissionToken(st.Token)
			if err != nil {
				t.Fatalf("the room's token does not decode: %v (%+v)", err, st)
			}
			want := &fsm.AdmissionGrant{EventId: "ev1", Ticket: st.Ticket, CustomerId: "alice",
				MaxHolds: tc.wantHolds, MaxTickets: tc.wantTicket,
				ExpiresUnixMs: f.clk.now().Add(5 * time.Minute).UnixMilli()}
			if !proto.Equal(g, want) || g.GetExpiresUnixMs() != st.AdmittedUntil.UnixMilli() || !st.AdmittedUntil.Equal(time.UnixMilli(g.GetExpiresUnixMs())) {
				t.Fatalf("token states %v, admitted until %v; want %v", g, st.AdmittedUntil, want)
			}
			if _, err := f.Signer().Verify(st.Token, "ev1", "alice", f.clk.now()); err != nil {
				t.Fatalf("the room's token does not verify: %v", err)
			}
		})
	}
}
