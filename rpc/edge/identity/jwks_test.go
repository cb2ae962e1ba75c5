package identity_test

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bookd/bookd/rpc/edge/identity"
)

func TestLoadJWKSRefuses(t *testing.T) {
	k := keys()
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	with := func(m map[string]any, changes map[string]any) map[string]any {
		out := map[string]any{}
		for k, v := range m {
			out[k] = v
		}
		for k, v := range changes {
			if v == nil {
				delete(out, k)
			} else {
				out[k] = v
			}
		}
		return out
	}
	good := jwkOf("rsa1", k.rsa)
	ec := jwkOf("ec1", k.ec)

	tests := []struct {
		name string
		keys []map[string]any
		want string // a part of the error after the file name
	}{
		{"no keys", nil, "no signature keys"},
		{"only an encryption key", []map[string]any{with(good, map[string]any{"use": "enc"})}, "no signature keys"},
		{"RSA modulus too small", []map[string]any{good, jwkOf("small", small)}, `key 1 (kid "small"): RSA modulus has 1024 bits`},
		{"alg of another key type", []map[string]any{with(good, map[string]any{"alg": "ES256"})}, `key 0 (kid "rsa1"): alg "ES256"`},
		{"alg not supported", []map[string]any{with(good, map[string]any{"alg": "RS512"})}, `alg "RS512"`},
		{"HS256 on a public key", []map[string]any{with(ec, map[string]any{"alg": "HS256"})}, `alg "HS256"`},
		{"symmetric key", []map[string]any{{"kty": "oct", "kid": "s", "k": "c2VjcmV0"}}, `key 0 (kid "s"): holds secret key material`},
		{"private key", []map[string]any{with(good, map[string]any{"d": "AQAB"})}, "secret key material"},
		{"P-384", []map[string]any{with(ec, map[string]any{"crv": "P-384"})}, `crv "P-384" is not supported`},
		{"point not on the curve", []map[string]any{with(ec, map[string]any{"y": ec["x"]})}, "P-256 key"},
		{"short Ed25519 key", []map[string]any{with(jwkOf("ed1", k.ed), map[string]any{"x": "AQAB"})}, "Ed25519 key is 3 bytes"},
		{"even exponent", []map[string]any{with(good, map[string]any{"e": "Ag"})}, "RSA exponent"},
		{"missing modulus", []map[string]any{with(good, map[string]any{"n": nil})}, "member n is missing"},
		{"padded base64", []map[string]any{with(good, map[string]any{"e": "AQAB=="})}, "member e is not base64url"},
		{"use other than sig", []map[string]any{with(good, map[string]any{"use": "wrap"})}, `use "wrap"`},
		{"key_ops without verify", []map[string]any{with(good, map[string]any{"key_ops": []string{"sign"}})}, "key_ops"},
		{"duplicate kid", []map[string]any{good, with(ec, map[string]any{"kid": "rsa1"})}, `key 1: kid "rsa1" is used by an earlier key`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeJWKS(t, tt.keys...)
			_, err := identity.LoadJWKS(path)
			if err == nil {
				t.Fatal("LoadJWKS succeeded; want an error")
			}
			if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("LoadJWKS: %v\nwant it to name %s and say %s", err, path, tt.want)
			}
		})
	}
}

func TestLoadJWKSFiles(t *testing.T) {
	dir := t.TempDir()
	notJSON := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(notJSON, []byte("keys: []"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, want string
	}{
		{"missing file", filepath.Join(dir, "absent.json"), "absent.json"},
		{"not JSON", notJSON, "bad.json: not a JWKS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := identity.LoadJWKS(tt.path)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("LoadJWKS(%s) = %v; want an error saying %q", tt.path, err, tt.want)
			}
		})
	}
}

func TestParseJWKSSkipsEncryptionKeys(t *testing.T) {
	k := keys()
	enc := jwkOf("enc1", k.otherRSA)
	enc["use"], enc["alg"] = "enc", "RSA-OAEP"
	data, err := json.Marshal(map[string]any{"keys": []any{enc, jwkOf("ed1", k.ed)}})
	if err != nil {
		t.Fatal(err)
	}
	ks, err := identity.ParseJWKS(data)
	if err != nil {
		t.Fatalf("ParseJWKS: %v", err)
	}
	now := t0
	v := newVerifier(t, identity.Config{JWKS: ks}, &now)
	if _, err := v.VerifyToken(signJWT(t, k.ed, map[string]any{"alg": "EdDSA"}, claims(nil))); err != nil {
		t.Errorf("EdDSA token without kid: %v", err)
	}
	if _, err := v.VerifyToken(signJWT(t, k.otherRSA, map[string]any{"alg": "RS256", "kid": "enc1"}, claims(nil))); err == nil {
		t.Error("token signed with the encryption key was accepted")
	}
}
