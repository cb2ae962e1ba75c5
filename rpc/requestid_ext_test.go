package rpc_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/proto/bookd/v1/bookdv1connect"
	"github.com/bookd/bookd/rpc"
	"github.com/bookd/bookd/rpc/clustertest"
)

// lockedBuffer is a bytes.Buffer safe for the nodes' concurrent writes.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// lines returns the JSON log lines whose fields match want.
func (b *lockedBuffer) lines(want map[string]string) []map[string]any {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(b.buf.Bytes()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) != nil {
			continue
		}
		ok := true
		for k, v := range want {
			ok = ok && fmt.Sprint(m[k]) == v
		}
		if ok {
			out = append(out, m)
		}
	}
	return out
}

// A request id a client sends to a follower is echoed to it and appears in
// the leader's log line for the forwarded request; a stopping leader hands
// leadership over before it stops.
func TestRequestIDFollowsForwarding(t *testing.T) {
	logs := &lockedBuffer{}
	c := clustertest.Start(t, 3, clustertest.Options{Log: logs})
	leader := c.WaitReady()
	follower := c.Nodes[0]
	if follower == leader {
		follower = c.Nodes[1]
	}
	ctx := context.Background()
	cl := bookdv1connect.NewBookingServiceClient(http.DefaultClient, "http://"+follower.RPCAddr)
	cctx, info := connect.NewClientContext(ctx)
	info.RequestHeader().Set(rpc.RequestIDHeader, "trace-me-42")
	if _, err := cl.CreateEvent(cctx, &bookdv1.CreateEventRequest{Name: "Traced", Capacity: 5, IdempotencyKey: "traced"}); err != nil {
		t.Fatal(err)
	}
	if got := info.ResponseHeader().Get(rpc.RequestIDHeader); got != "trace-me-42" {
		t.Errorf("response request id %q", got)
	}
	onLeader := logs.lines(map[string]string{"node": leader.ID, "request_id": "trace-me-42", "procedure": "/bookd.v1.BookingService/CreateEvent", "forwarded_by": follower.ID})
	onFollower := logs.lines(map[string]string{"node": follower.ID, "request_id": "trace-me-42"})
	if len(onLeader) != 1 || len(onFollower) != 1 {
		t.Fatalf("log lines with the request id: leader %v, follower %v", onLeader, onFollower)
	}

	// A request without an id gets one, echoed back.
	cctx, info = connect.NewClientContext(ctx)
	_, err := cl.ListEvents(cctx, &bookdv1.ListEventsRequest{Read: staleRead()})
	if got := info.ResponseHeader().Get(rpc.RequestIDHeader); err != nil || len(got) != 16 {
		t.Fatalf("made-up request id: %v, %q", err, got)
	}

	c.Stop(leader)
	if got := logs.lines(map[string]string{"node": leader.ID, "msg": "stopping leader handed over leadership"}); len(got) != 1 {
		t.Fatalf("the stopped leader did not hand over: %v", logs.lines(map[string]string{"node": leader.ID, "level": "INFO"}))
	}
	c.Eventually(10*time.Second, func() error {
		if l := c.WaitReady(); l == leader {
			return fmt.Errorf("old leader")
		}
		return nil
	})
}
