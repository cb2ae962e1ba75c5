package procs

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
)

// slot is a node's place in the cluster: its loopback IP and ports. A node
// that replaces another takes over its slot.
type slot struct {
	index               int
	ip                  string
	raftBind, rpcBind   string // the server listens here
	raftProxy, rpcProxy string // the proxies listen here; the server advertises them

	nodes []*Node // every node ever placed here; under Cluster.mu
}

// vacantLocked fails with ErrSlotInUse unless every node ever placed in s
// is retired (never to start again) and its last process reaped, so that
// nothing listens on s's ports and nothing will. It is checked wherever s
// becomes, or is handed out as, the spare. Cluster.mu is held.
func (s *slot) vacantLocked() error {
	for _, n := range s.nodes {
		if why := n.occupies(); why != "" {
			return fmt.Errorf("%w: %s (raft %s, rpc %s) is still %s's: %s",
				ErrSlotInUse, s.ip, s.raftBind, s.rpcBind, n.ID, why)
		}
	}
	return nil
}

// pickSubnet chooses the 127.R.S.0/24 a cluster lives in; R is never 0, so
// 127.0.0.1 (test clients) is never a node.
func pickSubnet() string {
	return fmt.Sprintf("127.%d.%d.", 1+rand.IntN(254), rand.IntN(256))
}

// newSlot picks the IP and four free ports of slot i in subnet.
func newSlot(subnet string, i int) (*slot, error) {
	s := &slot{index: i, ip: subnet + strconv.Itoa(10+i)}
	used := map[string]bool{}
	for _, p := range []*string{&s.raftBind, &s.rpcBind, &s.raftProxy, &s.rpcProxy} {
		addr, err := freeAddr(s.ip, used)
		if err != nil {
			return nil, err
		}
		*p, used[addr] = addr, true
	}
	return s, nil
}

// freeAddr returns ip:port with a port that was free a moment ago, chosen
// below Linux's ephemeral range (32768 and up) so that outgoing connections
// cannot take it meanwhile, nor while a killed node waits to restart.
func freeAddr(ip string, avoid map[string]bool) (string, error) {
	for range 200 {
		addr := net.JoinHostPort(ip, strconv.Itoa(20000+rand.IntN(12000)))
		if avoid[addr] {
			continue
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			continue
		}
		ln.Close()
		return addr, nil
	}
	return "", errors.New("procs: no free port in 20000-31999 on " + ip)
}
