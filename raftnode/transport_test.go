package raftnode

import (
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

// TestRaftConnectionsLeaveFromTheBindIP is what lets a firewall or a
// fault-injecting proxy tell nodes apart by source address.
func TestRaftConnectionsLeaveFromTheBindIP(t *testing.T) {
	peer, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	tr, err := newTransport("127.0.0.9:0", "127.0.0.9:7001", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if got := tr.LocalAddr(); got != "127.0.0.9:7001" {
		t.Errorf("advertised %s, want 127.0.0.9:7001", got)
	}
	stream := &streamLayer{local: SourceAddr("127.0.0.9:0")}
	conn, err := stream.Dial(raft.ServerAddress("127.0.0.1:"+portOf(t, peer.Addr())), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	in, err := peer.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	if ip := in.RemoteAddr().(*net.TCPAddr).IP.String(); ip != "127.0.0.9" {
		t.Errorf("peer sees the connection from %s, want 127.0.0.9", ip)
	}
}

func portOf(t *testing.T, a net.Addr) string {
	_, port, err := net.SplitHostPort(a.String())
	if err != nil {
		t.Fatal(err)
	}
	return port
}
