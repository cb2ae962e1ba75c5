package clustertest

import "os"

// Wipe stops a node, deletes its data as a lost disk would, and starts it
// again empty with --join through the running members (never bootstrapping).
func (c *Cluster) Wipe(nd *Node) {
	c.t.Helper()
	c.Stop(nd)
	if err := os.RemoveAll(nd.DataDir); err != nil {
		c.t.Fatalf("wipe %s: %v", nd.ID, err)
	}
	nd.peers, nd.join = nil, c.Endpoints()
	c.startNode(nd)
}
