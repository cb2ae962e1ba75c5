package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/bookd/bookd/rpc/clustertest"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/bookd/bookd/client"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
)

// These tests run the real binary: three `bookd server` processes on
// loopback, started with the documented flags, spoken to with plain HTTP
// JSON (as curl would) and with the Go client, and killed with SIGKILL.

type proc struct {
	id, raftAddr, rpcAddr, dir string
	cmd                        *exec.Cmd
	log                        *bytes.Buffer
}

type procCluster struct {
	t     *testing.T
	bin   string
	procs []*proc
	args  []string // more flags for every server; {id} is replaced by the node's id
}

func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "bookd")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func freePort(t *testing.T) string {
	addr, err := clustertest.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

func startProcCluster(t *testing.T, n int, args ...string) *procCluster {
	c := &procCluster{t: t, bin: buildBinary(t), args: args}
	var initial []string
	for i := range n {
		p := &proc{id: fmt.Sprintf("n%d", i+1), raftAddr: freePort(t), rpcAddr: freePort(t), dir: filepath.Join(t.TempDir(), "data")}
		initial = append(initial, p.id+"="+p.raftAddr)
		c.procs = append(c.procs, p)
	}
	for _, p := range c.procs {
		c.start(p, strings.Join(initial, ","))
	}
	t.Cleanup(func() {
		for _, p := range c.procs {
			c.kill(p)
		}
	})
	return c
}

func (c *procCluster) start(p *proc, initial string) {
	p.log = new(bytes.Buffer)
	p.cmd = exec.Command(c.bin, "server", "--id", p.id, "--data-dir", p.dir,
		"--raft-addr", p.raftAddr, "--rpc-addr", p.rpcAddr, "--initial-cluster", initial,
		"--heartbeat-timeout", "500ms", "--election-timeout", "500ms", "--log-level", "warn")
	for _, a := range c.args {
		p.cmd.Args = append(p.cmd.Args, strings.ReplaceAll(a, "{id}", p.id))
	}
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		c.t.Fatalf("start %s: %v", p.id, err)
	}
}

func (c *procCluster) kill(p *proc) {
	if p.cmd == nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	p.cmd.Wait()
	p.cmd = nil
}

func (c *procCluster) endpoints() []string {
	var eps []string
	for _, p := range c.procs {
		eps = append(eps, p.rpcAddr)
	}
	return eps
}

// leader waits until every running node agrees on a leader and returns it.
func (c *procCluster) leader(ctx context.Context) *proc {
	c.t.Helper()
	for {
		var leaderID string
		agreed := true
		for _, p := range c.procs {
			if p.cmd == nil {
				continue
			}
			st, err := statusOf(ctx, p.rpcAddr)
			if err != nil || st.LeaderId == "" || st.LeaderRpcAddress == "" || (leaderID != "" && st.LeaderId != leaderID) {
				agreed = false
				break
			}
			leaderID = st.LeaderId
		}
		if agreed && leaderID != "" {
			for _, p := range c.procs {
				if p.id == leaderID && p.cmd != nil {
					return p
				}
			}
		}
		select {
		case <-ctx.Done():
			for _, p := range c.procs {
				c.t.Logf("%s log:\n%s", p.id, p.log)
			}
			c.t.Fatalf("no agreed leader: %v", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func statusOf(ctx context.Context, addr string) (*bookdv1.GetStatusResponse, error) {
	cl, err := client.New([]string{addr}, client.WithMaxAttempts(1))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	return cl.StatusOf(ctx, addr)
}

// postJSON calls a procedure with Connect's JSON encoding, as curl would.
func postJSON(t *testing.T, addr, procedure, body string) (int, map[string]any) {
	t.Helper()
	return postConnectJSON(t, http.DefaultClient, "http://"+addr+"/bookd.v1."+procedure, body)
}

// postConnectJSON posts body to url with hc and decodes the JSON answer.
func postConnectJSON(t *testing.T, hc *http.Client, url, body string) (int, map[string]any) {
	t.Helper()
	resp, err := hc.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("POST %s: %d %q is not JSON", url, resp.StatusCode, raw)
	}
	return resp.StatusCode, out
}

func TestProcessesServeJSONAndSurviveLeaderKill(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs three processes")
	}
	c := startProcCluster(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	c.leader(ctx)

	// curl-style Connect JSON through a follower-or-leader, any node.
	code, out := postJSON(t, c.procs[1].rpcAddr, "BookingService/CreateEvent",
		`{"name":"Gala","capacity":400,"seats":["A1","A2","A3","A4","A5","A6","A7","A8","A9","A10"],"startsAt":"2026-12-31T20:00:00Z"}`)
	if code != 200 {
		t.Fatalf("CreateEvent: %d %v", code, out)
	}
	ev := out["event"].(map[string]any)
	eventID := ev["id"].(string)
	if ev["startsAt"] != "2026-12-31T20:00:00Z" || ev["capacity"] != "400" {
		t.Fatalf("event = %v", ev)
	}

	// Bad input gets the documented codes.
	for _, tc := range []struct{ proc, body, code, mentions string }{
		{"BookingService/Hold", `{"eventId":"` + eventID + `","customerId":"c","quantity":0}`, "invalid_argument", "quantity"},
		{"BookingService/Hold", `{"eventId":"nope","customerId":"c","quantity":1}`, "invalid_argument", "event_id"},
		{"BookingService/Hold", `{"eventId":"ev_999999","customerId":"c","quantity":1}`, "not_found", "ev_999999"},
		{"BookingService/Hold", `{"eventId":"` + eventID + `","customerId":"c","quantity":1,"ttl":"999999s"}`, "invalid_argument", "ttl"},
		{"BookingService/Hold", `{"eventId":"` + eventID + `","customerId":"c","seats":["Z9"]}`, "invalid_argument", "Z9"},
		{"BookingService/Confirm", `{"holdId":"hd_999999"}`, "not_found", "hd_999999"},
		{"BookingService/Book", `{"eventId":"` + eventID + `","customerId":"c","quantity":51}`, "invalid_argument", "quantity"},
		{"BookingService/GetBooking", `{"bookingId":"bk_1","read":{"consistency":"CONSISTENCY_STALE","maxStaleness":"-1s"}}`, "invalid_argument", "max_staleness"},
		{"BookingService/ListEvents", `{"pageSize":5000}`, "invalid_argument", "page_size"},
		{"BookingService/CreateEvent", `{"name":"","capacity":1}`, "invalid_argument", "name"},
		{"BookingService/CreateEvent", `{"name":"x","capacity":1,"seats":["A1","A1"]}`, "invalid_argument", "seats[1]"},
	} {
		_, out := postJSON(t, c.procs[0].rpcAddr, tc.proc, tc.body)
		if out["code"] != tc.code || !strings.Contains(fmt.Sprint(out["message"]), tc.mentions) {
			t.Errorf("%s %s = %v, want code %s mentioning %q", tc.proc, tc.body, out, tc.code, tc.mentions)
		}
	}

	// A storm of Book calls through all nodes, with the leader SIGKILLed mid-way.
	cl, err := client.New(c.endpoints())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var mu sync.Mutex
	acked := map[string]*bookdv1.Booking{}
	stormCtx, stopStorm := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for w := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; stormCtx.Err() == nil; i++ {
				req := &bookdv1.BookRequest{EventId: eventID, CustomerId: fmt.Sprintf("c%d", w), IdempotencyKey: fmt.Sprintf("w%d-%d", w, i)}
				if w%2 == 0 {
					req.Seats = []string{fmt.Sprintf("A%d", 1+(w+i)%10)}
				} else {
					req.Quantity = 1
				}
				b, err := cl.Book(stormCtx, req)
				if err == nil {
					mu.Lock()
					acked[b.Id] = b
					mu.Unlock()
				} else if client.Reason(err) == "" && stormCtx.Err() == nil {
					t.Errorf("book: %v", err)
					return
				}
				time.Sleep(20 * time.Millisecond)
			}
		}()
	}
	waitAcked := func(n int) {
		for {
			mu.Lock()
			got := len(acked)
			mu.Unlock()
			if got >= n || ctx.Err() != nil {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitAcked(30)
	old := c.leader(ctx)
	c.kill(old)
	killedAt := time.Now()
	newLeader := c.leader(ctx)
	t.Logf("killed leader %s; %s leads %.1fs later", old.id, newLeader.id, time.Since(killedAt).Seconds())
	mu.Lock()
	before := len(acked)
	mu.Unlock()
	waitAcked(before + 30) // bookings go on under the new leader
	stopStorm()
	wg.Wait()

	// Writes resumed: a fresh booking commits on the new leader.
	if _, err := cl.Book(ctx, &bookdv1.BookRequest{EventId: eventID, CustomerId: "late", Quantity: 1}); err != nil && connect.CodeOf(err) != connect.CodeFailedPrecondition {
		t.Fatalf("write after failover: %v", err)
	}
	// The killed node restarts and catches up.
	c.start(old, "")
	checkProcLedger(ctx, t, c, eventID, acked)
}

// checkProcLedger: no seat sold twice, GA not oversold, every acknowledged
// booking on every node (read from that node's own state).
func checkProcLedger(ctx context.Context, t *testing.T, c *procCluster, eventID string, acked map[string]*bookdv1.Booking) {
	t.Helper()
	seat := map[string]string{}
	var ga int64
	for id, b := range acked {
		for _, s := range b.Seats {
			if other, ok := seat[s]; ok {
				t.Errorf("seat %s sold twice: %s and %s", s, other, id)
			}
			seat[s] = id
		}
		if len(b.Seats) == 0 {
			ga += b.Quantity
		}
	}
	if ga > 400 {
		t.Errorf("GA oversold: %d of 400", ga)
	}
	for _, p := range c.procs {
		cl, err := client.New([]string{p.rpcAddr})
		if err != nil {
			t.Fatal(err)
		}
		for id := range acked {
			for {
				_, err := cl.GetBooking(ctx, id, client.Stale(0))
				if err == nil {
					break
				}
				if connect.CodeOf(err) != connect.CodeNotFound || ctx.Err() != nil {
					t.Fatalf("%s: booking %s: %v\n%s", p.id, id, err, p.log)
				}
				time.Sleep(50 * time.Millisecond) // still catching up
			}
		}
		cl.Close()
	}
	t.Logf("%d bookings acknowledged (%d GA tickets, %d seats); all on every node", len(acked), ga, len(seat))
}
