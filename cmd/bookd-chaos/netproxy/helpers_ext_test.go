package netproxy_test

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/bookd/bookd/cmd/bookd-chaos/netproxy"
)

// testNet is a network of named nodes on loopback IPs of their own, each
// node an echo server behind a proxy.
type testNet struct {
	t       *testing.T
	net     *netproxy.Network
	ips     map[string]string // node → source IP
	proxies map[string]string // node → its proxy's address
}

// newTestNet starts echo servers and proxies for the named nodes on
// 127.R.S.(10+i), with R and S random so that concurrent runs do not meet.
func newTestNet(t *testing.T, names ...string) *testNet {
	t.Helper()
	logger := slog.New(slog.DiscardHandler)
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	tn := &testNet{t: t, net: netproxy.New(logger, 1), ips: map[string]string{}, proxies: map[string]string{}}
	t.Cleanup(func() {
		if err := tn.net.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	r, s := 1+rand.IntN(254), rand.IntN(256)
	for i, name := range names {
		ip := fmt.Sprintf("127.%d.%d.%d", r, s, 10+i)
		echo := startEcho(t, ip)
		tn.net.AddNode(name, ip)
		addr, err := tn.net.Listen(name, ip+":0", echo)
		if err != nil {
			t.Fatal(err)
		}
		tn.ips[name], tn.proxies[name] = ip, addr
	}
	return tn
}

// startEcho serves an echo server on ip and returns its address. It stops,
// with all its connections, when the test ends.
func startEcho(t *testing.T, ip string) string {
	t.Helper()
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	conns := map[net.Conn]bool{}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns[c] = true
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				io.Copy(c, c)
				c.Close()
				mu.Lock()
				delete(conns, c)
				mu.Unlock()
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// dial connects from node from ("" for a caller that is no node) to node
// to's proxy.
func (tn *testNet) dial(from, to string) net.Conn {
	tn.t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second}
	if from != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(tn.ips[from])}
	}
	c, err := d.Dial("tcp", tn.proxies[to])
	if err != nil {
		tn.t.Fatalf("dial %s → %s: %v", from, to, err)
	}
	tn.t.Cleanup(func() { c.Close() })
	return c
}

// echo sends msg over c and reads it back within wait.
func echo(c net.Conn, msg string, wait time.Duration) error {
	c.SetDeadline(time.Now().Add(wait))
	defer c.SetDeadline(time.Time{})
	if _, err := io.WriteString(c, msg); err != nil {
		return err
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil {
		return err
	}
	if string(got) != msg {
		return fmt.Errorf("echoed %q, sent %q", got, msg)
	}
	return nil
}

// mustEcho fails the test unless a message makes the round trip from from
// to to on a new connection.
func (tn *testNet) mustEcho(from, to string) {
	tn.t.Helper()
	if err := echo(tn.dial(from, to), "ping "+from+"→"+to, 10*time.Second); err != nil {
		tn.t.Fatalf("%s → %s: %v", from, to, err)
	}
}

// mustBeCut fails the test unless a new connection from from to to is
// accepted but nothing comes back within a moment.
func (tn *testNet) mustBeCut(from, to string) net.Conn {
	tn.t.Helper()
	c := tn.dial(from, to)
	if err := echo(c, "hello?", 300*time.Millisecond); !isTimeout(err) {
		tn.t.Fatalf("%s → %s across a cut link: got %v, want a timeout", from, to, err)
	}
	return c
}

// waitReset fails the test unless reading c ends with an error other than a
// timeout (a reset or close by the proxy) and no data.
func waitReset(t *testing.T, c net.Conn, what string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, err := c.Read(make([]byte, 1024))
	if n > 0 || err == nil || isTimeout(err) {
		t.Fatalf("%s: read %d bytes, err %v; want the connection reset", what, n, err)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
