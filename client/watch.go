package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"

	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
)

// Watch streams the change feed and calls fn with each change, in commit
// order, until ctx ends, fn returns an error, or the cluster answers with a
// permanent error; it returns that error (ctx's own error when ctx ends).
//
// Any node serves the feed from its own applied state. When the stream
// breaks (the node stops or becomes unreachable, or answers UNAVAILABLE),
// Watch moves to another node, backs off as calls do, and resumes after the
// cursor of the last change it gave fn, so fn sees every change exactly
// once and in order. It keeps trying for as long as ctx lives (neither
// WithMaxAttempts nor WithAttemptTimeout applies to a stream): bound ctx to
// give up. A cursor older than the feed the cluster retains ends it with
// OUT_OF_RANGE (start again from an empty cursor, or from now).
//
// req.Cursor starts after that change, an empty cursor at the oldest change
// retained. With req.FromNow Watch first asks the leader for its commit
// index and starts after it, so that a reconnection before the first change
// misses nothing either, and no change acknowledged before the call is
// streamed. req.EventId keeps only that event's changes.
func (c *Client) Watch(ctx context.Context, req *bookdv1.WatchChangesRequest, fn func(*bookdv1.Change) error) error {
	req = proto.Clone(orEmpty(req)).(*bookdv1.WatchChangesRequest)
	if req.GetFromNow() {
		if req.GetCursor() != "" {
			return connect.NewError(connect.CodeInvalidArgument, errors.New("client: Watch: from_now: give a cursor or from_now, not both"))
		}
		cursor, err := c.NowCursor(ctx)
		if err != nil {
			return err
		}
		req.Cursor, req.FromNow = cursor, false
	}
	for attempt := 1; ; attempt++ {
		base := c.eps.pick(false)
		delivered, err := c.watchOnce(ctx, base, req, fn)
		if delivered {
			attempt = 1 // the node served: the next failure is a fresh one
		}
		var stop fnError
		switch {
		case errors.As(err, &stop):
			return stop.err
		case ctx.Err() != nil:
			return ctx.Err()
		case connect.CodeOf(err) == connect.CodeDeadlineExceeded:
			// Streams have no attempt timeout: the deadline is the
			// caller's, which the server enforced a moment before ctx.
			return context.DeadlineExceeded
		case err != nil && !retryable(ctx, err):
			return err
		}
		// The stream broke, or ended without an error, which a node does
		// only when it goes away: resume elsewhere.
		c.eps.failed(base)
		wait := c.backoff(attempt)
		c.cfg.logger.LogAttrs(ctx, slog.LevelDebug, "bookd client: resuming watch",
			slog.String("method", "WatchChanges"),
			slog.String("endpoint", base),
			slog.String("cursor", req.GetCursor()),
			slog.Duration("backoff", wait),
			slog.Any("error", err))
		if err := sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// fnError carries the error of the caller's function out of watchOnce.
type fnError struct{ err error }

func (e fnError) Error() string { return e.err.Error() }

// watchOnce streams from the node at base until the stream ends, moving
// req.Cursor past every change given to fn; delivered reports whether any
// change arrived.
func (c *Client) watchOnce(ctx context.Context, base string, req *bookdv1.WatchChangesRequest, fn func(*bookdv1.Change) error) (delivered bool, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.conn(base).WatchChanges(ctx, req)
	if err != nil {
		return false, err
	}
	defer stream.Close()
	for stream.Receive() {
		for _, ch := range stream.Msg().GetChanges() {
			if ch.GetCursor() == "" {
				return delivered, connect.NewError(connect.CodeInternal, fmt.Errorf("client: WatchChanges from %s sent a change without a cursor", base))
			}
			delivered = true
			if err := fn(ch); err != nil {
				return delivered, fnError{err}
			}
			req.Cursor = ch.GetCursor()
		}
	}
	return delivered, stream.Err()
}

// NowCursor returns a cursor after every change applied by the node that
// answers Status (the leader, when the Client knows it), or "" when nothing
// was ever applied: Watch from it streams every change acknowledged after
// the call, and none before.
func (c *Client) NowCursor(ctx context.Context) (string, error) {
	st, err := c.Status(ctx)
	if err == nil && st.GetState() != "Leader" && st.GetLeaderRpcAddress() != "" {
		// A follower may lag: "now" is the leader's.
		if lst, lerr := c.StatusOf(ctx, st.GetLeaderRpcAddress()); lerr == nil && lst.GetState() == "Leader" {
			st = lst
		}
	}
	if err != nil {
		return "", fmt.Errorf("client: Watch: find where now is: %w", err)
	}
	// Every acknowledged write is at or below the commit index.
	now := max(st.GetCommitIndex(), st.GetAppliedIndex())
	if now == 0 {
		return "", nil
	}
	// Changes of entry N have cursors N-0 .. N-k: start after all of them.
	return fmt.Sprintf("%d-%d", now, uint32(math.MaxUint32)), nil
}
