package fsm_test

import (
	"testing"

	"github.com/hashicorp/raft"
)

// A store reports (fsm.StartPoint) its applied index, and once it has
// applied a configuration entry the latest one, also after a reopen.
func TestStartPointRecordsTheConfiguration(t *testing.T) {
	dir := t.TempDir()
	f := openAt(t, dir)
	log := crashLog(t)
	f.ApplyBatch(log[:3])
	if p, err := f.StartPoint(); err != nil || p.Index != log[2].Index || p.ConfigurationIndex != 0 {
		t.Fatalf("StartPoint of a store without a configuration entry = %+v, %v; want index %d and no configuration", p, err, log[2].Index)
	}
	conf := func(ids ...string) raft.Configuration {
		var c raft.Configuration
		for _, id := range ids {
			c.Servers = append(c.Servers, raft.Server{Suffrage: raft.Voter, ID: raft.ServerID(id), Address: raft.ServerAddress(id + ":7000")})
		}
		return c
	}
	next := log[2].Index + 1
	f.ApplyBatch([]*raft.Log{
		{Index: next, Term: 1, Type: raft.LogConfiguration, Data: raft.EncodeConfiguration(conf("a", "b"))},
		{Index: next + 1, Term: 2, Type: raft.LogConfiguration, Data: raft.EncodeConfiguration(conf("a", "b", "c"))},
		{Index: next + 2, Term: 2, Type: raft.LogBarrier},
	})
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	g := openAt(t, dir)
	defer g.Close()
	p, err := g.StartPoint()
	if err != nil {
		t.Fatalf("StartPoint after a configuration entry: %v", err)
	}
	if p.Index != next+2 || p.ConfigurationIndex != next+1 || len(p.Configuration.Servers) != 3 || p.Configuration.Servers[2].ID != "c" {
		t.Errorf("StartPoint = %+v, want index %d, configuration of a, b, c at %d", p, next+2, next+1)
	}
}
