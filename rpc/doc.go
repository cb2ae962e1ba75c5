// Package rpc owns bookd's Connect-RPC surface: the BookingService,
// ClusterService and QueueService handlers, request validation, the mapping
// of state machine and Raft errors to Connect codes with their standard
// error details (package errdetail), forwarding from followers to the leader,
// and the HTTP server that serves Connect, gRPC and gRPC-Web on one port
// (HTTP/1.1 and cleartext HTTP/2).
//
// Every node answers every request. Writes and linearizable reads that reach
// a follower are forwarded to the leader once (a forwarded request that finds
// no leader is answered UNAVAILABLE rather than forwarded again). Every
// response carries the Bookd-Leader header so clients can go straight there.
package rpc
