package main

import (
	"encoding/json"
	"strings"
	"testing"

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
