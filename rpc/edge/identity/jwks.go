package identity

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"slices"
)

// RSA modulus sizes a JWKS key may have.
const (
	minRSABits = 2048
	maxRSABits = 8192
)

// KeySet is a parsed JWKS (RFC 7517): public keys that verify customer
// tokens, each pinned to one algorithm (RS256, ES256 or EdDSA). It is
// immutable and safe for concurrent use.
type KeySet struct{ keys []jwk }

// jwk is one public key and the only algorithm it verifies.
type jwk struct {
	kid string
	alg string
	pub crypto.PublicKey
}

// rawJWK holds the members of a JWK this package reads.
type rawJWK struct {
	Kty    string   `json:"kty"`
	Kid    string   `json:"kid"`
	Alg    string   `json:"alg"`
	Use    string   `json:"use"`
	KeyOps []string `json:"key_ops"`
	Crv    string   `json:"crv"`
	N      string   `json:"n"`
	E      string   `json:"e"`
	X      string   `json:"x"`
	Y      string   `json:"y"`
	D      string   `json:"d"`
	K      string   `json:"k"`
}

// LoadJWKS reads and parses the JWKS file at path (see ParseJWKS); errors
// name the file and the key at fault.
func LoadJWKS(path string) (*KeySet, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("identity: read JWKS: %w", err)
	}
	ks, err := ParseJWKS(data)
	if err != nil {
		return nil, fmt.Errorf("identity: JWKS %s: %w", path, err)
	}
	return ks, nil
}

// ParseJWKS parses a JSON Web Key Set, {"keys":[...]}, of RSA (RS256,
// modulus of 2048 to 8192 bits), EC P-256 (ES256) and Ed25519 (EdDSA)
// public keys. A key's alg member, when present, must be the one its type
// implies. Keys marked "use":"enc" are skipped; any other key this package
// cannot use, a private key, or a kid used twice is an error naming the key
// by index and kid.
func ParseJWKS(data []byte) (*KeySet, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("not a JWKS: %w", err)
	}
	ks := &KeySet{}
	kids := map[string]bool{}
	for i, msg := range set.Keys {
		var r rawJWK
		if err := json.Unmarshal(msg, &r); err != nil {
			return nil, fmt.Errorf("key %d: %w", i, err)
		}
		if r.Use == "enc" {
			continue
		}
		k, err := parseJWK(r)
		if err != nil {
			return nil, fmt.Errorf("key %d (kid %q): %w", i, r.Kid, err)
		}
		if k.kid != "" {
			if kids[k.kid] {
				return nil, fmt.Errorf("key %d: kid %q is used by an earlier key", i, k.kid)
			}
			kids[k.kid] = true
		}
		ks.keys = append(ks.keys, k)
	}
	if len(ks.keys) == 0 {
		return nil, fmt.Errorf("no signature keys")
	}
	return ks, nil
}

// parseJWK checks one key and pins its algorithm.
func parseJWK(r rawJWK) (jwk, error) {
	if r.D != "" || r.K != "" {
		return jwk{}, fmt.Errorf("holds secret key material; publish only public keys")
	}
	if r.Use != "" && r.Use != "sig" {
		return jwk{}, fmt.Errorf("use %q is not sig", r.Use)
	}
	if r.KeyOps != nil && !slices.Contains(r.KeyOps, "verify") {
		return jwk{}, fmt.Errorf("key_ops does not include verify")
	}
	k := jwk{kid: r.Kid}
	var err error
	switch {
	case r.Kty == "RSA":
		k.alg = "RS256"
		k.pub, err = rsaKey(r.N, r.E)
	case r.Kty == "EC" && r.Crv == "P-256":
		k.alg = "ES256"
		k.pub, err = p256Key(r.X, r.Y)
	case r.Kty == "OKP" && r.Crv == "Ed25519":
		k.alg = "EdDSA"
		k.pub, err = ed25519Key(r.X)
	default:
		return jwk{}, fmt.Errorf("kty %q crv %q is not supported; want RSA, EC P-256 or OKP Ed25519", r.Kty, r.Crv)
	}
	if err != nil {
		return jwk{}, err
	}
	if r.Alg != "" && r.Alg != k.alg {
		return jwk{}, fmt.Errorf("alg %q is not supported for a %s key; want %s", r.Alg, r.Kty, k.alg)
	}
	return k, nil
}

func rsaKey(n64, e64 string) (*rsa.PublicKey, error) {
	nb, err := decodeMember("n", n64)
	if err != nil {
		return nil, err
	}
	eb, err := decodeMember("e", e64)
	if err != nil {
		return nil, err
	}
	n := new(big.Int).SetBytes(nb)
	if bits := n.BitLen(); bits < minRSABits || bits > maxRSABits {
		return nil, fmt.Errorf("RSA modulus has %d bits; want %d to %d", bits, minRSABits, maxRSABits)
	}
	e := new(big.Int).SetBytes(eb)
	if e.BitLen() > 31 || e.Int64() < 3 || e.Bit(0) == 0 {
		return nil, fmt.Errorf("RSA exponent is not an odd number from 3 to 2^31-1")
	}
	return &rsa.PublicKey{N: n, E: int(e.Int64())}, nil
}

func p256Key(x64, y64 string) (*ecdsa.PublicKey, error) {
	x, err := decodeMember("x", x64)
	if err != nil {
		return nil, err
	}
	y, err := decodeMember("y", y64)
	if err != nil {
		return nil, err
	}
	if len(x) != 32 || len(y) != 32 {
		return nil, fmt.Errorf("P-256 coordinates are %d and %d bytes; want 32", len(x), len(y))
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), slices.Concat([]byte{4}, x, y))
	if err != nil {
		return nil, fmt.Errorf("P-256 key: %w", err)
	}
	return pub, nil
}

func ed25519Key(x64 string) (ed25519.PublicKey, error) {
	x, err := decodeMember("x", x64)
	if err != nil {
		return nil, err
	}
	if len(x) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("Ed25519 key is %d bytes; want %d", len(x), ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(x), nil
}

// decodeMember decodes a JWK's base64url member.
func decodeMember(name, s string) ([]byte, error) {
	if s == "" {
		return nil, fmt.Errorf("member %s is missing", name)
	}
	b, err := b64.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("member %s is not base64url: %w", name, err)
	}
	return b, nil
}

// b64 is the unpadded base64url of JOSE and of session cookies.
var b64 = base64.RawURLEncoding.Strict()
