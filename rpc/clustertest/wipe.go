package clustertest

import "os"

// Wipe stops a node, deletes its data as a lost disk would, and starts it
// again empty with --join through join, by default the running members
// (never bootstrapping).
func (c *Cluster) Wipe(nd *Node, join ...string) {
	c.t.Helper()
	c.Stop(nd)
	if err := os.RemoveAll(nd.DataDir); err != nil {
		c.t.Fatalf("wipe %s: %v", nd.ID, err)
	}
	if len(join) == 0 {
		join = c.Endpoints()
	}
	nd.peers, nd.join = nil, join
	c.startNode(nd)
}
