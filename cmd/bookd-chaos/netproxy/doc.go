// Package netproxy owns the fault-injecting network of bookd's chaos suite:
// TCP proxies in front of every node, which know each calling node by the
// source IP of its connection and apply per-link faults (partitions, lossy
// links turned into connection resets, delay and jitter) to the bytes
// flowing through them.
//
// Every node gets a loopback IP of its own. Its outgoing connections leave
// from that IP, and the other nodes dial it through a proxy that forwards to
// its real listener. A connection from node A to node B's proxy carries the
// bytes of two directed links: A→B (what A sends) and B→A (what B answers).
// Connections from an IP that is no registered node (test clients) pass
// without faults.
//
// A fault never corrupts a byte stream: bytes are either forwarded in order
// or the connection is reset. A blocked link behaves like a partition: live
// connections across it are reset when the block starts, and new ones are
// accepted but black-holed (nothing is forwarded, ever) until the block
// lifts or a timeout passes, when they are reset.
package netproxy
