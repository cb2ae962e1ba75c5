package identity

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"math/big"
	"strings"
)

// MaxTokenBytes bounds a bearer token; longer ones are refused before
// anything in them is decoded.
const MaxTokenBytes = 8 << 10

var errNotObject = errors.New("not a JSON object")

// VerifyToken checks a customer token, a JWT in JWS compact form, and
// returns the identity its sub claim names. The signature must verify with
// the configured HMAC key (HS256) or with the JWKS key the token names
// (RS256, ES256, EdDSA), and the claims must hold (see Config). A refused
// token's error matches ErrUnauthenticated.
func (v *Verifier) VerifyToken(token string) (Identity, error) {
	if len(token) > MaxTokenBytes {
		return Identity{}, refuse("bearer token is %d bytes; the limit is %d", len(token), MaxTokenBytes)
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 || !isBase64URL(token) {
		return Identity{}, refuse("bearer token is not a JWT in compact form")
	}
	var hdr map[string]json.RawMessage
	if err := decodePart(parts[0], &hdr); err != nil {
		return Identity{}, refuse("token header is not base64url JSON")
	}
	if _, ok := hdr["crit"]; ok {
		return Identity{}, refuse("token header crit is not supported")
	}
	alg, ok1 := stringMember(hdr, "alg")
	kid, ok2 := stringMember(hdr, "kid")
	if !ok1 || !ok2 {
		return Identity{}, refuse("token header alg or kid is not a string")
	}
	sig, err := b64.DecodeString(parts[2])
	if err != nil {
		return Identity{}, refuse("token signature is not base64url")
	}
	signed := token[:len(parts[0])+1+len(parts[1])]
	if err := v.verifySignature(alg, kid, []byte(signed), sig); err != nil {
		return Identity{}, err
	}
	var claims map[string]json.RawMessage
	if err := decodePart(parts[1], &claims); err != nil {
		return Identity{}, refuse("token claims are not base64url JSON")
	}
	sub, err := v.checkClaims(claims)
	if err != nil {
		return Identity{}, err
	}
	return Identity{CustomerID: sub}, nil
}

// verifySignature checks sig over signed with the key alg and kid select.
// HS256 is only ever checked with the HMAC key and the other algorithms
// only with JWKS keys pinned to them, so a public key can never serve as
// an HMAC secret.
func (v *Verifier) verifySignature(alg, kid string, signed, sig []byte) error {
	switch alg {
	case "HS256":
		if v.hmacKey == nil {
			return refuse("HS256 tokens are not accepted here: no HMAC key is configured")
		}
		mac := hmac.New(sha256.New, v.hmacKey)
		mac.Write(signed)
		if !hmac.Equal(sig, mac.Sum(nil)) {
			return refuse("token signature does not verify")
		}
		return nil
	case "RS256", "ES256", "EdDSA":
		if v.jwks == nil {
			return refuse("%s tokens are not accepted here: no JWKS is configured", alg)
		}
		k, err := v.jwks.lookup(alg, kid)
		if err != nil {
			return err
		}
		if !k.verify(signed, sig) {
			return refuse("token signature does not verify")
		}
		return nil
	case "", "none":
		return refuse("unsigned tokens (alg none) are refused")
	default:
		return refuse("token alg is not supported; want HS256, RS256, ES256 or EdDSA")
	}
}

// lookup returns the key for a token: the one kid names, or without a kid
// the only key pinned to alg. The key's pinned algorithm must be alg.
func (ks *KeySet) lookup(alg, kid string) (*jwk, error) {
	if kid != "" {
		for i := range ks.keys {
			if k := &ks.keys[i]; k.kid == kid {
				if k.alg != alg {
					return nil, refuse("the key the token's kid names verifies only %s, not %s", k.alg, alg)
				}
				return k, nil
			}
		}
		return nil, refuse("no key has the token's kid")
	}
	var found *jwk
	for i := range ks.keys {
		if ks.keys[i].alg == alg {
			if found != nil {
				return nil, refuse("token has no kid and more than one %s key could verify it", alg)
			}
			found = &ks.keys[i]
		}
	}
	if found == nil {
		return nil, refuse("no %s key is configured", alg)
	}
	return found, nil
}

// verify reports whether sig is k's signature of signed.
func (k *jwk) verify(signed, sig []byte) bool {
	h := sha256.Sum256(signed)
	switch pub := k.pub.(type) {
	case *rsa.PublicKey:
		return rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], sig) == nil
	case *ecdsa.PublicKey:
		// RFC 7518 section 3.4: r and s, 32 bytes each, not ASN.1.
		if len(sig) != 64 {
			return false
		}
		r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
		return ecdsa.Verify(pub, h[:], r, s)
	case ed25519.PublicKey:
		return ed25519.Verify(pub, signed, sig)
	}
	return false
}

// isBase64URL reports whether s holds only base64url characters and dots.
func isBase64URL(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// decodePart decodes a base64url JSON object.
func decodePart(part string, into *map[string]json.RawMessage) error {
	data, err := b64.DecodeString(part)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, into); err != nil {
		return err
	}
	if *into == nil { // the JSON was null
		return errNotObject
	}
	return nil
}

// stringMember returns m[name] as a string: "" and true when absent, false
// when it is not a JSON string.
func stringMember(m map[string]json.RawMessage, name string) (string, bool) {
	raw, ok := m[name]
	if !ok {
		return "", true
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}
