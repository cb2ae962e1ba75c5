package identity_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/bookd/bookd/rpc/edge/identity"
)

// t0 is the tests' clock, unless a test moves it.
var t0 = time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)

// testKeys are the signing keys of the tests' portal.
type testKeys struct {
	hmac     []byte
	session  []byte
	rsa      *rsa.PrivateKey
	otherRSA *rsa.PrivateKey // not in the JWKS
	ec       *ecdsa.PrivateKey
	ed       ed25519.PrivateKey
}

// keys generates the test keys once: RSA generation is slow under -race.
var keys = sync.OnceValue(func() *testKeys {
	must := func(err error) {
		if err != nil {
			panic(err)
		}
	}
	k := &testKeys{hmac: randBytes(32), session: randBytes(32)}
	var err error
	k.rsa, err = rsa.GenerateKey(rand.Reader, 2048)
	must(err)
	k.otherRSA, err = rsa.GenerateKey(rand.Reader, 2048)
	must(err)
	k.ec, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(err)
	_, k.ed, err = ed25519.GenerateKey(rand.Reader)
	must(err)
	return k
})

func randBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

var b64 = base64.RawURLEncoding

// jwkOf returns the public JWK of a test private key.
func jwkOf(kid string, priv crypto.Signer) map[string]any {
	m := map[string]any{"kid": kid, "use": "sig"}
	switch pub := priv.Public().(type) {
	case *rsa.PublicKey:
		m["kty"], m["n"], m["e"] = "RSA", b64.EncodeToString(pub.N.Bytes()), "AQAB"
	case *ecdsa.PublicKey:
		raw, err := pub.Bytes()
		if err != nil {
			panic(err)
		}
		m["kty"], m["crv"], m["x"], m["y"] = "EC", "P-256", b64.EncodeToString(raw[1:33]), b64.EncodeToString(raw[33:])
	case ed25519.PublicKey:
		m["kty"], m["crv"], m["x"] = "OKP", "Ed25519", b64.EncodeToString(pub)
	}
	return m
}

// writeJWKS writes a JWKS file of the given keys to a temporary directory
// and returns its path.
func writeJWKS(t *testing.T, jwks ...map[string]any) string {
	t.Helper()
	data, err := json.Marshal(map[string]any{"keys": jwks})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// portalJWKS loads a JWKS of the RSA, EC and Ed25519 test keys, with kids
// rsa1, ec1 and ed1.
func portalJWKS(t *testing.T) *identity.KeySet {
	t.Helper()
	k := keys()
	ks, err := identity.LoadJWKS(writeJWKS(t, jwkOf("rsa1", k.rsa), jwkOf("ec1", k.ec), jwkOf("ed1", k.ed)))
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

// signJWT returns a compact JWS of hdr and claims. The signature algorithm
// follows key's type ([]byte is HMAC-SHA256), whatever hdr's alg says, so
// tests can make tokens that lie about it.
func signJWT(t *testing.T, key any, hdr, claims map[string]any) string {
	t.Helper()
	h, err := json.Marshal(hdr)
	if err != nil {
		t.Fatal(err)
	}
	c, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	signed := b64.EncodeToString(h) + "." + b64.EncodeToString(c)
	digest := sha256.Sum256([]byte(signed))
	var sig []byte
	switch k := key.(type) {
	case []byte:
		mac := hmac.New(sha256.New, k)
		mac.Write([]byte(signed))
		sig = mac.Sum(nil)
	case *rsa.PrivateKey:
		sig, err = rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, digest[:])
	case *ecdsa.PrivateKey:
		r, s, e := ecdsa.Sign(rand.Reader, k, digest[:])
		sig, err = make([]byte, 64), e
		r.FillBytes(sig[:32])
		s.FillBytes(sig[32:])
	case ed25519.PrivateKey:
		sig = ed25519.Sign(k, []byte(signed))
	case nil:
		// alg none: no signature
	default:
		t.Fatalf("signJWT: key of type %T", key)
	}
	if err != nil {
		t.Fatal(err)
	}
	return signed + "." + b64.EncodeToString(sig)
}

// claims returns valid claims for customer cust-42 at t0, with changes
// applied: a nil value deletes the claim.
func claims(changes map[string]any) map[string]any {
	c := map[string]any{
		"sub": "cust-42",
		"iss": "https://portal.example",
		"aud": "bookd",
		"iat": t0.Unix(),
		"exp": t0.Add(5 * time.Minute).Unix(),
	}
	for k, v := range changes {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

// newVerifier returns a Verifier of cfg whose clock reads *now, with the
// test session key unless cfg has one.
func newVerifier(t *testing.T, cfg identity.Config, now *time.Time) *identity.Verifier {
	t.Helper()
	if cfg.SessionKey == nil {
		cfg.SessionKey = keys().session
	}
	cfg.Now = func() time.Time { return *now }
	v, err := identity.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
