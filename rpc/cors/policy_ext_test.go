package cors_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/bookd/bookd/rpc/cors"
)

const (
	shop  = "https://shop.example.com"
	local = "http://localhost:3000"
	evil  = "https://evil.example.net"
)

// TestHandler checks what the middleware answers, what it adds to the
// handler's answers and which requests reach the handler.
func TestCORSHandler(t *testing.T) {
	allowHeaders := strings.Join(cors.AllowedHeaders(), ", ")
	exposeHeaders := strings.Join(cors.ExposedHeaders(), ", ")
	tests := []struct {
		name        string
		cfg         cors.Config
		method      string
		origin      string // Origin sent, if any
		preflightOf string // Access-Control-Request-Method sent, if any
		wantStatus  int
		wantReached bool
		// want holds every CORS header expected; "" means absent.
		want map[string]string
	}{
		{
			name: "allowed origin, simple request", cfg: cors.Config{Origins: []string{shop, local}},
			method: "POST", origin: local, wantStatus: 200, wantReached: true,
			want: map[string]string{"Access-Control-Allow-Origin": local, "Access-Control-Expose-Headers": exposeHeaders, "Vary": "Origin"},
		},
		{
			name: "allowed origin, preflight", cfg: cors.Config{Origins: []string{shop}},
			method: "OPTIONS", origin: shop, preflightOf: "POST", wantStatus: 204,
			want: map[string]string{
				"Access-Control-Allow-Origin": shop, "Access-Control-Allow-Methods": "GET, POST",
				"Access-Control-Allow-Headers": allowHeaders, "Access-Control-Max-Age": "7200", "Vary": "Origin",
			},
		},
		{
			name: "allowed origin with credentials, preflight", cfg: cors.Config{Origins: []string{shop}, AllowCredentials: true},
			method: "OPTIONS", origin: shop, preflightOf: "POST", wantStatus: 204,
			want: map[string]string{
				"Access-Control-Allow-Origin": shop, "Access-Control-Allow-Credentials": "true",
				"Access-Control-Allow-Methods": "GET, POST", "Access-Control-Max-Age": "7200", "Vary": "Origin",
			},
		},
		{
			name: "allowed origin with credentials, GET", cfg: cors.Config{Origins: []string{shop}, AllowCredentials: true},
			method: "GET", origin: shop, wantStatus: 200, wantReached: true,
			want: map[string]string{"Access-Control-Allow-Origin": shop, "Access-Control-Allow-Credentials": "true", "Vary": "Origin"},
		},
		{
			name: "disallowed origin, preflight", cfg: cors.Config{Origins: []string{shop}, AllowCredentials: true},
			method: "OPTIONS", origin: evil, preflightOf: "POST", wantStatus: 403,
			want: map[string]string{"Access-Control-Allow-Origin": "", "Access-Control-Allow-Methods": "", "Access-Control-Allow-Credentials": "", "Vary": "Origin"},
		},
		{
			name: "disallowed origin, simple request", cfg: cors.Config{Origins: []string{shop}, AllowCredentials: true},
			method: "POST", origin: evil, wantStatus: 200, wantReached: true,
			want: map[string]string{"Access-Control-Allow-Origin": "", "Access-Control-Expose-Headers": "", "Access-Control-Allow-Credentials": "", "Vary": "Origin"},
		},
		{
			name: "origin differing only in case", cfg: cors.Config{Origins: []string{shop}},
			method: "OPTIONS", origin: strings.ToUpper(shop), preflightOf: "POST", wantStatus: 403,
			want: map[string]string{"Access-Control-Allow-Origin": "", "Vary": "Origin"},
		},
		{
			name: "opaque origin", cfg: cors.Config{Origins: []string{shop}},
			method: "OPTIONS", origin: "null", preflightOf: "POST", wantStatus: 403,
			want: map[string]string{"Access-Control-Allow-Origin": "", "Vary": "Origin"},
		},
		{
			name: "no origin", cfg: cors.Config{Origins: []string{shop}},
			method: "POST", wantStatus: 200, wantReached: true,
			want: map[string]string{"Access-Control-Allow-Origin": "", "Access-Control-Expose-Headers": "", "Vary": "Origin"},
		},
		{
			name: "OPTIONS without a requested method is no preflight", cfg: cors.Config{Origins: []string{shop}},
			method: "OPTIONS", origin: shop, wantStatus: 200, wantReached: true,
			want: map[string]string{"Access-Control-Allow-Origin": shop, "Access-Control-Allow-Methods": "", "Vary": "Origin"},
		},
		{
			name: "no origins configured, preflight", cfg: cors.Config{},
			method: "OPTIONS", origin: shop, preflightOf: "POST", wantStatus: 200, wantReached: true,
			want: map[string]string{"Access-Control-Allow-Origin": "", "Access-Control-Allow-Methods": "", "Vary": ""},
		},
		{
			name: "no origins configured, request", cfg: cors.Config{},
			method: "POST", origin: shop, wantStatus: 200, wantReached: true,
			want: map[string]string{"Access-Control-Allow-Origin": "", "Access-Control-Expose-Headers": "", "Vary": ""},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := cors.New(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			reached := false
			next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				reached = true
				w.Header().Set("Bookd-Leader", "127.0.0.1:1")
				w.WriteHeader(http.StatusOK)
			})
			r := httptest.NewRequest(tt.method, "http://node.example.com/bookd.v1.BookingService/ListEvents", nil)
			if tt.origin != "" {
				r.Header.Set("Origin", tt.origin)
			}
			if tt.preflightOf != "" {
				r.Header.Set("Access-Control-Request-Method", tt.preflightOf)
				r.Header.Set("Access-Control-Request-Headers", "content-type,connect-protocol-version")
			}
			w := httptest.NewRecorder()
			p.Handler(next).ServeHTTP(w, r)
			if w.Code != tt.wantStatus {
				t.Errorf("status %d, want %d", w.Code, tt.wantStatus)
			}
			if reached != tt.wantReached {
				t.Errorf("handler reached: %v, want %v", reached, tt.wantReached)
			}
			for k, want := range tt.want {
				if got := strings.Join(w.Header().Values(k), ", "); got != want {
					t.Errorf("%s: %q, want %q", k, got, want)
				}
			}
			if got := w.Header().Get("Access-Control-Allow-Origin"); got == "*" {
				t.Errorf("Access-Control-Allow-Origin: *")
			}
		})
	}
}

// Vary: Origin is added to what the handler varies by, not put in its place.
func TestCORSHandlerKeepsVary(t *testing.T) {
	p, err := cors.New(cors.Config{Origins: []string{shop}})
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	w.Header().Set("Vary", "Accept-Encoding")
	r := httptest.NewRequest("POST", "/", nil)
	r.Header.Set("Origin", shop)
	p.Handler(http.NotFoundHandler()).ServeHTTP(w, r)
	if got := w.Header().Values("Vary"); !slices.Contains(got, "Accept-Encoding") || !slices.Contains(got, "Origin") {
		t.Errorf("Vary: %q", got)
	}
}

// With no origins, Handler hands back the handler itself.
func TestCORSDisabledIsIdentity(t *testing.T) {
	next := http.NewServeMux()
	for _, p := range []*cors.Policy{nil, mustNew(t, cors.Config{}), mustNew(t, cors.Config{AllowCredentials: true})} {
		if p.Enabled() {
			t.Errorf("%+v enabled", p)
		}
		if h := p.Handler(next); h != http.Handler(next) {
			t.Errorf("disabled policy wrapped the handler")
		}
	}
	if !mustNew(t, cors.Config{Origins: []string{shop}}).Enabled() {
		t.Error("policy with an origin not enabled")
	}
}

func mustNew(t *testing.T, cfg cors.Config) *cors.Policy {
	t.Helper()
	p, err := cors.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// The lists are the package's own: changing a returned slice changes
// nothing.
func TestCORSListsAreCopies(t *testing.T) {
	cors.AllowedHeaders()[0] = "X"
	cors.ExposedHeaders()[0] = "X"
	cors.AllowedMethods()[0] = "X"
	if cors.AllowedHeaders()[0] == "X" || cors.ExposedHeaders()[0] == "X" || cors.AllowedMethods()[0] == "X" {
		t.Error("a returned list aliases the package's")
	}
}
