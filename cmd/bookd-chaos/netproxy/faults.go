package netproxy

import (
	"fmt"
	"sort"
	"time"
)

// Fault is what a directed link does to the bytes sent over it. The zero
// Fault is a healthy link.
type Fault struct {
	// Block cuts the link. A TCP connection needs both directions, so a
	// connection is cut when either of its two links is blocked: live ones
	// are reset, new ones are black-holed.
	Block bool
	// Drop is the probability, per chunk read from the sender, that the
	// connection is reset instead of the chunk being forwarded: a lossy link
	// as TCP's user sees it.
	Drop float64
	// Delay and Jitter hold every chunk back by Delay plus a random duration
	// in [0, Jitter) from when it was read. Chunks of one connection keep
	// their order; chunks of different connections may overtake each other.
	Delay, Jitter time.Duration
}

// String describes f briefly, for logs.
func (f Fault) String() string {
	if f == (Fault{}) {
		return "healthy"
	}
	s := ""
	if f.Block {
		s += "block "
	}
	if f.Drop > 0 {
		s += fmt.Sprintf("drop=%g ", f.Drop)
	}
	if f.Delay > 0 || f.Jitter > 0 {
		s += fmt.Sprintf("delay=%v+[0,%v) ", f.Delay, f.Jitter)
	}
	return s[:len(s)-1]
}

// SetFault sets the fault of the directed link from → to (the bytes node from
// sends to node to), replacing the link's previous fault. Starting a block
// resets the live connections across it; lifting one resets the connections
// it black-holed.
func (n *Network) SetFault(from, to string, f Fault) {
	n.mu.Lock()
	if f == (Fault{}) {
		delete(n.faults, link{from, to})
	} else {
		n.faults[link{from, to}] = f
	}
	resets, releases := n.enforceLocked()
	n.mu.Unlock()
	n.log.Info("set fault", "from", from, "to", to, "fault", f.String())
	n.act(resets, releases)
}

// Fault returns the current fault of the directed link from → to.
func (n *Network) Fault(from, to string) Fault {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.faults[link{from, to}]
}

// Partition blocks, in both directions, every link between two registered
// nodes that share no group, and unblocks the links between nodes that
// share one. Nodes named in no group form one more group together, so
// Partition([]string{"n1"}) cuts n1 off from the rest. A node in two groups
// is a bridge that talks to both sides. Drop and delay faults are kept.
func (n *Network) Partition(groups ...[]string) {
	n.mu.Lock()
	member := map[string]map[int]bool{}
	for name := range n.nodes {
		member[name] = map[int]bool{}
	}
	for i, g := range groups {
		for _, name := range g {
			if member[name] == nil {
				member[name] = map[int]bool{}
			}
			member[name][i] = true
		}
	}
	for _, gs := range member {
		if len(gs) == 0 {
			gs[len(groups)] = true
		}
	}
	for a, ga := range member {
		for b, gb := range member {
			if a == b {
				continue
			}
			f := n.faults[link{a, b}]
			f.Block = !shareGroup(ga, gb)
			if f == (Fault{}) {
				delete(n.faults, link{a, b})
			} else {
				n.faults[link{a, b}] = f
			}
		}
	}
	resets, releases := n.enforceLocked()
	n.mu.Unlock()
	n.log.Info("partition", "groups", describeGroups(groups))
	n.act(resets, releases)
}

// Heal clears every fault on every link.
func (n *Network) Heal() {
	n.mu.Lock()
	clear(n.faults)
	resets, releases := n.enforceLocked()
	n.mu.Unlock()
	n.log.Info("heal")
	n.act(resets, releases)
}

func shareGroup(a, b map[int]bool) bool {
	for g := range a {
		if b[g] {
			return true
		}
	}
	return false
}

func describeGroups(groups [][]string) string {
	s := ""
	for i, g := range groups {
		if i > 0 {
			s += " | "
		}
		sorted := append([]string(nil), g...)
		sort.Strings(sorted)
		s += fmt.Sprint(sorted)
	}
	return s
}

// cutLocked reports whether a connection from node from to node to is cut:
// either of its links is blocked. Connections from no node are never cut.
func (n *Network) cutLocked(from, to string) bool {
	if from == "" {
		return false
	}
	return n.faults[link{from, to}].Block || n.faults[link{to, from}].Block
}

// enforceLocked lists the live connections a new fault set cuts and the
// black-holed ones it no longer cuts.
func (n *Network) enforceLocked() (resets []*pipe, releases []*hole) {
	for p := range n.pipes {
		if n.cutLocked(p.from, p.to) {
			resets = append(resets, p)
		}
	}
	for h := range n.holes {
		if !n.cutLocked(h.from, h.to) {
			releases = append(releases, h)
		}
	}
	return resets, releases
}

// act applies enforceLocked's verdict; it must run without n.mu held.
func (n *Network) act(resets []*pipe, releases []*hole) {
	for _, p := range resets {
		p.reset(resetBlock)
	}
	for _, h := range releases {
		h.release()
	}
}

// verdict is what happens to one chunk read from a sender.
type verdict struct {
	reset resetKind // non-zero: reset the connection instead
	delay time.Duration
}

// judge decides the fate of a chunk sent over link l.
func (n *Network) judge(l link) verdict {
	if l.from == "" || l.to == "" {
		return verdict{}
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	// A connection from a node has both ends named; the link back carries a
	// named sender too. Either link blocked means the connection is cut.
	if n.faults[l].Block || n.faults[link{l.to, l.from}].Block {
		return verdict{reset: resetBlock}
	}
	f := n.faults[l]
	if f.Drop > 0 && n.rng.Float64() < f.Drop {
		return verdict{reset: resetDrop}
	}
	d := f.Delay
	if f.Jitter > 0 {
		d += time.Duration(n.rng.Int64N(int64(f.Jitter)))
	}
	return verdict{delay: d}
}
