package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"
)

// op describes one call for the retry loop.
type op struct {
	name  string // method name, for errors and logs
	stale bool   // a stale read: any node will do, the leader is not preferred
	key   string // the mutation's idempotency key, "" for reads
	once  bool   // never retry
	// freshKey: the Client made the key for this call, so no other call
	// can carry it.
	freshKey bool
	// wait lengthens each attempt's timeout by the time the node may
	// spend waiting before it answers (a Receive's wait_time).
	wait time.Duration
}

// call sends req with method to the node the endpoints pick, and while the
// answer is UNAVAILABLE (or the node cannot be reached) moves to another
// node, backs off and sends it again, until it gets another answer, runs out
// of attempts or ctx ends. Any other error is returned at once.
func call[Req proto.Message, Res any](ctx context.Context, c *Client, o op, req Req, method func(*conn, context.Context, Req) (*Res, error)) (*Res, error) {
	attempts := c.cfg.maxAttempts
	if o.once {
		attempts = 1
	}
	for attempt := 1; ; attempt++ {
		base := c.eps.pick(!o.stale)
		res, err := attemptCall(ctx, c, attempts, o.wait, func(ctx context.Context) (*Res, error) {
			return method(c.conn(base), context.WithValue(ctx, attemptKey{}, attempt == 1 && o.freshKey), req)
		})
		if err == nil {
			return res, nil
		}
		if !retryable(ctx, err) {
			return nil, err
		}
		c.eps.failed(base)
		if attempt >= attempts {
			return nil, giveUp(o, attempt, err)
		}
		wait := c.backoff(attempt)
		c.cfg.logger.LogAttrs(ctx, slog.LevelDebug, "bookd client: retrying",
			slog.String("method", o.name),
			slog.String("endpoint", base),
			slog.Int("attempt", attempt),
			slog.Duration("backoff", wait),
			slog.String("idempotency_key", o.key),
			slog.Any("error", err))
		if err := sleep(ctx, wait); err != nil {
			return nil, interrupted(o, attempt, err)
		}
	}
}

// attemptCall runs one attempt, bounded by the attempt timeout (plus the
// time the node may wait before answering) when the call may be retried.
func attemptCall[Res any](ctx context.Context, c *Client, attempts int, wait time.Duration, send func(context.Context) (*Res, error)) (*Res, error) {
	if attempts > 1 && c.cfg.attemptTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.cfg.attemptTimeout+wait)
		defer cancel()
	}
	return send(ctx)
}

// retryable reports whether err means "try another node": the node was
// unreachable or unavailable, or the connection broke mid-call. connect
// reports most transport failures as UNAVAILABLE, but a connection reset or
// broken pipe as CANCELED and a dial timeout as DEADLINE_EXCEEDED; while the
// caller's context is live, those are transport failures too. The outcome
// of such a call is unknown, which the idempotency key makes safe to retry.
func retryable(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	// An answer no bookd node sent (an HTTP error from something in between,
	// a broken connection) says nothing about the outcome either.
	if ce := new(connect.Error); errors.As(err, &ce) && !connect.IsWireError(ce) {
		return true
	}
	switch connect.CodeOf(err) {
	case connect.CodeUnavailable, connect.CodeCanceled, connect.CodeDeadlineExceeded:
		return true
	}
	return false
}

// backoff returns the wait before retry number attempt (1 for the first):
// initial doubled per attempt, at most max, jittered to between half and all
// of that.
func (c *Client) backoff(attempt int) time.Duration {
	d := c.cfg.backoffMax
	if shift := attempt - 1; shift < 32 {
		if e := c.cfg.backoffInitial << shift; e >= 0 && e < d {
			d = e
		}
	}
	return d/2 + rand.N(d-d/2+1)
}

// sleep waits for d or until ctx ends, whichever is first.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// giveUp annotates the last error of a call that used all its attempts.
func giveUp(o op, attempts int, err error) error {
	if attempts == 1 {
		return err
	}
	return fmt.Errorf("client: %s: gave up after %d attempts%s: %w", o.name, attempts, keyNote(o), err)
}

// interrupted is the error of a call whose ctx ended while it waited to retry.
func interrupted(o op, attempts int, ctxErr error) error {
	code := connect.CodeCanceled
	if errors.Is(ctxErr, context.DeadlineExceeded) {
		code = connect.CodeDeadlineExceeded
	}
	return connect.NewError(code, fmt.Errorf("client: %s: %w after %d attempts%s", o.name, ctxErr, attempts, keyNote(o)))
}

// keyNote tells the caller which key makes a further retry of a mutation
// whose outcome is unknown safe.
func keyNote(o op) string {
	if o.key == "" {
		return ""
	}
	return fmt.Sprintf(" (outcome unknown; retry with idempotency_key %q)", o.key)
}

// attemptKey marks, in the context of the method that sends it, a write
// being sent for the first time with a key the Client made: no request with
// its key can have reached a node before.
type attemptKey struct{}

// firstAttempt reports whether ctx carries that mark.
func firstAttempt(ctx context.Context) bool {
	first, _ := ctx.Value(attemptKey{}).(bool)
	return first
}
