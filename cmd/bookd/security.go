package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/bookd/bookd/rpc"
	"github.com/bookd/bookd/rpc/auth"
	"github.com/spf13/pflag"
)

// securityFlags are `bookd server`'s TLS and token settings.
type securityFlags struct {
	tls      auth.TLSFiles
	tokens   string
	insecure bool
}

func (s *securityFlags) register(f *pflag.FlagSet) {
	f.StringVar(&s.tls.Cert, "tls-cert", "", "this node's certificate (PEM): TLS on the API, mutual TLS to the other nodes; reread when it changes")
	f.StringVar(&s.tls.Key, "tls-key", "", "the key of --tls-cert (PEM)")
	f.StringVar(&s.tls.CA, "tls-ca", "", "the CA certificate that signed every node's certificate (PEM)")
	f.StringVar(&s.tokens, "tokens-file", "", "bearer tokens, a line each: NAME ROLE TOKEN (roles: admin, booker, reader); reread when it changes")
	f.BoolVar(&s.insecure, "insecure", false, "allow serving without TLS or tokens on addresses other than loopback")
}

// apply configures cfg, or refuses a server open to the network: one that
// listens beyond loopback without both TLS and tokens, unless --insecure.
func (s *securityFlags) apply(cfg *rpc.ServerConfig, listens map[string]string) error {
	anyTLS := s.tls.Cert != "" || s.tls.Key != "" || s.tls.CA != ""
	if anyTLS {
		srv, err := s.tls.ServerConfig()
		if err != nil {
			return usagef("--tls-cert, --tls-key and --tls-ca go together: %v", err)
		}
		peer, err := s.tls.PeerConfig()
		if err != nil {
			return err
		}
		cfg.TLS, cfg.PeerTLS, cfg.Node.TLS = srv, peer, peer
	}
	if s.tokens != "" {
		tok, err := auth.LoadTokens(s.tokens)
		if err != nil {
			return usagef("--tokens-file: %v", err)
		}
		cfg.Auth = auth.NewAuthorizer(tok)
	}
	if s.insecure || (anyTLS && s.tokens != "") {
		return nil
	}
	for flag, addr := range listens {
		if addr != "" && !loopbackOnly(addr) {
			return usagef("refusing to serve %s (%s) open to the network without TLS and tokens: give --tls-cert, --tls-key, --tls-ca and --tokens-file, bind loopback only, or pass --insecure", flag, addr)
		}
	}
	return nil
}

// loopbackOnly reports whether a listen address accepts only local
// connections: a loopback IP or "localhost" (not "", "0.0.0.0" or a name).
func loopbackOnly(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// clientTLS trusts the CA in caFile for the CLI's calls ("" : system roots).
func clientTLS(caFile string) (*tls.Config, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, usagef("--ca-file: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, usagef("--ca-file %s: no PEM certificate in it", caFile)
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}

// describeSecurity is the log line's view of the settings (no secrets).
func (s *securityFlags) describe() string {
	return fmt.Sprintf("tls=%v tokens=%v insecure=%v", s.tls.Cert != "", s.tokens != "", s.insecure)
}
