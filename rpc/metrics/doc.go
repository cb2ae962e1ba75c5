// Package metrics exposes a bookd node to Prometheus: RPC latency by
// procedure and code (an interceptor covering unary and streaming calls),
// the node's Raft state and indexes, its clock offset from the other
// members' (bookd_clock_*: whether it refuses to lead), Raft's own timings (commit, FSM apply,
// log store writes with their fsync), Pebble's statistics, per event the
// tickets held and sold, and per work queue its depth, leases, dead letters,
// oldest message's age and what it delivered, retried, acked and
// dead-lettered (bookd_queue_*), read from the replicated state at scrape
// time.
// Handler serves them in the Prometheus text format; bookd serves it at
// /metrics on the admin listener (--debug-addr).
package metrics
