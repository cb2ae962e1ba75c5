package cors_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/bookd/bookd/rpc/cors"
)

// TestNewChecksOrigins: an origin is accepted only as browsers send it, and
// a refusal names the origin and, where it is clear, how to write it.
func TestCORSNewChecksOrigins(t *testing.T) {
	tests := []struct {
		origin  string
		wantErr string // "" if accepted; else a part of the error
	}{
		{"https://shop.example.com", ""},
		{"http://localhost:3000", ""},
		{"http://127.0.0.1:8080", ""},
		{"http://[::1]:8080", ""},
		{"https://xn--bcher-kva.example", ""},
		{"*", "would allow any page"},
		{"null", "would allow any page"},
		{"", "want http://host[:port]"},
		{"shop.example.com", "want http://host[:port]"},
		{"ftp://shop.example.com", "want http://host[:port]"},
		{"https://", "no host"},
		{"https:shop.example.com", "no host"},
		{"https://shop.example.com/", `write "https://shop.example.com"`},
		{"https://shop.example.com/app", `did you mean "https://shop.example.com"`},
		{"https://Shop.Example.com", `"https://shop.example.com"`},
		{"HTTPS://shop.example.com", `"https://shop.example.com"`},
		{"https://shop.example.com:443", `"https://shop.example.com"`},
		{"http://shop.example.com:80", `"http://shop.example.com"`},
		{"https://shop.example.com:8443", ""},
		{"https://*.example.com", "wildcard"},
		{"https://user@shop.example.com", "no user"},
		{"https://shop.example.com?x=1", "query"},
		{"https://shop.example.com#top", "fragment"},
		{"https://shop.example.com:0", "bad port"},
		{"https://shop.example.com:99999", "bad port"},
		{"https://shop.example.com:08443", "bad port"},
	}
	for _, tt := range tests {
		_, err := cors.New(cors.Config{Origins: []string{tt.origin}})
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("%q: %v", tt.origin, err)
		case tt.wantErr != "" && err == nil:
			t.Errorf("%q accepted", tt.origin)
		case err != nil && (!strings.Contains(err.Error(), strconv.Quote(tt.origin)) || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%q: error %q does not name it or say %q", tt.origin, err, tt.wantErr)
		}
	}
}

// Every bad origin of a list is named, not only the first.
func TestCORSNewNamesEveryBadOrigin(t *testing.T) {
	_, err := cors.New(cors.Config{Origins: []string{"*", "https://ok.example.com", "https://a.example.com/"}})
	if err == nil || !strings.Contains(err.Error(), `"*"`) || !strings.Contains(err.Error(), `"https://a.example.com/"`) || strings.Contains(err.Error(), "ok.example.com\"") {
		t.Errorf("error %v", err)
	}
}
