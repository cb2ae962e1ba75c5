package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"connectrpc.com/connect"
)

// resumeNote is the message of the client's note that a watch's stream
// failed and is about to be resumed (client.Watch retries for ever).
const resumeNote = "bookd client: resuming watch"

// watchNotes is the handler of the client's notes during `bookd watch`.
// Its debug notes (each retry of a call) are dropped, and its other notes
// go to the embedded handler. Of a run of resume notes it
// prints the first, as one line; once the run has lasted retryFor (0: no
// bound), it asks alive whether any node answers, and if none does it
// ends the watch through giveUp with an UNAVAILABLE error.
type watchNotes struct {
	slog.Handler
	out      io.Writer
	retryFor time.Duration
	alive    func(context.Context) bool
	giveUp   context.CancelCauseFunc

	mu      sync.Mutex
	since   time.Time // start of the current run of failures; zero: none
	lastErr string
}

// served notes that the watch delivered a change: a run of failures ends.
func (h *watchNotes) served() {
	h.mu.Lock()
	h.since = time.Time{}
	h.mu.Unlock()
}

// Enabled takes every note: the resume notes are debug notes.
func (h *watchNotes) Enabled(context.Context, slog.Level) bool { return true }

func (h *watchNotes) Handle(ctx context.Context, r slog.Record) error {
	switch {
	case r.Message != resumeNote && r.Level < slog.LevelInfo:
		return nil
	case r.Message != resumeNote:
		return h.Handler.Handle(ctx, r)
	}
	var endpoint, cursor, failure string
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "endpoint":
			endpoint = a.Value.String()
		case "cursor":
			cursor = a.Value.String()
		case "error":
			failure = a.Value.String()
		}
		return true
	})
	h.mu.Lock()
	defer h.mu.Unlock()
	h.lastErr = failure
	now := time.Now()
	if h.since.IsZero() {
		h.since = now
		bound := "until stopped"
		if h.retryFor > 0 {
			bound = fmt.Sprintf("for up to --retry-for %v", h.retryFor)
		}
		from := "from the oldest change"
		if cursor != "" {
			from = "after cursor " + cursor
		}
		_, err := fmt.Fprintf(h.out, "bookd: %s failed (%s); resuming watch %s on another node, %s\n",
			endpoint, h.lastErr, from, bound)
		return err
	}
	if h.retryFor <= 0 || now.Sub(h.since) < h.retryFor {
		return nil
	}
	if h.alive(ctx) {
		h.since = now // the cluster answers: give the stream another run
		return nil
	}
	h.giveUp(connect.NewError(connect.CodeUnavailable,
		fmt.Errorf("watch: no node of the cluster answered for %v (--retry-for); last error: %s", h.retryFor, h.lastErr)))
	return nil
}

// gaveUp is the error watchNotes ended the watch with, if it did.
func gaveUp(ctx context.Context) error {
	var ce *connect.Error
	if err := context.Cause(ctx); errors.As(err, &ce) {
		return err
	}
	return nil
}
