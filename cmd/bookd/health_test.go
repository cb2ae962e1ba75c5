package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/bookd/bookd/client"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/rpc/clustertest"
)

// `cluster status` reports every member with its lag and exits 0 on a
// healthy cluster, and names the missing member and exits 6 once a node is
// down.
func TestClusterStatusHealth(t *testing.T) {
	c := clustertest.Start(t, 3, clustertest.Options{})
	c.WaitConverged()
	t.Setenv("BOOKD_ENDPOINTS", strings.Join(c.Endpoints(), ","))
	var h clusterHealth
	runJSON(t, &h, "cluster", "status")
	if !h.Healthy || h.LeaderID == "" || len(h.Members) != 3 {
		t.Fatalf("healthy cluster reported as %+v", h)
	}
	for _, m := range h.Members {
		if !m.Healthy || m.AppliedIndex == 0 || m.State == "" {
			t.Errorf("member %+v", *m)
		}
	}
	// The JSON is in the API's style: lowerCamelCase, 64-bit numbers as
	// strings.
	var raw struct {
		LeaderID    any `json:"leaderId"`
		CommitIndex any `json:"commitIndex"`
		Members     []map[string]any
	}
	out, code := run(t, "cluster", "status", "-o", "json")
	if err := json.Unmarshal([]byte(out), &raw); err != nil || code != 0 {
		t.Fatalf("cluster status -o json: exit %d, %v: %s", code, err, out)
	}
	if _, ok := raw.CommitIndex.(string); !ok || raw.LeaderID != h.LeaderID || len(raw.Members) != 3 {
		t.Errorf("cluster status -o json: want leaderId and commitIndex as a string: %s", out)
	}
	for _, m := range raw.Members {
		if _, ok := m["appliedIndex"].(string); !ok || m["rpcAddress"] == nil || m["applied_index"] != nil {
			t.Errorf("cluster status -o json: member %v, want camelCase with appliedIndex a string", m)
		}
	}

	down := c.Nodes[2]
	if down.ID == h.LeaderID {
		down = c.Nodes[1]
	}
	c.Stop(down)
	out, code = run(t, "cluster", "status")
	if code != 6 || !strings.Contains(out, down.ID+": ") || !strings.Contains(out, "unhealthy") {
		t.Fatalf("status with %s down: exit %d: %s", down.ID, code, out)
	}
}

// A work queue whose oldest message waits longer than --max-queue-age is
// listed; it does not make the cluster unhealthy.
func TestClusterStatusListsQueuesBehind(t *testing.T) {
	c := clustertest.Start(t, 3, clustertest.Options{})
	c.WaitConverged()
	t.Setenv("BOOKD_ENDPOINTS", strings.Join(c.Endpoints(), ","))
	cl, err := client.New(c.Endpoints())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx := context.Background()
	if _, err := cl.Queues().CreateQueue(ctx, &bookdv1.CreateQueueRequest{Queue: &bookdv1.Queue{
		Name: "receipts", Kinds: []string{"booking_confirmed"}}}); err != nil {
		t.Fatal(err)
	}
	ev, err := cl.CreateEvent(ctx, &bookdv1.CreateEventRequest{Name: "tour", Capacity: 5})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Book(ctx, &bookdv1.BookRequest{EventId: ev.GetId(), CustomerId: "ann", Quantity: 1}); err != nil {
		t.Fatal(err)
	}
	out, code := run(t, "cluster", "status")
	if code != 0 || strings.Contains(out, "receipts") {
		t.Errorf("a fresh message is not behind: exit %d: %s", code, out)
	}
	time.Sleep(50 * time.Millisecond)
	out, code = run(t, "cluster", "status", "--max-queue-age", "10ms")
	if code != 0 || !strings.Contains(out, "work queues behind") || !strings.Contains(out, "receipts") {
		t.Errorf("status --max-queue-age 10ms: exit %d, want 0 and receipts listed: %s", code, out)
	}
	var h clusterHealth
	runJSON(t, &h, "cluster", "status", "--max-queue-age", "10ms")
	if len(h.QueuesBehind) != 1 || h.QueuesBehind[0].Name != "receipts" || h.QueuesBehind[0].Depth != 1 || h.QueuesBehind[0].OldestAgeMs < 10 {
		t.Errorf("queuesBehind %+v, want receipts with 1 message at least 10 ms old", h.QueuesBehind)
	}
}
