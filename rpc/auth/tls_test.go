package auth

import (
	"crypto/x509"
	"os"
	"testing"
	"time"

	"github.com/bookd/bookd/rpc/auth/certgen"
)

// A certificate rewritten in place is served from the next handshake on.
func TestCertificateRotation(t *testing.T) {
	dir := t.TempDir()
	ca, err := certgen.NewCA("test CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	files, err := ca.WriteNode(dir, "n1", []string{"127.0.0.1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	kp := &keyPair{cert: files.Cert, key: files.Key}
	if err := kp.load(); err != nil {
		t.Fatal(err)
	}
	serial := func() string {
		c, err := kp.get()
		if err != nil {
			t.Fatal(err)
		}
		leaf, err := x509.ParseCertificate(c.Certificate[0])
		if err != nil {
			t.Fatal(err)
		}
		return leaf.SerialNumber.String()
	}
	before := serial()
	if _, err := ca.WriteNode(dir, "n1", []string{"127.0.0.1"}, time.Hour); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Minute)
	for _, p := range []string{files.Cert, files.Key} {
		if err := os.Chtimes(p, later, later); err != nil {
			t.Fatal(err)
		}
	}
	kp.checked = time.Time{}
	if after := serial(); after == before {
		t.Fatalf("still serving certificate %s after rotation", before)
	}
}

func TestTLSFilesNeedAllThree(t *testing.T) {
	if _, err := (TLSFiles{Cert: "a", Key: "b"}).ServerConfig(); err == nil {
		t.Fatal("a TLS configuration without a CA was accepted")
	}
}
