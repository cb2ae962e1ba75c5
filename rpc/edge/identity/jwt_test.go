package identity_test

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/bookd/bookd/rpc/edge/identity"
)

func TestVerifyToken(t *testing.T) {
	k := keys()
	now := t0
	jwks := portalJWKS(t)
	both := newVerifier(t, identity.Config{
		HMACKey: k.hmac, JWKS: jwks, Issuer: "https://portal.example", Audience: "bookd",
	}, &now)
	jwksOnly := newVerifier(t, identity.Config{JWKS: jwks}, &now)
	hmacOnly := newVerifier(t, identity.Config{HMACKey: k.hmac}, &now)

	hs := map[string]any{"alg": "HS256", "typ": "JWT"}
	rs := map[string]any{"alg": "RS256", "kid": "rsa1"}
	es := map[string]any{"alg": "ES256", "kid": "ec1"}
	ed := map[string]any{"alg": "EdDSA", "kid": "ed1"}
	valid := signJWT(t, k.rsa, rs, claims(nil))
	parts := strings.Split(valid, ".")
	otherPayload := b64.EncodeToString([]byte(`{"sub":"cust-7","exp":1999999999}`))

	// The RSA public key as an attacker would use it for an HMAC secret.
	der, err := x509.MarshalPKIXPublicKey(&k.rsa.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	rsaPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})

	tests := []struct {
		name    string
		v       *identity.Verifier
		token   string
		wantErr string // a part of the refusal; "" means accepted
	}{
		{"HS256", both, signJWT(t, k.hmac, hs, claims(nil)), ""},
		{"RS256", both, valid, ""},
		{"ES256", both, signJWT(t, k.ec, es, claims(nil)), ""},
		{"EdDSA", both, signJWT(t, k.ed, ed, claims(nil)), ""},
		{"RS256 without kid, one RSA key", jwksOnly, signJWT(t, k.rsa, map[string]any{"alg": "RS256"}, claims(nil)), ""},
		{"HS256 with an HMAC key only", hmacOnly, signJWT(t, k.hmac, hs, claims(nil)), ""},
		{"aud array", both, signJWT(t, k.ed, ed, claims(map[string]any{"aud": []string{"other", "bookd"}})), ""},
		{"expired within leeway", both, signJWT(t, k.ed, ed, claims(map[string]any{"exp": t0.Add(-20 * time.Second).Unix()})), ""},
		{"fractional exp", both, signJWT(t, k.ed, ed, claims(map[string]any{"exp": float64(t0.Unix()) + 0.5})), ""},
		{"non-ASCII sub", both, signJWT(t, k.ed, ed, claims(map[string]any{"sub": "kundin-jürgen@例え.jp"})), ""},

		{"expired", both, signJWT(t, k.ed, ed, claims(map[string]any{"exp": t0.Add(-time.Minute).Unix()})), "expired"},
		{"not yet valid", both, signJWT(t, k.ed, ed, claims(map[string]any{"nbf": t0.Add(time.Minute).Unix()})), "not valid yet"},
		{"issued in the future", both, signJWT(t, k.ed, ed, claims(map[string]any{"iat": t0.Add(time.Hour).Unix()})), "future"},
		{"wrong signature", both, signJWT(t, k.otherRSA, rs, claims(nil)), "does not verify"},
		{"wrong HMAC key", both, signJWT(t, k.session, hs, claims(nil)), "does not verify"},
		{"tampered payload", both, parts[0] + "." + otherPayload + "." + parts[2], "does not verify"},
		{"ES256 signature in ASN.1", both, asn1Signed(t), "does not verify"},
		{"alg none", both, signJWT(t, nil, map[string]any{"alg": "none"}, claims(nil)), "alg none"},
		{"no alg", both, signJWT(t, k.hmac, map[string]any{}, claims(nil)), "alg none"},
		{"alg HS512", both, signJWT(t, k.hmac, map[string]any{"alg": "HS512"}, claims(nil)), "not supported"},
		{"key confusion: HS256 keyed with the RSA public key", jwksOnly,
			signJWT(t, rsaPEM, map[string]any{"alg": "HS256", "kid": "rsa1"}, claims(nil)), "no HMAC key"},
		{"key confusion with an HMAC key configured", both,
			signJWT(t, rsaPEM, map[string]any{"alg": "HS256", "kid": "rsa1"}, claims(nil)), "does not verify"},
		{"RS256 with an HMAC key only", hmacOnly, valid, "no JWKS"},
		{"kid of a key pinned to another alg", both, signJWT(t, k.ec, map[string]any{"alg": "ES256", "kid": "rsa1"}, claims(nil)), "verifies only RS256"},
		{"unknown kid", both, signJWT(t, k.rsa, map[string]any{"alg": "RS256", "kid": "rsa9"}, claims(nil)), "no key has the token's kid"},
		{"crit header", both, signJWT(t, k.rsa, map[string]any{"alg": "RS256", "kid": "rsa1", "crit": []string{"exp"}}, claims(nil)), "crit"},
		{"wrong iss", both, signJWT(t, k.ed, ed, claims(map[string]any{"iss": "https://evil.example"})), "claim iss"},
		{"missing iss", both, signJWT(t, k.ed, ed, claims(map[string]any{"iss": nil})), "claim iss"},
		{"wrong aud", both, signJWT(t, k.ed, ed, claims(map[string]any{"aud": "other"})), "claim aud"},
		{"wrong aud array", both, signJWT(t, k.ed, ed, claims(map[string]any{"aud": []string{"a", "b"}})), "claim aud"},
		{"missing aud", both, signJWT(t, k.ed, ed, claims(map[string]any{"aud": nil})), "claim aud"},
		{"missing sub", both, signJWT(t, k.ed, ed, claims(map[string]any{"sub": nil})), "claim sub"},
		{"empty sub", both, signJWT(t, k.ed, ed, claims(map[string]any{"sub": ""})), "claim sub"},
		{"numeric sub", both, signJWT(t, k.ed, ed, claims(map[string]any{"sub": 42})), "claim sub"},
		{"sub too long", both, signJWT(t, k.ed, ed, claims(map[string]any{"sub": strings.Repeat("x", 129)})), "limit is 128"},
		{"sub with a control character", both, signJWT(t, k.ed, ed, claims(map[string]any{"sub": "cust\n42"})), "not printable"},
		{"guest sub", both, signJWT(t, k.ed, ed, claims(map[string]any{"sub": "guest_AAAAAAAAAAAAAAAAAAAAAA"})), "reserved for guests"},
		{"guest sub in capitals", both, signJWT(t, k.ed, ed, claims(map[string]any{"sub": "GUEST_x"})), "reserved for guests"},
		{"missing exp", both, signJWT(t, k.ed, ed, claims(map[string]any{"exp": nil})), "exp is missing"},
		{"exp as a string", both, signJWT(t, k.ed, ed, claims(map[string]any{"exp": "2000000000"})), "exp is not a number"},
		{"oversize token", both, signJWT(t, k.ed, ed, claims(map[string]any{"pad": strings.Repeat("x", 8<<10)})), "limit is 8192"},
		{"two parts", both, parts[0] + "." + parts[1], "compact form"},
		{"padded base64", both, parts[0] + "=." + parts[1] + "." + parts[2], "compact form"},
		{"header not JSON", both, b64.EncodeToString([]byte("nope")) + "." + parts[1] + "." + parts[2], "header"},
		{"empty", both, "", "compact form"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := tt.v.VerifyToken(tt.token)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("VerifyToken: %v", err)
				}
				if id.Guest || id.CustomerID == "" {
					t.Fatalf("VerifyToken = %+v; want a customer", id)
				}
				return
			}
			if !errors.Is(err, identity.ErrUnauthenticated) {
				t.Fatalf("VerifyToken = %+v, %v; want ErrUnauthenticated", id, err)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not say %q", err, tt.wantErr)
			}
			if len(tt.token) > 20 && strings.Contains(err.Error(), tt.token[len(tt.token)-20:]) {
				t.Errorf("error %q repeats the token", err)
			}
		})
	}
}

func TestVerifyTokenCustomerID(t *testing.T) {
	now := t0
	v := newVerifier(t, identity.Config{HMACKey: keys().hmac}, &now)
	id, err := v.VerifyToken(signJWT(t, keys().hmac, map[string]any{"alg": "HS256"}, claims(nil)))
	if err != nil {
		t.Fatal(err)
	}
	if want := (identity.Identity{CustomerID: "cust-42"}); id != want {
		t.Fatalf("VerifyToken = %+v; want %+v", id, want)
	}
}

func TestVerifyTokenAmbiguousKey(t *testing.T) {
	k := keys()
	ks, err := identity.LoadJWKS(writeJWKS(t, jwkOf("a", k.rsa), jwkOf("b", k.otherRSA)))
	if err != nil {
		t.Fatal(err)
	}
	now := t0
	v := newVerifier(t, identity.Config{JWKS: ks}, &now)
	_, err = v.VerifyToken(signJWT(t, k.rsa, map[string]any{"alg": "RS256"}, claims(nil)))
	if !errors.Is(err, identity.ErrUnauthenticated) || !strings.Contains(err.Error(), "more than one") {
		t.Fatalf("token without kid against two RSA keys: %v; want refused as ambiguous", err)
	}
}

// asn1Signed returns an ES256 token whose signature is ASN.1 DER, as
// crypto/ecdsa.SignASN1 makes it, rather than JOSE's r||s.
func asn1Signed(t *testing.T) string {
	tok := signJWT(t, keys().ec, map[string]any{"alg": "ES256", "kid": "ec1"}, claims(nil))
	i := strings.LastIndex(tok, ".")
	raw, err := b64.DecodeString(tok[i+1:])
	if err != nil {
		t.Fatal(err)
	}
	der := derSignature(raw[:32], raw[32:])
	return tok[:i+1] + b64.EncodeToString(der)
}

// derSignature encodes r and s as an ASN.1 SEQUENCE of two INTEGERs.
func derSignature(r, s []byte) []byte {
	integer := func(b []byte) []byte {
		for len(b) > 1 && b[0] == 0 {
			b = b[1:]
		}
		if b[0]&0x80 != 0 {
			b = append([]byte{0}, b...)
		}
		return append([]byte{0x02, byte(len(b))}, b...)
	}
	body := append(integer(r), integer(s)...)
	return append([]byte{0x30, byte(len(body))}, body...)
}
