package main

import (
	"context"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"

	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/proto/bookd/v1/bookdv1connect"
)

// The surge before an on-sale is reads: 5,000 linearizable reads on an
// idle cluster of three processes leave `cluster status` healthy (exit 0)
// throughout, and the next write is accepted at once, not shed as if the
// reads were a backlog of writes.
func TestReadSurgeLeavesWritesAndHealth(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs three processes")
	}
	c := startProcCluster(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c.leader(ctx)
	code, out := postJSON(t, c.procs[0].rpcAddr, "BookingService/CreateEvent", `{"name":"On sale soon","capacity":10}`)
	if code != 200 {
		t.Fatalf("CreateEvent: %d %v", code, out)
	}
	eventID := out["event"].(map[string]any)["id"].(string)

	statusOK := func() ([]byte, error) {
		return exec.CommandContext(ctx, c.bin, "cluster", "status", "--endpoints", strings.Join(c.endpoints(), ",")).CombinedOutput()
	}
	for { // every member registered, caught up: healthy before the surge
		out, err := statusOK()
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the cluster never became healthy: %v\n%s", err, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	status := func() {
		t.Helper()
		if out, err := statusOK(); err != nil {
			t.Fatalf("cluster status during the read surge: %v\n%s", err, out)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			node := bookdv1connect.NewBookingServiceClient(http.DefaultClient, "http://"+c.procs[w%3].rpcAddr)
			for range 5000 / 8 {
				if _, err := node.GetEvent(ctx, &bookdv1.GetEventRequest{EventId: eventID}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for waiting := true; waiting; {
		status()
		select {
		case <-done:
			waiting = false
		case err := <-errs:
			t.Fatalf("read: %v", err)
		}
	}
	status()
	_, err := bookdv1connect.NewBookingServiceClient(http.DefaultClient, "http://"+c.procs[0].rpcAddr).Book(ctx,
		&bookdv1.BookRequest{EventId: eventID, CustomerId: "after-the-reads", Quantity: 1})
	if err != nil {
		t.Fatalf("the write after 5,000 reads: %v (code %v), want it accepted", err, connect.CodeOf(err))
	}
}
