package raftnode_test

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/bookd/bookd/raftnode"
)

func TestParsePeers(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []raftnode.Peer
		wantErr string // substring of the error; "" for success
	}{
		{
			name: "sorted by id",
			in:   "n3=127.0.0.1:7003,n1=127.0.0.1:7001, n2=node2.example:7002",
			want: []raftnode.Peer{
				{ID: "n1", RaftAddr: "127.0.0.1:7001"},
				{ID: "n2", RaftAddr: "node2.example:7002"},
				{ID: "n3", RaftAddr: "127.0.0.1:7003"},
			},
		},
		{name: "one peer", in: "n1=127.0.0.1:7001", want: []raftnode.Peer{{ID: "n1", RaftAddr: "127.0.0.1:7001"}}},
		{name: "ipv6", in: "n1=[::1]:7001", want: []raftnode.Peer{{ID: "n1", RaftAddr: "[::1]:7001"}}},
		{name: "empty", in: "", want: nil},
		{name: "blank", in: "  ", want: nil},
		{name: "missing equals", in: "n1=127.0.0.1:7001,n2", wantErr: `entry "n2": want id=host:port`},
		{name: "missing id", in: "=127.0.0.1:7001", wantErr: "want id=host:port"},
		{name: "missing address", in: "n1=", wantErr: "want id=host:port"},
		{name: "trailing comma", in: "n1=127.0.0.1:7001,", wantErr: "want id=host:port"},
		{name: "duplicate id", in: "n1=127.0.0.1:7001,n1=127.0.0.1:7002", wantErr: "names n1 twice"},
		{name: "wildcard host", in: "n1=0.0.0.0:7001", wantErr: "not a wildcard"},
		{name: "ipv6 wildcard host", in: "n1=[::]:7001", wantErr: "not a wildcard"},
		{name: "no host", in: "n1=:7001", wantErr: "not a wildcard"},
		{name: "port 0", in: "n1=127.0.0.1:0", wantErr: "needs a fixed port"},
		{name: "no port", in: "n1=127.0.0.1", wantErr: "missing port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := raftnode.ParsePeers(tt.in)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("ParsePeers(%q) = %v, want an error containing %q", tt.in, got, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("ParsePeers(%q) error %q, want it to contain %q", tt.in, err, tt.wantErr)
				}
				if !strings.Contains(err.Error(), "--initial-cluster") {
					t.Errorf("ParsePeers(%q) error %q does not name the flag --initial-cluster", tt.in, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParsePeers(%q): %v", tt.in, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParsePeers(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

// A peer address with a port no one can dial is written into the permanent
// Raft configuration at bootstrap, so ParsePeers should refuse it as it
// refuses port 0.
func TestParsePeersRefusesInvalidPort(t *testing.T) {
	for _, in := range []string{"n1=127.0.0.1:99999", "n1=127.0.0.1:-1", "n1=127.0.0.1:notaport"} {
		if got, err := raftnode.ParsePeers(in); err == nil {
			t.Errorf("ParsePeers(%q) = %v, want an error about the port", in, got)
		}
	}
}

func TestOpenValidatesConfig(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(c *raftnode.Config)
		wantErr string
	}{
		{"missing id", func(c *raftnode.Config) { c.ID = "" }, "--id is required"},
		{"id too long to register", func(c *raftnode.Config) { c.ID = strings.Repeat("n", 129) }, "--id: at most 128 bytes"},
		{"id with a control character", func(c *raftnode.Config) { c.ID = "n\t1" }, "--id: control characters"},
		{"missing data dir", func(c *raftnode.Config) { c.DataDir = "" }, "--data-dir is required"},
		{"raft addr wildcard", func(c *raftnode.Config) { c.RaftAddr = "0.0.0.0:7001" }, "--raft-addr"},
		{"raft addr no host", func(c *raftnode.Config) { c.RaftAddr = ":7001" }, "--raft-addr"},
		{"raft addr ipv6 wildcard", func(c *raftnode.Config) { c.RaftAddr = "[::]:7001" }, "--raft-addr"},
		{"raft addr port 0", func(c *raftnode.Config) { c.RaftAddr = "127.0.0.1:0" }, "--raft-addr"},
		{"raft addr missing", func(c *raftnode.Config) { c.RaftAddr = "" }, "--raft-addr"},
		{"rpc addr wildcard", func(c *raftnode.Config) { c.RPCAddr = "0.0.0.0:8080" }, "--rpc-addr"},
		{"rpc addr no host", func(c *raftnode.Config) { c.RPCAddr = ":8080" }, "--rpc-addr"},
		{"rpc addr missing", func(c *raftnode.Config) { c.RPCAddr = "" }, "--rpc-addr"},
		{
			"initial cluster without this node",
			func(c *raftnode.Config) {
				c.InitialCluster = []raftnode.Peer{{ID: "n2", RaftAddr: "127.0.0.1:7002"}, {ID: "n3", RaftAddr: "127.0.0.1:7003"}}
			},
			"--initial-cluster does not name this node (n1)",
		},
		{
			"initial cluster gives this node another address",
			func(c *raftnode.Config) {
				c.InitialCluster = []raftnode.Peer{{ID: "n1", RaftAddr: "127.0.0.1:1"}, {ID: "n2", RaftAddr: "127.0.0.1:7002"}}
			},
			"--initial-cluster gives n1 address 127.0.0.1:1 but --raft-addr is",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := nodeConfig(t, "n1")
			tt.edit(&cfg)
			n, err := raftnode.Open(cfg)
			if err == nil {
				n.Close()
				t.Fatalf("Open succeeded, want an error containing %q", tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Open error %q, want it to contain %q", err, tt.wantErr)
			}
			// Validation comes before anything touches the disk.
			if cfg.DataDir != "" {
				if _, err := os.Stat(cfg.DataDir); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("Open of an invalid config created %s (stat: %v)", cfg.DataDir, err)
				}
			}
		})
	}
}

// A failed Open releases what it opened: a second Open of the same data
// directory must not block on the log store's file lock or fail on
// Pebble's.
func TestOpenFailureReleasesStores(t *testing.T) {
	cfg := nodeConfig(t, "n1")
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	cfg.RaftAddr = busy.Addr().String()
	cfg.InitialCluster = []raftnode.Peer{{ID: cfg.ID, RaftAddr: cfg.RaftAddr}}
	if n, err := raftnode.Open(cfg); err == nil {
		n.Close()
		t.Fatalf("Open on a busy port %s succeeded", cfg.RaftAddr)
	} else if !strings.Contains(err.Error(), cfg.RaftAddr) {
		t.Errorf("Open on a busy port: error %q does not name the address %s", err, cfg.RaftAddr)
	}
	if _, err := os.Stat(filepath.Join(cfg.DataDir, "raft.db")); err != nil {
		t.Fatalf("the failed Open should have got as far as the log store: %v", err)
	}

	cfg.RaftAddr = freeAddr(t)
	cfg.InitialCluster = []raftnode.Peer{{ID: cfg.ID, RaftAddr: cfg.RaftAddr}}
	type opened struct {
		n   *raftnode.Node
		err error
	}
	done := make(chan opened, 1)
	go func() {
		n, err := raftnode.Open(cfg)
		done <- opened{n, err}
	}()
	select {
	case o := <-done:
		if o.err != nil {
			t.Fatalf("second Open of %s: %v", cfg.DataDir, o.err)
		}
		t.Cleanup(func() { o.n.Close() })
		waitReady(t, []*raftnode.Node{o.n})
	case <-time.After(waitLong):
		t.Fatalf("second Open of %s still blocked after %s: the failed Open kept a store locked", cfg.DataDir, waitLong)
	}
}
