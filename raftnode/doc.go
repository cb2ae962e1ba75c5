// Package raftnode owns one member of bookd's Raft group: the raft-boltdb log
// and stable store, the file snapshot store, the TCP transport, bootstrap
// from a static member list, proposals stamped with the leader's clock,
// linearizable read barriers, membership changes and the leader's hold
// sweeper. It knows nothing of RPC: the rpc package forwards requests that
// reach a follower.
package raftnode
