package raftnode

import (
	"errors"
	"net"
	"syscall"
	"testing"
	"time"
)

// A dial refused because the peer is not listening yet is tried again,
// and reaches the peer once it listens; one refused for good still fails,
// with the refusal.
func TestDialPatientlyWaitsForAPeerThatIsStarting(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens: dials are refused

	if _, err := dialPatiently(&net.Dialer{}, addr, time.Second); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial with nobody listening: %v, want connection refused", err)
	}

	listening := make(chan net.Listener, 1)
	go func() {
		time.Sleep(dialPatience / 5)
		l, err := net.Listen("tcp", addr)
		if err != nil {
			listening <- nil
			return
		}
		listening <- l
	}()
	conn, err := dialPatiently(&net.Dialer{}, addr, time.Second)
	l := <-listening
	if l == nil {
		t.Skip("the port was taken meanwhile")
	}
	defer l.Close()
	if err != nil {
		t.Fatalf("dial while the peer starts listening: %v", err)
	}
	conn.Close()
}
