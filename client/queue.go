package client

import (
	"context"
	"slices"

	"connectrpc.com/connect"

	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/proto/bookd/v1/bookdv1connect"
)

// Reasons a lease could not be acted on (LeaseFailure.Reason, and the
// Reason of a FAILED_PRECONDITION answer to a call naming one lease).
const (
	// ReasonLeaseLapsed: the lease ran out and the message was received
	// again, by this worker or another; the work may be done twice.
	ReasonLeaseLapsed = "LEASE_LAPSED"
	// ReasonLeaseGone: the message was acked, dead-lettered or dropped.
	// For an Ack sent again after an unknown outcome it means acked.
	ReasonLeaseGone = "LEASE_GONE"
	// ReasonLeaseUnknown: the queue never had the message the lease names.
	ReasonLeaseUnknown = "LEASE_UNKNOWN"
)

// Queues returns the cluster's work queues (bookd.v1.QueueService), called
// like the Client's other calls: writes go to the leader it knows, reads
// as their ReadOptions ask, and a call answered UNAVAILABLE (or whose node
// cannot be reached) is sent again to another node, within the Client's
// attempts. Most workers want Consume instead, which receives, extends,
// acks and nacks for them.
//
// Every call may be sent again after an unknown outcome; what that means
// for each:
//   - CreateQueue, DeleteQueue, Enqueue, Redrive and PurgeQueue carry an
//     idempotency key (an empty one is filled in, on a copy), so a second
//     sending is answered from the first.
//   - Receive is not idempotent: when an answer is lost, its messages stay
//     leased until their visibility ends and are then delivered again (an
//     attempt spent), while the Receive sent again leases other messages.
//     Delivery is at least once either way. Each attempt may last the
//     request's wait_time beyond the Client's attempt timeout.
//   - Ack acts on each lease once. A lease that an Ack sent again finds
//     gone (ReasonLeaseGone) was acked by the earlier sending: the answer
//     counts it as acked, dropping it from Failures (or, for a single
//     lease, answering success instead of FAILED_PRECONDITION).
//   - Nack acts on a lease once: sent again after it was applied, it
//     answers FAILED_PRECONDITION with ReasonLeaseLapsed or
//     ReasonLeaseGone (the message is no longer leased), which the caller
//     may take as done.
//   - ExtendLease sent again extends the leases from the later command's
//     time, which is what was asked.
func (c *Client) Queues() bookdv1connect.QueueServiceClient { return queues{c} }

// queues routes QueueService calls through the Client's retry loop.
type queues struct{ c *Client }

var _ bookdv1connect.QueueServiceClient = queues{}

func (q queues) CreateQueue(ctx context.Context, req *bookdv1.CreateQueueRequest) (*bookdv1.CreateQueueResponse, error) {
	req, key, fresh := withKey(req)
	return call(ctx, q.c, op{name: "CreateQueue", key: key, freshKey: fresh}, req, (*conn).CreateQueue)
}

func (q queues) DeleteQueue(ctx context.Context, req *bookdv1.DeleteQueueRequest) (*bookdv1.DeleteQueueResponse, error) {
	req, key, fresh := withKey(req)
	return call(ctx, q.c, op{name: "DeleteQueue", key: key, freshKey: fresh}, req, (*conn).DeleteQueue)
}

func (q queues) ListQueues(ctx context.Context, req *bookdv1.ListQueuesRequest) (*bookdv1.ListQueuesResponse, error) {
	req = orEmpty(req)
	return call(ctx, q.c, op{name: "ListQueues", stale: isStale(req.GetRead())}, req, (*conn).ListQueues)
}

func (q queues) GetQueue(ctx context.Context, req *bookdv1.GetQueueRequest) (*bookdv1.GetQueueResponse, error) {
	req = orEmpty(req)
	return call(ctx, q.c, op{name: "GetQueue", stale: isStale(req.GetRead())}, req, (*conn).GetQueue)
}

func (q queues) Enqueue(ctx context.Context, req *bookdv1.EnqueueRequest) (*bookdv1.EnqueueResponse, error) {
	req, key, fresh := withKey(req)
	return call(ctx, q.c, op{name: "Enqueue", key: key, freshKey: fresh}, req, (*conn).Enqueue)
}

func (q queues) Receive(ctx context.Context, req *bookdv1.ReceiveRequest) (*bookdv1.ReceiveResponse, error) {
	req = orEmpty(req)
	return call(ctx, q.c, op{name: "Receive", wait: req.GetWaitTime().AsDuration()}, req, (*conn).Receive)
}

func (q queues) Ack(ctx context.Context, req *bookdv1.AckRequest) (*bookdv1.AckResponse, error) {
	req = orEmpty(req)
	sent := 0
	res, err := call(ctx, q.c, op{name: "Ack"}, req, func(cn *conn, ctx context.Context, req *bookdv1.AckRequest) (*bookdv1.AckResponse, error) {
		sent++
		return cn.Ack(ctx, req)
	})
	if sent > 1 {
		return ackedBefore(res, err)
	}
	return res, err
}

// ackedBefore reads the answer to an Ack that was sent more than once: a
// lease found gone was acked by an earlier sending.
func ackedBefore(res *bookdv1.AckResponse, err error) (*bookdv1.AckResponse, error) {
	if err != nil {
		if connect.CodeOf(err) == connect.CodeFailedPrecondition && Reason(err) == ReasonLeaseGone {
			return &bookdv1.AckResponse{}, nil
		}
		return nil, err
	}
	res.Failures = slices.DeleteFunc(res.Failures, func(f *bookdv1.LeaseFailure) bool {
		return f.GetReason() == ReasonLeaseGone
	})
	return res, nil
}

func (q queues) Nack(ctx context.Context, req *bookdv1.NackRequest) (*bookdv1.NackResponse, error) {
	return call(ctx, q.c, op{name: "Nack"}, orEmpty(req), (*conn).Nack)
}

func (q queues) ExtendLease(ctx context.Context, req *bookdv1.ExtendLeaseRequest) (*bookdv1.ExtendLeaseResponse, error) {
	return call(ctx, q.c, op{name: "ExtendLease"}, orEmpty(req), (*conn).ExtendLease)
}

func (q queues) PeekMessages(ctx context.Context, req *bookdv1.PeekMessagesRequest) (*bookdv1.PeekMessagesResponse, error) {
	req = orEmpty(req)
	return call(ctx, q.c, op{name: "PeekMessages", stale: isStale(req.GetRead())}, req, (*conn).PeekMessages)
}

func (q queues) ListDeadLetters(ctx context.Context, req *bookdv1.ListDeadLettersRequest) (*bookdv1.ListDeadLettersResponse, error) {
	req = orEmpty(req)
	return call(ctx, q.c, op{name: "ListDeadLetters", stale: isStale(req.GetRead())}, req, (*conn).ListDeadLetters)
}

func (q queues) Redrive(ctx context.Context, req *bookdv1.RedriveRequest) (*bookdv1.RedriveResponse, error) {
	req, key, fresh := withKey(req)
	return call(ctx, q.c, op{name: "Redrive", key: key, freshKey: fresh}, req, (*conn).Redrive)
}

func (q queues) PurgeQueue(ctx context.Context, req *bookdv1.PurgeQueueRequest) (*bookdv1.PurgeQueueResponse, error) {
	req, key, fresh := withKey(req)
	return call(ctx, q.c, op{name: "PurgeQueue", key: key, freshKey: fresh}, req, (*conn).PurgeQueue)
}
