package identity_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bookd/bookd/rpc/edge/identity"
)

func TestMiddleware(t *testing.T) {
	k := keys()
	now := t0
	v := newVerifier(t, identity.Config{HMACKey: k.hmac}, &now)
	_, guestCookie := identify(t, v, get())
	good := signJWT(t, k.hmac, map[string]any{"alg": "HS256"}, claims(nil))
	expired := signJWT(t, k.hmac, map[string]any{"alg": "HS256"}, claims(map[string]any{"exp": t0.Unix() - 3600}))

	tests := []struct {
		name       string
		method     string
		header     map[string]string
		cookie     bool
		wantStatus int
		wantID     string // "guest" for any guest, "-" for no identity
		wantCookie bool
	}{
		{"customer token", "POST", map[string]string{"Authorization": "Bearer " + good}, false, 200, "cust-42", false},
		{"lower-case scheme", "POST", map[string]string{"Authorization": "bearer " + good}, false, 200, "cust-42", false},
		{"token wins over cookie", "POST", map[string]string{"Authorization": "Bearer " + good}, true, 200, "cust-42", false},
		{"guest with cookie", "POST", nil, true, 200, "guest", false},
		{"new guest", "POST", nil, false, 200, "guest", true},
		{"expired token", "POST", map[string]string{"Authorization": "Bearer " + expired}, false, 401, "", false},
		{"bad token does not fall back to the cookie", "POST", map[string]string{"Authorization": "Bearer " + expired}, true, 401, "", false},
		{"not a bearer token", "POST", map[string]string{"Authorization": "Basic dXNlcjpwYXNz"}, false, 401, "", false},
		{"empty Authorization", "POST", map[string]string{"Authorization": ""}, true, 401, "", false},
		{"bearer without token", "POST", map[string]string{"Authorization": "Bearer "}, false, 401, "", false},
		{"CORS preflight", "OPTIONS", map[string]string{"Origin": "https://shop.example", "Access-Control-Request-Method": "POST"}, false, 200, "-", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got *identity.Identity
			h := v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				id, ok := identity.FromContext(r.Context())
				if ok {
					got = &id
				}
			}))
			r := httptest.NewRequest(tt.method, "/bookd.v1.BookingService/CreateHold", strings.NewReader("{}"))
			for k, val := range tt.header {
				r.Header.Set(k, val)
			}
			if tt.cookie {
				r.AddCookie(guestCookie)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)

			if w.Code != tt.wantStatus {
				t.Fatalf("status %d; want %d (body %s)", w.Code, tt.wantStatus, w.Body)
			}
			if setCookie := w.Header().Get("Set-Cookie") != ""; setCookie != tt.wantCookie {
				t.Errorf("Set-Cookie %q; want one: %v", w.Header().Get("Set-Cookie"), tt.wantCookie)
			}
			switch {
			case tt.wantStatus == 401:
				checkUnauthenticated(t, w)
				if got != nil {
					t.Errorf("handler ran with %+v", *got)
				}
			case tt.wantID == "-":
				if got != nil {
					t.Errorf("handler got %+v; want no identity", *got)
				}
			case got == nil:
				t.Fatal("handler got no identity")
			case tt.wantID == "guest":
				if !got.Guest || !strings.HasPrefix(got.CustomerID, identity.GuestPrefix) {
					t.Errorf("identity %+v; want a guest", *got)
				}
			case *got != (identity.Identity{CustomerID: tt.wantID}):
				t.Errorf("identity %+v; want customer %s", *got, tt.wantID)
			}
		})
	}
}

// checkUnauthenticated checks a 401 answer's headers and Connect-shaped body.
func checkUnauthenticated(t *testing.T, w *httptest.ResponseRecorder) {
	t.Helper()
	if got := w.Header().Get("WWW-Authenticate"); got != `Bearer error="invalid_token"` {
		t.Errorf("WWW-Authenticate %q", got)
	}
	if got := w.Header().Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type %q", got)
	}
	var body struct{ Code, Message string }
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatalf("body %q: %v", w.Body, err)
	}
	if body.Code != "unauthenticated" || body.Message == "" {
		t.Errorf("body %+v; want code unauthenticated and a message", body)
	}
}

func TestFromContextEmpty(t *testing.T) {
	if id, ok := identity.FromContext(t.Context()); ok {
		t.Fatalf("FromContext of a bare context = %+v, true", id)
	}
}
