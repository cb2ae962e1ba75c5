package auth

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRequired(t *testing.T) {
	for proc, want := range map[string]Role{
		"/grpc.health.v1.Health/Check":                              RoleNone,
		"/grpc.reflection.v1.ServerReflection/ServerReflectionInfo": RoleReader,
		"/bookd.v1.ClusterService/GetStatus":                        RoleReader,
		"/bookd.v1.ClusterService/AddNode":                          RoleAdmin,
		"/bookd.v1.ClusterService/Backup":                           RoleAdmin,
		"/bookd.v1.QueueService/ListQueues":                         RoleReader,
		"/bookd.v1.QueueService/PeekMessages":                       RoleReader,
		"/bookd.v1.QueueService/Receive":                            RoleBooker,
		"/bookd.v1.QueueService/Ack":                                RoleBooker,
		"/bookd.v1.QueueService/Enqueue":                            RoleBooker,
		"/bookd.v1.QueueService/CreateQueue":                        RoleAdmin,
		"/bookd.v1.QueueService/Redrive":                            RoleAdmin,
		"/bookd.v1.QueueService/PurgeQueue":                         RoleAdmin,
		"/bookd.v1.QueueService/SomethingNew":                       RoleAdmin,
		"/bookd.v1.BookingService/CreateEvent":                      RoleAdmin,
		"/bookd.v1.BookingService/UpdateEvent":                      RoleAdmin,
		"/bookd.v1.BookingService/CloseEvent":                       RoleAdmin,
		"/bookd.v1.BookingService/CancelEvent":                      RoleAdmin,
		"/bookd.v1.BookingService/CreateProduct":                    RoleAdmin,
		"/bookd.v1.BookingService/CreateQuota":                      RoleAdmin,
		"/bookd.v1.BookingService/CreateVoucher":                    RoleAdmin,
		"/bookd.v1.BookingService/GetVoucher":                       RoleReader,
		"/bookd.v1.BookingService/ListProducts":                     RoleReader,
		"/bookd.v1.BookingService/JoinWaitlist":                     RoleBooker,
		"/bookd.v1.BookingService/LeaveWaitlist":                    RoleBooker,
		"/bookd.v1.BookingService/GetEvent":                         RoleReader,
		"/bookd.v1.BookingService/ListBookings":                     RoleReader,
		"/bookd.v1.BookingService/WatchChanges":                     RoleReader,
		"/bookd.v1.BookingService/Hold":                             RoleBooker,
		"/bookd.v1.BookingService/ExtendHold":                       RoleBooker,
		"/bookd.v1.BookingService/BatchWrite":                       RoleBooker,
		"/other.Service/Method":                                     RoleAdmin,
	} {
		if got := Required(proc); got != want {
			t.Errorf("Required(%s) = %s, want %s", proc, got, want)
		}
	}
}

func TestParseTokensRefusesBadFiles(t *testing.T) {
	for _, tc := range []struct{ file, says string }{
		{"", "no tokens"},
		{"# only a comment\n", "no tokens"},
		{"alice admin\n", "line 1: want NAME ROLE TOKEN"},
		{"alice root 0123456789abcdef\n", "unknown role"},
		{"alice admin short\n", "shorter than 16"},
		{"a admin 0123456789abcdef\nb reader 0123456789abcdef\n", "line 2: token of b is used twice"},
	} {
		_, _, err := ParseTokens([]byte(tc.file))
		if err == nil || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("ParseTokens(%q) = %v, want an error saying %q", tc.file, err, tc.says)
		}
	}
}

// A rewritten tokens file takes effect without a restart: a revoked token
// stops working and a new one starts.
func TestTokensReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens")
	write := func(s string, mod time.Time) {
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, mod, mod); err != nil {
			t.Fatal(err)
		}
	}
	write("ops admin old-token-0123456789\n", time.Now().Add(-time.Hour))
	tok, err := LoadTokens(path)
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := tok.Lookup("old-token-0123456789"); !ok || p.Name != "ops" || p.Role != RoleAdmin {
		t.Fatalf("Lookup(old) = %v, %v", p, ok)
	}
	if tok.AdminToken() != "old-token-0123456789" {
		t.Errorf("AdminToken = %q", tok.AdminToken())
	}
	write("ops admin new-token-0123456789\napp reader app-token-0123456789\n", time.Now())
	tok.checked = time.Time{} // do not wait for the once-a-second check
	if _, ok := tok.Lookup("old-token-0123456789"); ok {
		t.Errorf("a revoked token still works")
	}
	if p, ok := tok.Lookup("app-token-0123456789"); !ok || p.Role != RoleReader {
		t.Errorf("Lookup(new reader) = %v, %v", p, ok)
	}
	// A broken file keeps the last good tokens.
	write("garbage\n", time.Now().Add(time.Minute))
	tok.checked = time.Time{}
	if _, ok := tok.Lookup("new-token-0123456789"); !ok {
		t.Errorf("a broken tokens file dropped the good tokens")
	}
}

// The admin listener's guard: /metrics for readers, the rest for admins.
func TestGuard(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(path, []byte("ops admin admin-token-0123456789\nprom reader reader-token-0123456789\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tok, err := LoadTokens(path)
	if err != nil {
		t.Fatal(err)
	}
	h := NewAuthorizer(tok).Guard(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}), func(p string) Role {
		if p == "/metrics" {
			return RoleReader
		}
		return RoleAdmin
	})
	for _, tc := range []struct {
		path, token string
		want        int
	}{
		{"/metrics", "", http.StatusUnauthorized},
		{"/metrics", "wrong-token-0123456789", http.StatusUnauthorized},
		{"/metrics", "reader-token-0123456789", http.StatusOK},
		{"/debug/pprof/", "reader-token-0123456789", http.StatusForbidden},
		{"/debug/pprof/", "admin-token-0123456789", http.StatusOK},
	} {
		req := httptest.NewRequest("GET", tc.path, nil)
		if tc.token != "" {
			req.Header.Set("Authorization", "Bearer "+tc.token)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tc.want {
			t.Errorf("%s with %q: %d, want %d", tc.path, tc.token, rec.Code, tc.want)
		}
	}
}
