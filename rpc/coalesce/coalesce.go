// Package coalesce gathers calls made one at a time into batches, with no
// timer: a call that finds fewer than MaxInFlight batches out leaves at
// once, and the calls that arrive while the batches are out wait and leave
// together when one returns (or as soon as they fill a batch). An idle
// caller pays no delay; under load batches grow with the load.
//
// The package owns only the queueing. What a batch is and how it is sent
// belongs to the caller's send function: the Go client sends BatchWrite
// calls to a node this way, and a follower forwards its callers' writes to
// the leader this way.
package coalesce

import (
	"context"
	"sync"
	"time"
)

// Batcher coalesces items of type In into calls of send, each item getting
// its own Out or error.
type Batcher[In, Out any] struct {
	// send sends items as one batch. It returns one Out per item, in order,
	// or an error that is every item's.
	send        func(context.Context, []In) ([]Out, error)
	maxItems    int
	maxInFlight int
	// timeout bounds one send when no item of the batch has a deadline.
	timeout time.Duration

	mu       sync.Mutex
	queue    []*waiter[In, Out]
	inFlight int
}

type waiter[In, Out any] struct {
	ctx  context.Context
	item In
	done chan outcome[Out] // buffered: the sender never blocks
}

type outcome[Out any] struct {
	out Out
	err error
}

// Config says how a Batcher sends.
type Config struct {
	// MaxItems bounds the items of one batch (at least 1).
	MaxItems int
	// MaxInFlight is how many batches may be out at once before items
	// wait to leave together (at least 1).
	MaxInFlight int
	// Timeout bounds one send whose items have no deadline; a batch
	// whose items have deadlines is sent until the latest of them.
	Timeout time.Duration
}

// New returns a Batcher that sends through send. send must return exactly
// one Out per item, or an error.
func New[In, Out any](cfg Config, send func(context.Context, []In) ([]Out, error)) *Batcher[In, Out] {
	return &Batcher[In, Out]{send: send, maxItems: max(1, cfg.MaxItems),
		maxInFlight: max(1, cfg.MaxInFlight), timeout: cfg.Timeout}
}

// Do queues item and waits for its outcome. An item whose ctx ends before
// it leaves is not sent; a caller whose ctx ends while its batch is out
// gets ctx's error (the batch's outcome for it is then unknown to it).
func (b *Batcher[In, Out]) Do(ctx context.Context, item In) (Out, error) {
	w := &waiter[In, Out]{ctx: ctx, item: item, done: make(chan outcome[Out], 1)}
	b.mu.Lock()
	b.queue = append(b.queue, w)
	b.flushLocked()
	b.mu.Unlock()
	select {
	case o := <-w.done:
		return o.out, o.err
	case <-ctx.Done():
		var zero Out
		return zero, ctx.Err()
	}
}

// flushLocked starts batches while there is room for them, or a full one.
func (b *Batcher[In, Out]) flushLocked() {
	for len(b.queue) > 0 && (b.inFlight < b.maxInFlight || len(b.queue) >= b.maxItems) {
		n := min(len(b.queue), b.maxItems)
		batch := b.queue[:n:n]
		b.queue = append([]*waiter[In, Out](nil), b.queue[n:]...)
		b.inFlight++
		go b.sendBatch(batch)
	}
}

func (b *Batcher[In, Out]) sendBatch(batch []*waiter[In, Out]) {
	defer func() {
		b.mu.Lock()
		b.inFlight--
		b.flushLocked()
		b.mu.Unlock()
	}()
	live := batch[:0:0]
	items := make([]In, 0, len(batch))
	var latest time.Time
	noDeadline := false
	for _, w := range batch {
		if w.ctx.Err() != nil {
			continue // its caller has gone: send nothing for it
		}
		live = append(live, w)
		items = append(items, w.item)
		if d, ok := w.ctx.Deadline(); !ok {
			noDeadline = true
		} else if d.After(latest) {
			latest = d
		}
	}
	if len(live) == 0 {
		return
	}
	// The send serves every caller of the batch, so no one caller's
	// cancellation ends it; it lasts as long as the most patient one waits.
	ctx, cancel := context.Background(), context.CancelFunc(func() {})
	switch {
	case noDeadline && b.timeout > 0:
		ctx, cancel = context.WithTimeout(ctx, b.timeout)
	case !noDeadline:
		ctx, cancel = context.WithDeadline(ctx, latest)
	}
	defer cancel()
	outs, err := b.send(ctx, items)
	if err == nil && len(outs) != len(live) {
		err = &CountError{Sent: len(live), Got: len(outs)}
	}
	for i, w := range live {
		if err != nil {
			w.done <- outcome[Out]{err: err}
		} else {
			w.done <- outcome[Out]{out: outs[i]}
		}
	}
}
