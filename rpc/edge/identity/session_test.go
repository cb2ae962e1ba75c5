package identity_test

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bookd/bookd/rpc/edge/identity"
)

// identify runs v.Identify on a GET with the given cookies and returns the
// identity and the session cookie it set, if any.
func identify(t *testing.T, v *identity.Verifier, r *http.Request, cookies ...*http.Cookie) (identity.Identity, *http.Cookie) {
	t.Helper()
	for _, c := range cookies {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	id, err := v.Identify(w, r)
	if err != nil {
		t.Fatalf("Identify: %v", err)
	}
	var set *http.Cookie
	for _, c := range w.Result().Cookies() {
		if c.Name == identity.CookieName {
			set = c
		}
	}
	return id, set
}

func get() *http.Request { return httptest.NewRequest(http.MethodGet, "/v1/events", nil) }

func TestSessionCookieAttributes(t *testing.T) {
	overTLS := get()
	overTLS.TLS = &tls.ConnectionState{}
	tests := []struct {
		name       string
		cfg        identity.Config
		r          *http.Request
		wantSecure bool
		wantMaxAge int
	}{
		{"plain HTTP", identity.Config{}, get(), false, int(identity.DefaultSessionTTL / time.Second)},
		{"TLS", identity.Config{}, overTLS, true, int(identity.DefaultSessionTTL / time.Second)},
		{"behind a TLS proxy", identity.Config{SecureCookies: true}, get(), true, int(identity.DefaultSessionTTL / time.Second)},
		{"session TTL", identity.Config{SessionTTL: time.Hour}, get(), false, 3600},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := t0
			id, c := identify(t, newVerifier(t, tt.cfg, &now), tt.r)
			if c == nil {
				t.Fatal("no session cookie was set")
			}
			if !id.Guest || !strings.HasPrefix(id.CustomerID, identity.GuestPrefix) || len(id.CustomerID) != len(identity.GuestPrefix)+22 {
				t.Errorf("identity %+v; want a guest_ id of 16 random bytes", id)
			}
			if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Domain != "" {
				t.Errorf("cookie %s; want HttpOnly, SameSite=Lax, Path=/, no Domain", c)
			}
			if c.Secure != tt.wantSecure || c.MaxAge != tt.wantMaxAge {
				t.Errorf("cookie %s; want Secure %v and Max-Age %d", c, tt.wantSecure, tt.wantMaxAge)
			}
		})
	}
}

func TestSessionCookieComesBack(t *testing.T) {
	now := t0
	v := newVerifier(t, identity.Config{SessionTTL: time.Hour}, &now)
	first, cookie := identify(t, v, get())
	other, _ := identity.New(identity.Config{SessionKey: keys().hmac, Now: func() time.Time { return t0 }})
	_, foreign := identify(t, other, get())

	// tamper gives the cookie another guest id, keeping its MAC.
	tamper := func(value string) string {
		p64, mac, _ := strings.Cut(value, ".")
		payload, err := b64.DecodeString(p64)
		if err != nil {
			t.Fatal(err)
		}
		forged := strings.Replace(string(payload), first.CustomerID, identity.GuestPrefix+strings.Repeat("A", 22), 1)
		if forged == string(payload) {
			t.Fatalf("payload %q does not hold the guest id", payload)
		}
		return b64.EncodeToString([]byte(forged)) + "." + mac
	}
	tests := []struct {
		name    string
		at      time.Time
		cookies []*http.Cookie
		same    bool // want the first guest back, and no new cookie
	}{
		{"same cookie", t0.Add(time.Minute), []*http.Cookie{cookie}, true},
		{"just before expiry", t0.Add(time.Hour - time.Second), []*http.Cookie{cookie}, true},
		{"after a bad cookie of the same name", t0, []*http.Cookie{{Name: identity.CookieName, Value: "junk"}, cookie}, true},
		{"expired", t0.Add(time.Hour), []*http.Cookie{cookie}, false},
		{"issued in the future", t0.Add(-time.Hour), []*http.Cookie{cookie}, false},
		{"tampered", t0, []*http.Cookie{{Name: identity.CookieName, Value: tamper(cookie.Value)}}, false},
		{"signed with another key", t0, []*http.Cookie{foreign}, false},
		{"MAC cut off", t0, []*http.Cookie{{Name: identity.CookieName, Value: strings.Split(cookie.Value, ".")[0]}}, false},
		{"no cookie", t0, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now = tt.at
			id, set := identify(t, v, get(), tt.cookies...)
			if tt.same {
				if id != first || set != nil {
					t.Fatalf("Identify = %+v, cookie %v; want %+v and no new cookie", id, set, first)
				}
				return
			}
			if !id.Guest || id == first || set == nil {
				t.Fatalf("Identify = %+v, cookie %v; want a new guest and its cookie", id, set)
			}
		})
	}
}

func TestGuestsDiffer(t *testing.T) {
	now := t0
	v := newVerifier(t, identity.Config{}, &now)
	seen := map[string]bool{}
	for range 100 {
		id, _ := identify(t, v, get())
		if seen[id.CustomerID] {
			t.Fatalf("guest id %s was issued twice", id.CustomerID)
		}
		seen[id.CustomerID] = true
	}
}
