package rpc

import (
	"context"
	"time"

	"connectrpc.com/connect"
	"github.com/bookd/bookd/fsm"
	fsmv1 "github.com/bookd/bookd/proto/bookd/fsm/v1"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/proto/bookd/v1/bookdv1connect"
)

// QueueHandler implements bookdv1connect.QueueServiceHandler: the calls go
// through the log like any mutation (fsm/queues.go has the rules), reads
// are served like the booking service's.
type QueueHandler struct{ s *service }

var _ bookdv1connect.QueueServiceHandler = (*QueueHandler)(nil)

func (h *QueueHandler) CreateQueue(ctx context.Context, req *bookdv1.CreateQueueRequest) (*bookdv1.CreateQueueResponse, error) {
	if err := check(fsm.ValidateCreateQueue(req)); err != nil {
		return nil, err
	}
	return mutate(ctx, h.s, req, &fsm.Command{Op: &fsmv1.Command_CreateQueue{CreateQueue: req}},
		func(ctx context.Context, p *peer) (*bookdv1.CreateQueueResponse, error) {
			return p.queue.CreateQueue(ctx, req)
		})
}

func (h *QueueHandler) DeleteQueue(ctx context.Context, req *bookdv1.DeleteQueueRequest) (*bookdv1.DeleteQueueResponse, error) {
	if err := check(fsm.ValidateQueueName("queue", req.GetQueue())); err != nil {
		return nil, err
	}
	return mutate(ctx, h.s, req, &fsm.Command{Op: &fsmv1.Command_DeleteQueue{DeleteQueue: req}},
		func(ctx context.Context, p *peer) (*bookdv1.DeleteQueueResponse, error) {
			return p.queue.DeleteQueue(ctx, req)
		})
}

func (h *QueueHandler) PurgeQueue(ctx context.Context, req *bookdv1.PurgeQueueRequest) (*bookdv1.PurgeQueueResponse, error) {
	if err := check(fsm.ValidateQueueName("queue", req.GetQueue())); err != nil {
		return nil, err
	}
	return mutate(ctx, h.s, req, &fsm.Command{Op: &fsmv1.Command_PurgeQueue{PurgeQueue: req}},
		func(ctx context.Context, p *peer) (*bookdv1.PurgeQueueResponse, error) {
			return p.queue.PurgeQueue(ctx, req)
		})
}

func (h *QueueHandler) Redrive(ctx context.Context, req *bookdv1.RedriveRequest) (*bookdv1.RedriveResponse, error) {
	if err := check(fsm.ValidateRedrive(req)); err != nil {
		return nil, err
	}
	return mutate(ctx, h.s, req, &fsm.Command{Op: &fsmv1.Command_Redrive{Redrive: req}},
		func(ctx context.Context, p *peer) (*bookdv1.RedriveResponse, error) {
			return p.queue.Redrive(ctx, req)
		})
}

func (h *QueueHandler) Enqueue(ctx context.Context, req *bookdv1.EnqueueRequest) (*bookdv1.EnqueueResponse, error) {
	if err := check(fsm.ValidateEnqueue(req)); err != nil {
		return nil, err
	}
	return mutate(ctx, h.s, req, &fsm.Command{Op: &fsmv1.Command_Enqueue{Enqueue: req}},
		func(ctx context.Context, p *peer) (*bookdv1.EnqueueResponse, error) {
			return p.queue.Enqueue(ctx, req)
		})
}

func (h *QueueHandler) Ack(ctx context.Context, req *bookdv1.AckRequest) (*bookdv1.AckResponse, error) {
	if err := check(fsm.ValidateAck(req)); err != nil {
		return nil, err
	}
	return mutate(ctx, h.s, req, &fsm.Command{Op: &fsmv1.Command_Ack{Ack: req}},
		func(ctx context.Context, p *peer) (*bookdv1.AckResponse, error) {
			return p.queue.Ack(ctx, req)
		})
}

func (h *QueueHandler) Nack(ctx context.Context, req *bookdv1.NackRequest) (*bookdv1.NackResponse, error) {
	if err := check(fsm.ValidateNack(req)); err != nil {
		return nil, err
	}
	return mutate(ctx, h.s, req, &fsm.Command{Op: &fsmv1.Command_Nack{Nack: req}},
		func(ctx context.Context, p *peer) (*bookdv1.NackResponse, error) {
			return p.queue.Nack(ctx, req)
		})
}

func (h *QueueHandler) ExtendLease(ctx context.Context, req *bookdv1.ExtendLeaseRequest) (*bookdv1.ExtendLeaseResponse, error) {
	if err := check(fsm.ValidateExtendLease(req)); err != nil {
		return nil, err
	}
	return mutate(ctx, h.s, req, &fsm.Command{Op: &fsmv1.Command_ExtendLease{ExtendLease: req}},
		func(ctx context.Context, p *peer) (*bookdv1.ExtendLeaseResponse, error) {
			return p.queue.ExtendLease(ctx, req)
		})
}

// receiveRetry is how long a waiting Receive that found its message not
// yet due in the leader's command (its stamp lags this node's clock a
// little) waits before it asks again.
const receiveRetry = 5 * time.Millisecond

// Receive leases due messages. When none is due it waits, on this node's
// copy of the state, until one may be (a change was applied, or a delayed
// message's time came) or wait_time passes, so that idle workers cost the
// log nothing and a message reaches a waiting worker as soon as it commits.
func (h *QueueHandler) Receive(ctx context.Context, req *bookdv1.ReceiveRequest) (*bookdv1.ReceiveResponse, error) {
	if err := check(fsm.ValidateReceive(req)); err != nil {
		return nil, err
	}
	f := h.s.node.FSM()
	deadline := time.Now().Add(req.GetWaitTime().AsDuration())
	if !f.HasQueue(req.GetQueue()) {
		// Unknown here (maybe created after this node's state): the
		// leader answers, NOT_FOUND if it does not know it either. With
		// nothing due there, the wait goes on here: this node applies
		// the queue's creation soon.
		resp, err := h.lease(ctx, req)
		if err != nil || len(resp.GetMessages()) > 0 || !time.Now().Before(deadline) {
			return resp, err
		}
	}
	for {
		changed := f.AppliedChanged()
		next, found := f.QueueNextDue(req.GetQueue())
		now := time.Now()
		if found && next <= now.UnixNano() {
			resp, err := h.lease(ctx, req)
			if err != nil || len(resp.GetMessages()) > 0 || !now.Before(deadline) {
				return resp, err
			}
			// Not due by the leader's stamp yet, or held back by ordering.
			next = now.Add(receiveRetry).UnixNano()
		}
		if !now.Before(deadline) {
			return &bookdv1.ReceiveResponse{}, nil
		}
		wake := deadline
		if found && time.Unix(0, next).Before(wake) {
			wake = time.Unix(0, next)
		}
		timer := time.NewTimer(time.Until(wake))
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, connect.NewError(connect.CodeCanceled, ctx.Err())
		case <-h.s.stopping:
			timer.Stop()
			return &bookdv1.ReceiveResponse{}, nil
		case <-changed:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// lease proposes the Receive (the leader's copy waits no more).
func (h *QueueHandler) lease(ctx context.Context, req *bookdv1.ReceiveRequest) (*bookdv1.ReceiveResponse, error) {
	cmd := &bookdv1.ReceiveRequest{Queue: req.GetQueue(), Max: req.GetMax(), Visibility: req.GetVisibility()}
	return mutate(ctx, h.s, cmd, &fsm.Command{Op: &fsmv1.Command_Receive{Receive: cmd}},
		func(ctx context.Context, p *peer) (*bookdv1.ReceiveResponse, error) {
			return p.queue.Receive(ctx, cmd)
		})
}

func (h *QueueHandler) ListQueues(ctx context.Context, req *bookdv1.ListQueuesRequest) (*bookdv1.ListQueuesResponse, error) {
	return read(ctx, h.s, req.GetRead(),
		func() (*bookdv1.ListQueuesResponse, error) {
			qs, err := h.s.node.FSM().Queues()
			return &bookdv1.ListQueuesResponse{Queues: qs}, err
		},
		func(ctx context.Context, p *peer) (*bookdv1.ListQueuesResponse, error) {
			return p.queue.ListQueues(ctx, req)
		})
}

func (h *QueueHandler) GetQueue(ctx context.Context, req *bookdv1.GetQueueRequest) (*bookdv1.GetQueueResponse, error) {
	if err := check(fsm.ValidateQueueName("queue", req.GetQueue())); err != nil {
		return nil, err
	}
	return read(ctx, h.s, req.GetRead(),
		func() (*bookdv1.GetQueueResponse, error) {
			q, err := h.s.node.FSM().Queue(req.GetQueue())
			return &bookdv1.GetQueueResponse{Queue: q}, err
		},
		func(ctx context.Context, p *peer) (*bookdv1.GetQueueResponse, error) {
			return p.queue.GetQueue(ctx, req)
		})
}

func (h *QueueHandler) PeekMessages(ctx context.Context, req *bookdv1.PeekMessagesRequest) (*bookdv1.PeekMessagesResponse, error) {
	size, err := pageLimit("limit", req.GetLimit())
	if err != nil {
		return nil, err
	}
	return read(ctx, h.s, req.GetRead(),
		func() (*bookdv1.PeekMessagesResponse, error) {
			ms, err := h.s.node.FSM().QueueMessages(req.GetQueue(), req.GetAfterId(), size, false)
			return &bookdv1.PeekMessagesResponse{Messages: ms}, err
		},
		func(ctx context.Context, p *peer) (*bookdv1.PeekMessagesResponse, error) {
			return p.queue.PeekMessages(ctx, req)
		})
}

func (h *QueueHandler) ListDeadLetters(ctx context.Context, req *bookdv1.ListDeadLettersRequest) (*bookdv1.ListDeadLettersResponse, error) {
	size, err := pageLimit("limit", req.GetLimit())
	if err != nil {
		return nil, err
	}
	return read(ctx, h.s, req.GetRead(),
		func() (*bookdv1.ListDeadLettersResponse, error) {
			ms, err := h.s.node.FSM().QueueMessages(req.GetQueue(), req.GetAfterId(), size, true)
			return &bookdv1.ListDeadLettersResponse{Messages: ms}, err
		},
		func(ctx context.Context, p *peer) (*bookdv1.ListDeadLettersResponse, error) {
			return p.queue.ListDeadLetters(ctx, req)
		})
}
