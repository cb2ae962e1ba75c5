package clustertest

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/bookd/bookd/rpc"
	"github.com/bookd/bookd/rpc/auth"
	"github.com/bookd/bookd/rpc/auth/certgen"
)

// Security is a secure test cluster's setup: a CA that signed every node's
// certificate (TLS on the API, mutual TLS between nodes) and a tokens file
// with one token per role.
type Security struct {
	Dir        string
	CAFile     string
	TokensFile string
	// Tokens by role name: "admin", "booker", "reader".
	Tokens map[string]string
	ca     *certgen.CA
	tokens *auth.Tokens
}

func newSecurity(t interface {
	TempDir() string
	Fatal(...any)
}) *Security {
	dir := t.TempDir()
	ca, err := certgen.NewCA("bookd test CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	s := &Security{Dir: dir, CAFile: filepath.Join(dir, "ca.crt"), TokensFile: filepath.Join(dir, "tokens"), ca: ca,
		Tokens: map[string]string{"admin": "admin-token-0123456789", "booker": "booker-token-0123456789", "reader": "reader-token-0123456789"}}
	var lines []string
	for _, role := range []string{"admin", "booker", "reader"} {
		lines = append(lines, fmt.Sprintf("%s-app %s %s", role, role, s.Tokens[role]))
	}
	if err := os.WriteFile(s.TokensFile, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.CAFile, ca.PEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if s.tokens, err = auth.LoadTokens(s.TokensFile); err != nil {
		t.Fatal(err)
	}
	return s
}

// apply gives a node's server configuration its certificate and the tokens.
func (s *Security) apply(cfg *rpc.ServerConfig, id string) error {
	files, err := s.ca.WriteNode(s.Dir, id, []string{"127.0.0.1", "localhost"}, time.Hour)
	if err != nil {
		return err
	}
	tf := auth.TLSFiles{Cert: files.Cert, Key: files.Key, CA: files.CA}
	if cfg.TLS, err = tf.ServerConfig(); err != nil {
		return err
	}
	if cfg.PeerTLS, err = tf.PeerConfig(); err != nil {
		return err
	}
	cfg.Node.TLS = cfg.PeerTLS
	cfg.Auth = auth.NewAuthorizer(s.tokens)
	return nil
}

// ClientTLS trusts the cluster's CA (and shows no client certificate).
func (s *Security) ClientTLS() *tls.Config {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(s.ca.PEM)
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
}
