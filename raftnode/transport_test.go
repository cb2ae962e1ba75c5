package raftnode

import (
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

func TestSourceAddrUsesTheBindIP(t *testing.T) {
	for bind, want := range map[string]string{
		"127.0.0.7:7001": "127.0.0.7",
		"[::1]:7001":     "::1",
		"0.0.0.0:7001":   "",
		":7001":          "",
		"node1:7001":     "",
		"garbage":        "",
	} {
		got := SourceAddr(bind)
		if (got == nil) != (want == "") || (got != nil && got.IP.String() != want) {
			t.Errorf("SourceAddr(%q) = %v, want %q", bind, got, want)
		}
	}
}

func TestServerAddressNamesTheServer(t *testing.T) {
	a := serverAddress("n2", "127.0.0.1:7002")
	if id, hp := splitServerAddress(a); id != "n2" || hp != "127.0.0.1:7002" {
		t.Errorf("split(%q) = %q, %q", a, id, hp)
	}
	if id, hp := splitServerAddress("127.0.0.1:7002"); id != "" || hp != "127.0.0.1:7002" {
		t.Errorf("split of a bare address = %q, %q", id, hp)
	}
}

func listenStream(t *testing.T, id, ip string) (*streamLayer, string) {
	t.Helper()
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	s := newStreamLayer(ln, id, ln.Addr().String(), SourceAddr(ln.Addr().String()), nil, slog.New(slog.DiscardHandler))
	t.Cleanup(func() { s.Close() })
	return s, ln.Addr().String()
}

// TestConnectionsReachOnlyTheServerMeant covers both halves of the
// handshake: connections leave from the bind IP, and a connection meant for
// another server (an address reused by a new node) is refused.
func TestConnectionsReachOnlyTheServerMeant(t *testing.T) {
	n1, _ := listenStream(t, "n1", "127.0.0.9")
	n2, addr2 := listenStream(t, "n2", "127.0.0.1")
	if got := n2.Addr().String(); got != "n2@"+addr2 {
		t.Errorf("n2 advertises %s, want n2@%s", got, addr2)
	}

	conn, err := n1.Dial(serverAddress("n2", addr2), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	in, err := n2.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	if ip := in.RemoteAddr().(*net.TCPAddr).IP.String(); ip != "127.0.0.9" {
		t.Errorf("n2 sees the connection from %s, want n1's bind IP 127.0.0.9", ip)
	}
	conn.Write([]byte("ping"))
	buf := make([]byte, 4)
	if _, err := io.ReadFull(in, buf); err != nil || string(buf) != "ping" {
		t.Errorf("after the handshake n2 read %q, %v; want the dialer's bytes", buf, err)
	}

	stale, err := n1.Dial(serverAddress("n7", addr2), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer stale.Close()
	stale.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := stale.Read(buf); err == nil {
		t.Errorf("a connection meant for n7 was answered by n2")
	}
	accepted := make(chan net.Conn, 1)
	go func() {
		if c, err := n2.Accept(); err == nil {
			accepted <- c
		}
	}()
	select {
	case c := <-accepted:
		c.Close()
		t.Errorf("n2 accepted a connection meant for n7")
	case <-time.After(200 * time.Millisecond):
	}

	if _, err := n1.Dial(raft.ServerAddress(addr2), time.Second); err == nil {
		t.Errorf("dialing an address without a server id succeeded")
	}
}
