package netproxy_test

import (
	"bytes"
	"io"
	"math/rand/v2"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/bookd/bookd/cmd/bookd-chaos/netproxy"
)

func TestPartitionBlocksBothWaysAndHeals(t *testing.T) {
	t.Parallel()
	tn := newTestNet(t, "a", "b", "c")
	live := tn.dial("a", "b")
	if err := echo(live, "before", 10*time.Second); err != nil {
		t.Fatalf("a → b before the partition: %v", err)
	}

	tn.net.Partition([]string{"a"}, []string{"b", "c"})
	waitReset(t, live, "live a → b connection when the partition starts")
	holeAB := tn.mustBeCut("a", "b")
	holeBA := tn.mustBeCut("b", "a")
	tn.mustBeCut("c", "a")
	tn.mustEcho("b", "c")
	tn.mustEcho("c", "b")
	if f := tn.net.Fault("a", "b"); !f.Block {
		t.Errorf("Fault(a, b) = %v during the partition, want a block", f)
	}
	st := tn.net.Stats()
	if st.ResetsBlock < 1 || st.Blackholed < 3 || st.BytesDiscarded == 0 {
		t.Errorf("Stats = %+v, want ≥1 block reset, ≥3 black holes, discarded bytes", st)
	}

	tn.net.Heal()
	// Black-holed connections swallowed bytes: they must die, never resume.
	waitReset(t, holeAB, "black-holed a → b connection when the partition heals")
	waitReset(t, holeBA, "black-holed b → a connection when the partition heals")
	tn.mustEcho("a", "b")
	tn.mustEcho("b", "a")
	tn.mustEcho("a", "c")
}

func TestOneWayBlockCutsConnectionsBothWays(t *testing.T) {
	t.Parallel()
	tn := newTestNet(t, "a", "b")
	tn.net.SetFault("a", "b", netproxy.Fault{Block: true})
	tn.mustBeCut("a", "b")
	tn.mustBeCut("b", "a") // b's requests arrive, but a's answers cannot
	tn.net.SetFault("a", "b", netproxy.Fault{})
	tn.mustEcho("a", "b")
}

func TestBridgeNodeReachesBothSides(t *testing.T) {
	t.Parallel()
	tn := newTestNet(t, "a", "b", "c")
	tn.net.Partition([]string{"a", "b"}, []string{"b", "c"})
	for _, ok := range [][2]string{{"a", "b"}, {"b", "a"}, {"b", "c"}, {"c", "b"}} {
		tn.mustEcho(ok[0], ok[1])
	}
	tn.mustBeCut("a", "c")
	tn.mustBeCut("c", "a")
}

func TestUnnamedNodesFormOneGroup(t *testing.T) {
	t.Parallel()
	tn := newTestNet(t, "a", "b", "c")
	tn.net.Partition([]string{"a"})
	tn.mustEcho("b", "c")
	tn.mustBeCut("b", "a")
	tn.mustBeCut("a", "c")
}

func TestDelayHoldsBytesBack(t *testing.T) {
	t.Parallel()
	tn := newTestNet(t, "a", "b")
	const there, back = 150 * time.Millisecond, 100 * time.Millisecond
	tn.net.SetFault("a", "b", netproxy.Fault{Delay: there})
	tn.net.SetFault("b", "a", netproxy.Fault{Delay: back, Jitter: 50 * time.Millisecond})
	for _, dir := range [][2]string{{"a", "b"}, {"b", "a"}} {
		c := tn.dial(dir[0], dir[1])
		start := time.Now()
		if err := echo(c, "slow", 10*time.Second); err != nil {
			t.Fatalf("%s → %s: %v", dir[0], dir[1], err)
		}
		if took := time.Since(start); took < there+back {
			t.Errorf("%s → %s round trip took %v, want ≥ %v", dir[0], dir[1], took, there+back)
		}
	}
	if st := tn.net.Stats(); st.BytesDelayed < 4*int64(len("slow")) {
		t.Errorf("Stats.BytesDelayed = %d, want ≥ %d", st.BytesDelayed, 4*len("slow"))
	}
}

func TestDropResetsConnections(t *testing.T) {
	tn := newTestNet(t, "a", "b")
	tn.net.SetFault("b", "a", netproxy.Fault{Drop: 1})
	c := tn.dial("a", "b")
	io.WriteString(c, "lost on the way back")
	waitReset(t, c, "a → b connection whose answer is dropped")
	if st := tn.net.Stats(); st.ResetsDrop != 1 {
		t.Errorf("Stats.ResetsDrop = %d, want 1", st.ResetsDrop)
	}
	tn.net.SetFault("b", "a", netproxy.Fault{})
	tn.mustEcho("a", "b")
}

func TestCallersThatAreNoNodePassUnfaulted(t *testing.T) {
	tn := newTestNet(t, "a", "b")
	tn.net.Partition([]string{"a"}, []string{"b"})
	tn.net.SetFault("a", "b", netproxy.Fault{Block: true, Drop: 1, Delay: time.Hour})
	tn.mustEcho("", "a")
	tn.mustEcho("", "b")
	if st := tn.net.Stats(); st.Passthrough != 2 {
		t.Errorf("Stats.Passthrough = %d, want 2", st.Passthrough)
	}
	// A node removed from the network is no node any more.
	tn.net.RemoveNode("a")
	tn.mustEcho("a", "b")
}

func TestStreamsSurviveDelayAndJitterIntact(t *testing.T) {
	t.Parallel()
	tn := newTestNet(t, "a", "b")
	jittery := netproxy.Fault{Delay: time.Millisecond, Jitter: 3 * time.Millisecond}
	tn.net.SetFault("a", "b", jittery)
	tn.net.SetFault("b", "a", jittery)
	var wg sync.WaitGroup
	for i := range 4 {
		payload := make([]byte, 2<<20)
		rng := rand.New(rand.NewPCG(uint64(i), 7))
		for j := range payload {
			payload[j] = byte(rng.Uint32())
		}
		c := tn.dial("a", "b")
		c.SetDeadline(time.Now().Add(time.Minute))
		wg.Add(2)
		go func() {
			defer wg.Done()
			// Write in odd-sized pieces so chunks split everywhere.
			for rest := payload; len(rest) > 0; {
				k := min(len(rest), 1+rng.IntN(70_000))
				if _, err := c.Write(rest[:k]); err != nil {
					t.Errorf("conn %d: write: %v", i, err)
					return
				}
				rest = rest[k:]
			}
		}()
		go func() {
			defer wg.Done()
			got := make([]byte, len(payload))
			if _, err := io.ReadFull(c, got); err != nil {
				t.Errorf("conn %d: read: %v", i, err)
				return
			}
			if !bytes.Equal(got, payload) {
				t.Errorf("conn %d: echoed stream differs from the %d bytes sent", i, len(payload))
			}
		}()
	}
	wg.Wait()
}

func TestUnlistenFreesTheAddress(t *testing.T) {
	tn := newTestNet(t, "a", "b")
	c := tn.dial("a", "b")
	if err := echo(c, "x", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	addr := tn.proxies["b"]
	if err := tn.net.Unlisten(addr); err != nil {
		t.Fatal(err)
	}
	waitReset(t, c, "connection through a proxy that stopped")
	// Another node takes over b's slot: same IP, same proxy address.
	tn.net.AddNode("b2", tn.ips["b"])
	if _, err := tn.net.Listen("b2", addr, startEcho(t, tn.ips["b"])); err != nil {
		t.Fatal(err)
	}
	tn.net.Partition([]string{"a"}, []string{"b2"})
	tn.mustBeCut("a", "b")
	tn.net.Heal()
	tn.mustEcho("a", "b")
}

func TestCloseEndsEveryGoroutine(t *testing.T) {
	before := runtime.NumGoroutine()
	tn := newTestNet(t, "a", "b", "c")
	tn.net.SetFault("a", "b", netproxy.Fault{Delay: time.Hour})
	slow := tn.dial("a", "b")
	io.WriteString(slow, "held back for an hour")
	tn.net.Partition([]string{"a", "b"}, []string{"c"})
	tn.mustBeCut("c", "a")
	tn.mustEcho("", "c")
	idle := tn.dial("a", "b")

	if err := tn.net.Close(); err != nil {
		t.Fatal(err)
	}
	waitReset(t, slow, "delayed connection at Close")
	waitReset(t, idle, "idle connection at Close")
	if _, err := tn.net.Listen("a", tn.ips["a"]+":0", "127.0.0.1:1"); err != netproxy.ErrClosed {
		t.Errorf("Listen after Close: %v, want ErrClosed", err)
	}
	if _, err := net.Dial("tcp", tn.proxies["a"]); err == nil {
		t.Errorf("proxy still accepts after Close")
	}
	// The echo servers (started by the helper) still run; their per-
	// connection goroutines end once the proxy's side is closed.
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before+3 { // 3 echo accept loops
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines left, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}
