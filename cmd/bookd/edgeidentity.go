package main

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"log/slog"
	"net/netip"
	"os"
	"strings"

	"github.com/bookd/bookd/rpc/edge/identity"
	"github.com/spf13/pflag"
)

// edgeIdentityOptions say how an edge knows who its callers are: the
// portal's signed customer tokens, and the edge's own guest sessions.
type edgeIdentityOptions struct {
	hmacKeyFile   string
	jwksFile      string
	issuer        string
	audience      string
	secureCookies bool
}

func (o *edgeIdentityOptions) register(f *pflag.FlagSet) {
	f.StringVar(&o.hmacKeyFile, "customer-hmac-key-file", "", "file holding the key (32+ bytes) the portal signs customer tokens with (JWT, HS256, sent as Authorization: Bearer)")
	f.StringVar(&o.jwksFile, "customer-jwks-file", "", "JWKS file of the public keys the portal signs customer tokens with (RS256, ES256 or EdDSA)")
	f.StringVar(&o.issuer, "customer-issuer", "", "with customer tokens: the iss they must carry (empty: not checked)")
	f.StringVar(&o.audience, "customer-audience", "", "with customer tokens: the aud they must carry (empty: not checked)")
	f.BoolVar(&o.secureCookies, "secure-cookies", false, "mark guest session cookies Secure although the edge serves plain HTTP (TLS ends at a load balancer in front)")
}

// verifier builds the edge's identity from the flags. Guest sessions are
// signed with a key derived from the shared secret, so every edge that
// shares it knows every guest; without one, with a key drawn now, good on
// this edge until it stops.
func (o *edgeIdentityOptions) verifier(secret string, logger *slog.Logger) (*identity.Verifier, error) {
	cfg := identity.Config{Issuer: o.issuer, Audience: o.audience, SecureCookies: o.secureCookies}
	if o.hmacKeyFile != "" {
		key, err := os.ReadFile(o.hmacKeyFile)
		if err != nil {
			return nil, usagef("--customer-hmac-key-file: %v", err)
		}
		cfg.HMACKey = []byte(strings.TrimSpace(string(key)))
	}
	if o.jwksFile != "" {
		keys, err := identity.LoadJWKS(o.jwksFile)
		if err != nil {
			return nil, usagef("--customer-jwks-file: %v", err)
		}
		cfg.JWKS = keys
	}
	if secret != "" {
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write([]byte("bookd edge guest sessions v1"))
		cfg.SessionKey = mac.Sum(nil)
	} else {
		cfg.SessionKey = make([]byte, identity.MinKeyBytes)
		rand.Read(cfg.SessionKey)
		logger.Warn("no --secret: guest sessions are good on this edge only, until it stops; give every edge the same --secret")
	}
	v, err := identity.New(cfg)
	if err != nil {
		return nil, usagef("customer identity: %v", err)
	}
	return v, nil
}

// parsePrefixes reads CIDRs (a bare address is a /32 or /128), each flag
// value possibly a comma-separated list.
func parsePrefixes(flag string, values []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, v := range values {
		for s := range strings.SplitSeq(v, ",") {
			if s = strings.TrimSpace(s); s == "" {
				continue
			}
			p, err := netip.ParsePrefix(s)
			if err != nil {
				a, aerr := netip.ParseAddr(s)
				if aerr != nil {
					return nil, usagef("%s: %q is not a CIDR or an address", flag, s)
				}
				p = netip.PrefixFrom(a, a.BitLen())
			}
			out = append(out, p.Masked())
		}
	}
	return out, nil
}
