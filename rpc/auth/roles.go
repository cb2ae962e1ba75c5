package auth

import (
	"fmt"
	"strings"
)

// Role is what a caller may do; each role may do everything the roles below
// it may.
type Role int

const (
	// RoleNone is no role: only public procedures (gRPC health checks).
	RoleNone Role = iota
	// RoleReader may query (Get*, List*, Watch*) and follow the change feed.
	RoleReader
	// RoleBooker may also hold, confirm, release, book and cancel.
	RoleBooker
	// RoleAdmin may also manage events and the cluster.
	RoleAdmin
)

func (r Role) String() string {
	switch r {
	case RoleReader:
		return "reader"
	case RoleBooker:
		return "booker"
	case RoleAdmin:
		return "admin"
	}
	return "none"
}

// ParseRole reads "admin", "booker" or "reader".
func ParseRole(s string) (Role, error) {
	for _, r := range []Role{RoleReader, RoleBooker, RoleAdmin} {
		if r.String() == s {
			return r, nil
		}
	}
	return RoleNone, fmt.Errorf("unknown role %q (want admin, booker or reader)", s)
}

const (
	bookingService = "/bookd.v1.BookingService/"
	clusterService = "/bookd.v1.ClusterService/"
	queueService   = "/bookd.v1.QueueService/"
)

// Required is the role a procedure ("/package.Service/Method") needs.
// Procedures of the booking service are classed by name, so methods added
// later get a role without an edit here: queries (Get, List, Watch, Search)
// need reader, methods about events, products, quotas and vouchers
// (CreateEvent, CloseEvent, CreateProduct, CreateVoucher, ...) admin,
// and every other method booker. In the cluster service GetStatus needs
// reader and the rest admin. In the queue service, reads (Get, List, Peek)
// need reader, what a worker does (Receive, Ack, Nack, ExtendLease,
// Enqueue) booker, and managing queues (Create, Delete, Purge, Redrive)
// admin. gRPC health checks are public (load balancers probe them),
// reflection needs reader, and anything unknown needs admin.
func Required(procedure string) Role {
	switch {
	case strings.HasPrefix(procedure, "/grpc.health.v1.Health/"):
		return RoleNone
	case strings.HasPrefix(procedure, "/grpc.reflection."):
		return RoleReader
	case procedure == clusterService+"GetStatus":
		return RoleReader
	case strings.HasPrefix(procedure, clusterService):
		return RoleAdmin
	case strings.HasPrefix(procedure, queueService):
		switch strings.TrimPrefix(procedure, queueService) {
		case "GetQueue", "ListQueues", "PeekMessages", "ListDeadLetters":
			return RoleReader
		case "Receive", "Ack", "Nack", "ExtendLease", "Enqueue":
			return RoleBooker
		}
		return RoleAdmin
	case strings.HasPrefix(procedure, bookingService):
		method := strings.TrimPrefix(procedure, bookingService)
		for _, q := range []string{"Get", "List", "Watch", "Search"} {
			if strings.HasPrefix(method, q) {
				return RoleReader
			}
		}
		if strings.Contains(method, "Event") || strings.Contains(method, "Product") ||
			strings.Contains(method, "Quota") || strings.Contains(method, "Voucher") {
			return RoleAdmin
		}
		return RoleBooker
	}
	return RoleAdmin
}
