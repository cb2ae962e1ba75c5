package identity

import (
	"bytes"
	"crypto/hmac"
	"fmt"
	"time"
)

// Defaults and limits of Config.
const (
	// DefaultLeeway is the clock skew allowed on a token's exp, nbf and iat.
	DefaultLeeway = 30 * time.Second
	// DefaultSessionTTL is how long a guest session lasts.
	DefaultSessionTTL = 30 * 24 * time.Hour
	// MinKeyBytes is the shortest HMACKey and SessionKey New accepts.
	MinKeyBytes = 32
)

// Config says which customer tokens a Verifier accepts and how it keeps
// guest sessions. With neither HMACKey nor JWKS set, every bearer token is
// refused and all callers are guests.
type Config struct {
	// HMACKey, when set, verifies HS256 tokens. It is shared with the
	// portal that signs them and at least MinKeyBytes long.
	HMACKey []byte
	// JWKS, when set, verifies RS256, ES256 and EdDSA tokens against its
	// public keys (see LoadJWKS).
	JWKS *KeySet
	// Issuer, when set, must equal a token's iss claim.
	Issuer string
	// Audience, when set, must be a token's aud claim or one of its members.
	Audience string
	// Leeway is the clock skew allowed on exp, nbf and iat; zero means
	// DefaultLeeway.
	Leeway time.Duration

	// SessionKey signs guest session cookies. It is required, at least
	// MinKeyBytes long and different from HMACKey; every edge serving the
	// same site needs the same one.
	SessionKey []byte
	// SessionTTL is how long a guest session lasts, and the cookie's
	// Max-Age; zero means DefaultSessionTTL.
	SessionTTL time.Duration
	// SecureCookies marks session cookies Secure even on requests that
	// reached the edge over plain HTTP: set it when a proxy in front of the
	// edge terminates TLS. Requests over TLS always get Secure cookies.
	SecureCookies bool

	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Verifier establishes the identity of calls through the edge: from a
// portal's signed customer token, or from a guest session cookie it issues
// itself. It is safe for concurrent use.
type Verifier struct {
	hmacKey    []byte
	jwks       *KeySet
	issuer     string
	audience   string
	leeway     time.Duration
	sessionKey []byte
	sessionTTL time.Duration
	secure     bool
	now        func() time.Time
}

// New returns a Verifier for cfg, or an error naming the field at fault.
func New(cfg Config) (*Verifier, error) {
	if cfg.HMACKey != nil && len(cfg.HMACKey) < MinKeyBytes {
		return nil, fmt.Errorf("identity: config: HMACKey is %d bytes; want at least %d", len(cfg.HMACKey), MinKeyBytes)
	}
	if cfg.JWKS != nil && len(cfg.JWKS.keys) == 0 {
		return nil, fmt.Errorf("identity: config: JWKS holds no keys; use LoadJWKS or ParseJWKS")
	}
	if len(cfg.SessionKey) < MinKeyBytes {
		return nil, fmt.Errorf("identity: config: SessionKey is %d bytes; want at least %d", len(cfg.SessionKey), MinKeyBytes)
	}
	if cfg.HMACKey != nil && hmac.Equal(cfg.HMACKey, cfg.SessionKey) {
		return nil, fmt.Errorf("identity: config: SessionKey must differ from HMACKey, or the portal could forge guest sessions")
	}
	if cfg.Leeway < 0 {
		return nil, fmt.Errorf("identity: config: Leeway %v is negative", cfg.Leeway)
	}
	if cfg.SessionTTL < 0 || (cfg.SessionTTL > 0 && cfg.SessionTTL < time.Second) {
		return nil, fmt.Errorf("identity: config: SessionTTL %v is not a positive number of seconds", cfg.SessionTTL)
	}
	v := &Verifier{
		hmacKey:    bytes.Clone(cfg.HMACKey),
		jwks:       cfg.JWKS,
		issuer:     cfg.Issuer,
		audience:   cfg.Audience,
		leeway:     cfg.Leeway,
		sessionKey: bytes.Clone(cfg.SessionKey),
		sessionTTL: cfg.SessionTTL,
		secure:     cfg.SecureCookies,
		now:        cfg.Now,
	}
	if v.leeway == 0 {
		v.leeway = DefaultLeeway
	}
	if v.sessionTTL == 0 {
		v.sessionTTL = DefaultSessionTTL
	}
	if v.now == nil {
		v.now = time.Now
	}
	return v, nil
}
