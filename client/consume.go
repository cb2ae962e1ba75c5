package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"
	"unicode/utf8"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/durationpb"

	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
)

// QueueHandler handles one message: nil acks it, an error nacks it (it is
// delivered again after the queue's backoff), an error wrapped by GiveUp
// dead-letters it at once.
//
// Delivery is at least once: a message may reach a handler again (its
// lease lapsed while a node was unreachable, a worker died before its ack
// was applied), so work with outside effects should be keyed by m.Key (a
// payment provider's Idempotency-Key, an e-mail's Message-ID).
type QueueHandler func(ctx context.Context, m *bookdv1.QueueMessage) error

// GiveUp marks err as one no retry can cure (a payment that is not this
// booking's, an address that does not exist): the message is dead-lettered
// with err's text at once, without using its remaining attempts. It may be
// wrapped further (fmt.Errorf("...: %w", GiveUp(err))). GiveUp(nil) is nil.
func GiveUp(err error) error {
	if err == nil {
		return nil
	}
	return giveUpError{err}
}

type giveUpError struct{ err error }

func (e giveUpError) Error() string { return e.err.Error() }
func (e giveUpError) Unwrap() error { return e.err }

// ConsumeOptions tune Consume. The zero value is usable.
type ConsumeOptions struct {
	Concurrency int           // handlers running at once (default 1)
	Visibility  time.Duration // lease per delivery (default 30 s); extended while a handler runs
	WaitTime    time.Duration // how long one Receive waits for work (default 10 s)
}

// Limits of ConsumeOptions (the cluster's for a Receive).
const (
	maxConsumeVisibility = 12 * time.Hour
	minConsumeVisibility = time.Second
	maxConsumeWait       = 20 * time.Second
	maxLeasesPerCall     = 1000 // leases in one Receive, Ack or ExtendLease
	maxNackError         = 1024 // bytes of a Nack's error
)

// withDefaults fills in the defaults and checks the limits.
func (o ConsumeOptions) withDefaults() (ConsumeOptions, error) {
	bad := func(format string, args ...any) (ConsumeOptions, error) {
		return o, connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("client: Consume: "+format, args...))
	}
	switch {
	case o.Concurrency < 0:
		return bad("Concurrency %d is negative", o.Concurrency)
	case o.Visibility != 0 && (o.Visibility < minConsumeVisibility || o.Visibility > maxConsumeVisibility):
		return bad("Visibility %s is not between %s and %s", o.Visibility, minConsumeVisibility, maxConsumeVisibility)
	case o.WaitTime < 0 || o.WaitTime > maxConsumeWait:
		return bad("WaitTime %s is not between 0 and %s", o.WaitTime, maxConsumeWait)
	}
	if o.Concurrency == 0 {
		o.Concurrency = 1
	}
	if o.Visibility == 0 {
		o.Visibility = 30 * time.Second
	}
	if o.WaitTime == 0 {
		o.WaitTime = 10 * time.Second
	}
	return o, nil
}

// Consume runs h on queue's messages until ctx ends; then it stops
// receiving, lets running handlers finish (their acks are sent), and
// returns nil. It returns an error only when it cannot go on (queue not
// found, permission denied).
//
// It leases up to opts.Concurrency messages per Receive, each Receive
// waiting up to opts.WaitTime on the cluster for work, and runs a handler
// per message, at most opts.Concurrency at once. While a handler runs, its
// lease is extended before it ends (the leases of all running handlers in
// one ExtendLease call); should it be lost all the same (another worker
// received the message after a long outage), the handler's context is
// cancelled. Acks of handlers that finish together go in one Ack call: one
// is out at a time, and the acks that arrive meanwhile leave together in
// the next. A handler's error is sent with Nack (its text, cut to 1,024
// bytes), or with give_up when it wraps GiveUp. When the cluster is
// unavailable (a leader change, a lost node) Consume backs off and tries
// again, for as long as ctx lives.
//
// A handler's context is not cancelled when ctx ends: the handler finishes
// its work and its ack is sent, within one Visibility period after the last
// handler returns (after that the message is left to be delivered again).
// A handler that panics has its message nacked with the panic's text.
func (c *Client) Consume(ctx context.Context, queue string, h QueueHandler, opts ConsumeOptions) error {
	if h == nil {
		return connect.NewError(connect.CodeInvalidArgument, errors.New("client: Consume: nil handler"))
	}
	opts, err := opts.withDefaults()
	if err != nil {
		return err
	}
	if ctx.Err() != nil {
		return nil
	}
	w := &worker{
		q:       queues{c},
		c:       c,
		queue:   queue,
		h:       h,
		opts:    opts,
		log:     c.cfg.logger.With(slog.String("queue", queue)),
		slots:   make(chan struct{}, opts.Concurrency),
		held:    make(map[string]*heldLease),
		ackWake: make(chan struct{}, 1),
	}
	return w.run(ctx)
}

// worker is one Consume call.
type worker struct {
	q     queues
	c     *Client
	queue string
	h     QueueHandler
	opts  ConsumeOptions
	log   *slog.Logger

	slots    chan struct{} // a token per running handler
	handlers sync.WaitGroup
	stopRecv context.CancelCauseFunc

	mu      sync.Mutex
	held    map[string]*heldLease // by lease id: received, not yet acked, nacked or lost
	acks    []string              // lease ids to ack, in the order handlers finished
	fatal   error                 // why Consume cannot go on
	ackWake chan struct{}
}

// heldLease is a message the worker holds.
type heldLease struct {
	// until is when the lease ends at the earliest, by this machine's
	// clock: the Visibility after the call that set it was sent.
	until time.Time
	// cancel cancels the handler's context.
	cancel context.CancelFunc
}

func (w *worker) run(ctx context.Context) error {
	recvCtx, stopRecv := context.WithCancelCause(ctx)
	defer stopRecv(nil)
	w.stopRecv = stopRecv
	// Acks, extensions and nacks outlive ctx: a handler running when ctx
	// ends still has its lease kept and its ack sent.
	bg, stopBg := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBg()
	drain := make(chan struct{})
	ackDone := make(chan struct{})
	go func() {
		defer close(ackDone)
		w.ackLoop(bg, drain)
	}()
	extendDone := make(chan struct{})
	go func() {
		defer close(extendDone)
		w.extendLoop(bg)
	}()

	w.receiveLoop(recvCtx, bg)
	w.handlers.Wait()
	close(drain)
	flush := time.AfterFunc(w.opts.Visibility, stopBg)
	<-ackDone
	flush.Stop()
	stopBg()
	<-extendDone
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.acks) > 0 {
		w.log.Warn("bookd client: consume stopped with acks unsent; their messages will be delivered again", slog.Int("leases", len(w.acks)))
	}
	return w.fatal
}

// stop ends the Consume call for good with err.
func (w *worker) stop(err error) {
	w.mu.Lock()
	if w.fatal == nil {
		w.fatal = err
		w.log.Error("bookd client: consume cannot go on", slog.Any("error", err))
	}
	w.mu.Unlock()
	w.stopRecv(err)
}

// cannotGoOn reports whether err means no retry will help: the queue is
// gone, the caller may not consume it, or the request is wrong.
func cannotGoOn(err error) bool {
	switch connect.CodeOf(err) {
	case connect.CodeNotFound, connect.CodePermissionDenied, connect.CodeUnauthenticated,
		connect.CodeInvalidArgument, connect.CodeUnimplemented:
		return true
	}
	return false
}

// pause backs off before the attempt-th retry of a failed call, longer when
// a node asked for it, until ctx ends.
func (w *worker) pause(ctx context.Context, what string, attempt int, err error) error {
	wait := max(w.c.backoff(attempt), RetryAfter(err))
	w.log.LogAttrs(ctx, slog.LevelWarn, "bookd client: consume: "+what+" failed; retrying",
		slog.Int("attempt", attempt), slog.Duration("backoff", wait), slog.Any("error", err))
	return sleep(ctx, wait)
}

// receiveLoop leases messages while handlers are free and starts a handler
// per message, until ctx ends.
func (w *worker) receiveLoop(ctx, bg context.Context) {
	handlerBase := bg
	for attempt := 0; ; {
		select {
		case w.slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		n := 1
	more:
		for n < min(w.opts.Concurrency, maxLeasesPerCall) {
			select {
			case w.slots <- struct{}{}:
				n++
			default:
				break more
			}
		}
		sent := time.Now()
		res, err := w.q.Receive(ctx, &bookdv1.ReceiveRequest{
			Queue:      w.queue,
			Max:        int32(n),
			Visibility: durationpb.New(w.opts.Visibility),
			WaitTime:   durationpb.New(w.opts.WaitTime),
		})
		msgs := res.GetMessages()
		if len(msgs) > n { // never from a bookd node; keep the bound
			w.log.Error("bookd client: consume: Receive answered more messages than asked", slog.Int("asked", n), slog.Int("got", len(msgs)))
			msgs = msgs[:n]
		}
		for range n - len(msgs) {
			<-w.slots
		}
		switch {
		case err == nil:
			attempt = 0
		case ctx.Err() != nil:
			return
		case cannotGoOn(err):
			w.stop(err)
			return
		default:
			attempt++
			if w.pause(ctx, "Receive", attempt, err) != nil {
				return
			}
		}
		for _, m := range msgs {
			w.start(handlerBase, m, sent.Add(w.opts.Visibility))
		}
	}
}

// start runs the handler for m, which holds a slot, in a goroutine of its
// own.
func (w *worker) start(base context.Context, m *bookdv1.QueueMessage, until time.Time) {
	hctx, cancel := context.WithCancel(base)
	w.mu.Lock()
	w.held[m.GetLeaseId()] = &heldLease{until: until, cancel: cancel}
	w.mu.Unlock()
	w.handlers.Add(1)
	go func() {
		defer w.handlers.Done()
		err := w.handle(hctx, m)
		cancel()
		if err == nil {
			w.queueAck(m.GetLeaseId())
		} else {
			w.nack(base, m, err)
		}
		<-w.slots
	}()
}

// handle runs the handler, turning a panic into an error.
func (w *worker) handle(ctx context.Context, m *bookdv1.QueueMessage) (err error) {
	defer func() {
		if p := recover(); p != nil {
			w.log.Error("bookd client: consume: handler panicked", slog.String("message", m.GetId()),
				slog.Any("panic", p), slog.String("stack", string(debug.Stack())))
			err = fmt.Errorf("handler panicked: %v", p)
		}
	}()
	return w.h(ctx, m)
}

// release forgets leases the worker no longer holds.
func (w *worker) release(ids ...string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, id := range ids {
		delete(w.held, id)
	}
}

// leaseLost reports a lease that could not be acked, nacked or extended.
func (w *worker) leaseLost(call, id, reason, msg string) {
	level := slog.LevelWarn
	if reason == ReasonLeaseGone {
		level = slog.LevelDebug // acked by an earlier sending, or dropped: nothing to do
	}
	w.log.LogAttrs(context.Background(), level, "bookd client: consume: "+call+" found a lease lost",
		slog.String("lease", id), slog.String("reason", reason), slog.String("error", msg))
}

// nack gives m back with the handler's error.
func (w *worker) nack(ctx context.Context, m *bookdv1.QueueMessage, herr error) {
	defer w.release(m.GetLeaseId())
	req := &bookdv1.NackRequest{Queue: w.queue, LeaseId: m.GetLeaseId(), Error: clipUTF8(herr.Error(), maxNackError)}
	if errors.As(herr, new(giveUpError)) {
		req.GiveUp = true
	}
	_, err := w.q.Nack(ctx, req)
	switch {
	case err == nil:
	case connect.CodeOf(err) == connect.CodeFailedPrecondition && Reason(err) != "":
		w.leaseLost("Nack", m.GetLeaseId(), Reason(err), err.Error())
	case cannotGoOn(err):
		w.stop(err)
	default:
		// The lease lapses instead; the message comes back then.
		w.log.Warn("bookd client: consume: Nack failed", slog.String("lease", m.GetLeaseId()), slog.Any("error", err))
	}
}

// clipUTF8 cuts s to at most n bytes without splitting a character.
func clipUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
