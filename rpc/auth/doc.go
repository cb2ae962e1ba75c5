// Package auth authenticates and authorizes calls to a bookd node.
//
// A caller proves who it is with a bearer token (Authorization: Bearer T)
// from a tokens file, or, for another node, with a client certificate signed
// by the cluster's CA (mutual TLS). Each token has a role: admin (cluster
// and event management, and everything below), booker (holds and bookings,
// and everything below) and reader (queries and the change feed). Which
// role a procedure needs is decided in one place, Required.
//
// The check runs as net/http middleware in front of every Connect, gRPC and
// gRPC-Web handler, so unary and streaming calls are checked alike, before a
// handler or stream starts; refusals are written in the caller's protocol
// as UNAUTHENTICATED or PERMISSION_DENIED. Token values never reach a log:
// only a token's name does.
//
// The tokens file and the certificates are read again when their files
// change, so both can be rotated without a restart.
package auth
