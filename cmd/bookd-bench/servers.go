package main

import "context"

// Servers is a deployment of one target on loopback that the bench started
// itself, in a directory of its own, and stops when done.
type Servers interface {
	// Connect opens a Target on the running servers; clients is the number of
	// concurrent callers the run will have, for sizing connection pools.
	Connect(ctx context.Context, clients int) (Target, error)
	// PIDs are the server processes whose CPU time the run reports; the CPU
	// of their descendants (PostgreSQL backends) is counted with them.
	PIDs() []int
	// Stop stops every process started and removes nothing but them.
	Stop() error
}
