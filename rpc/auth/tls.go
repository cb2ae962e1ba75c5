package auth

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"sync"
	"time"
)

// TLSFiles names a node's certificate and key (PEM) and the cluster's CA
// certificate(s), which signed every node's certificate. A node certificate
// serves clients and other nodes, and identifies the node when it calls
// another node, so it needs both the server and client auth key usages
// and the node's host names or IPs as SANs.
type TLSFiles struct {
	Cert, Key, CA string
}

// ServerConfig is for the client API listener: it serves the node's
// certificate and verifies a client certificate against the CA when the
// caller sends one (other nodes do; clients use tokens).
func (f TLSFiles) ServerConfig() (*tls.Config, error) {
	cfg, err := f.base()
	if err != nil {
		return nil, err
	}
	cfg.ClientAuth = tls.VerifyClientCertIfGiven
	cfg.NextProtos = []string{"h2", "http/1.1"}
	return cfg, nil
}

// PeerConfig is for connections between nodes (Raft and forwarding), as
// client or server: each side shows its node certificate and requires and
// verifies the other's.
func (f TLSFiles) PeerConfig() (*tls.Config, error) {
	cfg, err := f.base()
	if err != nil {
		return nil, err
	}
	cfg.ClientAuth = tls.RequireAndVerifyClientCert
	return cfg, nil
}

func (f TLSFiles) base() (*tls.Config, error) {
	if f.Cert == "" || f.Key == "" || f.CA == "" {
		return nil, fmt.Errorf("auth: TLS needs a certificate, its key and the CA")
	}
	pem, err := os.ReadFile(f.CA)
	if err != nil {
		return nil, fmt.Errorf("auth: CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("auth: CA %s: no PEM certificate in it", f.CA)
	}
	kp := &keyPair{cert: f.Cert, key: f.Key}
	if err := kp.load(); err != nil {
		return nil, err
	}
	return &tls.Config{
		MinVersion:           tls.VersionTLS12,
		RootCAs:              pool,
		ClientCAs:            pool,
		GetCertificate:       func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return kp.get() },
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return kp.get() },
	}, nil
}

// keyPair is a certificate read again when its files change, so a rotated
// certificate is served from the next handshake on.
type keyPair struct {
	cert, key string

	mu      sync.Mutex
	current *tls.Certificate
	stamp   [2]time.Time
	checked time.Time
}

func (k *keyPair) load() error {
	c, err := tls.LoadX509KeyPair(k.cert, k.key)
	if err != nil {
		return fmt.Errorf("auth: certificate %s with key %s: %w", k.cert, k.key, err)
	}
	k.current, k.stamp = &c, k.modTimes()
	return nil
}

func (k *keyPair) modTimes() [2]time.Time {
	var st [2]time.Time
	for i, p := range []string{k.cert, k.key} {
		if fi, err := os.Stat(p); err == nil {
			st[i] = fi.ModTime()
		}
	}
	return st
}

func (k *keyPair) get() (*tls.Certificate, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if now := time.Now(); now.Sub(k.checked) >= reloadEvery {
		k.checked = now
		if k.modTimes() != k.stamp {
			old := k.current
			if err := k.load(); err != nil {
				k.current = old // a half-written pair: keep the old one
			}
		}
	}
	return k.current, nil
}
