package rpc_test

import (
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/bookd/bookd/client"
	"github.com/bookd/bookd/raftnode"
	"github.com/bookd/bookd/rpc"
	"github.com/bookd/bookd/rpc/clustertest"
	"github.com/bookd/bookd/rpc/cors"
)

// A node with CORSOrigins answers a preflight from an allowed page before
// checking tokens (browsers send none with it), refuses one from another
// page, and lets an allowed page read a refusal for want of a token.
func TestCORSPreflightBeforeAuth(t *testing.T) {
	const page, other = "https://shop.example.com", "https://evil.example.net"
	c := clustertest.Start(t, 1, clustertest.Options{Secure: true, Configure: func(_ string, cfg *rpc.ServerConfig) {
		cfg.CORSOrigins = []string{page}
	}})
	url := "https://" + c.WaitReady().RPCAddr + "/bookd.v1.BookingService/ListEvents"
	hc := secureClients{tls: c.Security.ClientTLS()}.http("")
	tests := []struct {
		name       string
		method     string
		origin     string
		wantStatus int
		want       map[string]string // "" means absent
	}{
		{"allowed preflight", "OPTIONS", page, http.StatusNoContent, map[string]string{
			"Access-Control-Allow-Origin": page, "Access-Control-Allow-Methods": "GET, POST", "Vary": "Origin",
		}},
		{"other preflight", "OPTIONS", other, http.StatusForbidden, map[string]string{
			"Access-Control-Allow-Origin": "", "Access-Control-Allow-Methods": "",
		}},
		{"allowed call without a token", "POST", page, http.StatusUnauthorized, map[string]string{
			"Access-Control-Allow-Origin": page, "Access-Control-Expose-Headers": strings.Join(cors.ExposedHeaders(), ", "),
		}},
		{"other call without a token", "POST", other, http.StatusUnauthorized, map[string]string{
			"Access-Control-Allow-Origin": "", "Access-Control-Expose-Headers": "",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, url, strings.NewReader("{}"))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Origin", tt.origin)
			if tt.method == "OPTIONS" {
				req.Header.Set("Access-Control-Request-Method", "POST")
				req.Header.Set("Access-Control-Request-Headers", "authorization,content-type,connect-protocol-version")
			} else {
				req.Header.Set("Content-Type", "application/json")
			}
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			for k, want := range tt.want {
				if got := strings.Join(resp.Header.Values(k), ", "); got != want {
					t.Errorf("%s: %q, want %q", k, got, want)
				}
			}
		})
	}
}

// StartServer refuses an origin browsers would never send, naming it,
// before it opens anything.
func TestCORSOriginsChecked(t *testing.T) {
	_, err := rpc.StartServer(rpc.ServerConfig{
		Node:        raftnode.Config{ID: "n1", DataDir: t.TempDir(), RaftAddr: "127.0.0.1:0", RPCAddr: "127.0.0.1:0"},
		CORSOrigins: []string{"https://shop.example.com/app"},
	})
	if err == nil || !strings.Contains(err.Error(), `"https://shop.example.com/app"`) {
		t.Fatalf("StartServer: %v", err)
	}
}

// Pages may send and read the headers bookd's API defines.
func TestCORSHeadersCoverBookd(t *testing.T) {
	for _, h := range []string{rpc.LeaderHeader, rpc.ReasonHeader, rpc.RequestIDHeader, client.RetryAfterHeader, "Retry-After"} {
		if !slices.Contains(cors.ExposedHeaders(), http.CanonicalHeaderKey(h)) {
			t.Errorf("%s not exposed", h)
		}
	}
	for _, h := range []string{rpc.RequestIDHeader, "Authorization", "Content-Type", "Connect-Protocol-Version"} {
		if !slices.Contains(cors.AllowedHeaders(), http.CanonicalHeaderKey(h)) {
			t.Errorf("%s not allowed", h)
		}
	}
}
