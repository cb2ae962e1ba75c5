package identity_test

import (
	"strings"
	"testing"
	"time"

	"github.com/bookd/bookd/rpc/edge/identity"
)

func TestNewRefuses(t *testing.T) {
	k := keys()
	tests := []struct {
		name string
		cfg  identity.Config
		want string
	}{
		{"no session key", identity.Config{}, "SessionKey is 0 bytes"},
		{"short session key", identity.Config{SessionKey: make([]byte, 31)}, "SessionKey is 31 bytes"},
		{"short HMAC key", identity.Config{SessionKey: k.session, HMACKey: []byte("secret")}, "HMACKey is 6 bytes"},
		{"session key is the HMAC key", identity.Config{SessionKey: k.session, HMACKey: k.session}, "SessionKey must differ from HMACKey"},
		{"empty key set", identity.Config{SessionKey: k.session, JWKS: &identity.KeySet{}}, "JWKS holds no keys"},
		{"negative leeway", identity.Config{SessionKey: k.session, Leeway: -time.Second}, "Leeway"},
		{"negative session TTL", identity.Config{SessionKey: k.session, SessionTTL: -time.Hour}, "SessionTTL"},
		{"session TTL under a second", identity.Config{SessionKey: k.session, SessionTTL: time.Millisecond}, "SessionTTL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := identity.New(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New = %v; want an error saying %q", err, tt.want)
			}
		})
	}
}

func TestNewGuestOnly(t *testing.T) {
	v, err := identity.New(identity.Config{SessionKey: keys().session})
	if err != nil {
		t.Fatalf("New without token keys: %v", err)
	}
	if _, err := v.VerifyToken(signJWT(t, keys().hmac, map[string]any{"alg": "HS256"}, claims(nil))); err == nil || !strings.Contains(err.Error(), "no HMAC key") {
		t.Fatalf("guest-only Verifier, HS256 token: %v; want refused for want of an HMAC key", err)
	}
}
