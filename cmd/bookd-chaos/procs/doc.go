// Package procs owns the cluster of real `bookd server` processes that
// bookd's chaos suite runs against: building the binary, giving every node
// a loopback IP and ports of its own behind the fault-injecting proxies of
// package netproxy, starting, killing (SIGKILL), pausing (SIGSTOP), resuming
// and restarting processes, tearing the last write of a killed node's Pebble
// WAL, replacing a member through the cluster API, and asking the nodes who
// leads.
//
// Node i of a cluster lives on 127.R.S.(10+i), with R and S random per
// cluster so that concurrent runs do not meet. Raft and RPC listen on that
// IP; proxies on the same IP forward to them, and the nodes advertise the
// proxies, so every byte between nodes passes the network's faults, while
// clients that dial a node's RPCAddr directly are never faulted. With
// Options.Direct there are no proxies (the load generator uses that). A node's
// outgoing connections leave from its IP, which is how the proxies know the
// caller.
//
// Every process writes its stdout and stderr to <Dir>/<id>.log, appended
// across restarts. Processes run in process groups of their own, get
// SIGKILL if the test process dies (Linux's parent-death signal), and are
// all stopped by Stop.
package procs
