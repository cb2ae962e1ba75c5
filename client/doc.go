// Package client is the Go library applications embed to talk to a bookd
// cluster.
//
// It owns everything between a method call and a node's answer: choosing a
// node, following the leader, retrying when a node is unavailable, and making
// those retries safe. A Client is given the RPC addresses of some nodes. It
// learns the leader from the Bookd-Leader header every node sends and goes
// there directly; when a node is unreachable or answers UNAVAILABLE it moves
// to the next one, backs off and tries again. Every mutation carries an
// idempotency key (a fresh one when the caller leaves it empty), so a retried
// write is applied once. Other errors come back at once, as *connect.Error
// values; [Reason] extracts the machine-readable cause of a refusal.
// [Client.Watch] follows the change feed from any node and, when its node
// fails, resumes on another from the last change it delivered.
//
// The package does not own the wire format (package bookdv1) or the server
// (package rpc).
//
//	c, err := client.New([]string{"10.0.0.1:7070", "10.0.0.2:7070", "10.0.0.3:7070"})
//	if err != nil {
//		return err
//	}
//	defer c.Close()
//	hold, err := c.Hold(ctx, &bookdv1.HoldRequest{EventId: id, CustomerId: "alice", Seats: []string{"A1"}})
//	if client.Reason(err) == client.ReasonSeatTaken {
//		// offer another seat
//	}
//	booking, err := c.Confirm(ctx, &bookdv1.ConfirmRequest{HoldId: hold.GetId(), PaymentRef: ref})
package client
