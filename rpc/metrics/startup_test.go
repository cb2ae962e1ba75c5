package metrics_test

import (
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/bookd/bookd/raftnode"
	"github.com/bookd/bookd/rpc/clustertest"
	"github.com/bookd/bookd/rpc/metrics"
)

// The start histogram has one observation for each phase a start has
// passed, none for the phases still ahead.
func TestStartDurationHistogram(t *testing.T) {
	raftAddr, err := clustertest.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	rpcAddr, err := clustertest.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	n, err := raftnode.Open(raftnode.Config{
		ID: "n1", DataDir: filepath.Join(t.TempDir(), "n1"), RaftAddr: raftAddr, RPCAddr: rpcAddr,
		InitialCluster:   []raftnode.Peer{{ID: "n1", RaftAddr: raftAddr}},
		HeartbeatTimeout: 100 * time.Millisecond, ElectionTimeout: 100 * time.Millisecond,
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	m := metrics.New()
	m.Watch(n)
	counts := func() map[string]uint64 {
		families, err := m.Registry().Gather()
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]uint64{}
		for _, f := range families {
			if f.GetName() != "bookd_start_duration_seconds" {
				continue
			}
			for _, s := range f.GetMetric() {
				got[s.GetLabel()[0].GetValue()] = s.GetHistogram().GetSampleCount()
			}
		}
		return got
	}
	if got := counts(); got["opened"] != 1 || got["first_served"] != 0 {
		t.Errorf("before any call: %v, want opened 1, first_served 0", got)
	}
	deadline := time.Now().Add(10 * time.Second)
	for n.Startup().StateComplete.IsZero() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	n.MarkServed()
	if got := counts(); got["opened"] != 1 || got["state_complete"] != 1 || got["first_served"] != 1 {
		t.Errorf("after the state was complete and a call served: %v, want 1 of each", got)
	}
}
