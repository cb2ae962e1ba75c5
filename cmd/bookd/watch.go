package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/signal"
	"syscall"
	"time"

	"github.com/bookd/bookd/client"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/spf13/cobra"
	"google.golang.org/protobuf/encoding/protojson"
)

// errLimit ends a watch that printed --limit changes.
var errLimit = errors.New("limit reached")

func newWatchCmd(g *globals) *cobra.Command {
	var req bookdv1.WatchChangesRequest
	var limit int
	var retryFor time.Duration
	cmd := &cobra.Command{
		Use:   "watch [--cursor C | --from-now] [--event ID] [--limit N]",
		Short: "Print every committed change as it commits, one line each (JSON lines with -o json)",
		Long: `watch prints the change feed: event created/closed/cancelled, hold created/
extended/released/expired, booking confirmed/cancelled, waitlist joined/left/
offer. Each line starts with the change's cursor; --cursor C resumes right
after it. Without --cursor or --from-now it starts at the oldest change the
cluster retains. When the node it reads from fails it resumes from the last
printed cursor on another node, so no change is missed or printed twice
(notes about that go to stderr); when no node of the cluster answers for
--retry-for it gives up and exits 5. It runs until interrupted, for --limit
changes, or for --timeout if given; a cursor older than the retained feed
exits 4.`,
		Example: `  bookd watch --from-now
  bookd watch --event ev_8 --cursor 1234-0 -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if req.Cursor != "" && req.FromNow {
				return usagef("give --cursor or --from-now, not both")
			}
			if limit < 0 {
				return usagef("--limit must not be negative")
			}
			if retryFor < 0 {
				return usagef("--retry-for must not be negative")
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			ctx, giveUp := context.WithCancelCause(ctx)
			defer giveUp(nil)
			// A watch runs until stopped: --timeout bounds it only when given.
			bounded := cmd.Flags().Changed("timeout")
			var c *client.Client
			notes := &watchNotes{
				Handler:  slog.NewTextHandler(cmd.ErrOrStderr(), nil),
				out:      cmd.ErrOrStderr(),
				retryFor: retryFor,
				giveUp:   giveUp,
				alive: func(ctx context.Context) bool {
					ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
					defer cancel()
					_, err := c.Status(ctx)
					return err == nil
				},
			}
			c, ctx, done, err := g.connect(ctx, bounded, client.WithLogger(slog.New(notes)))
			if err != nil {
				return err
			}
			defer done()
			if req.EventId != "" {
				// The feed would wait for changes of an event that does
				// not exist; say so instead.
				if _, err := c.GetEvent(ctx, req.EventId); err != nil {
					return err
				}
			}
			out := cmd.OutOrStdout()
			printed := 0
			err = c.Watch(ctx, &req, func(ch *bookdv1.Change) error {
				notes.served()
				line := changeLine(ch)
				if g.output == "json" {
					b, err := protojson.Marshal(ch)
					if err != nil {
						return err
					}
					line = string(b)
				}
				if _, err := fmt.Fprintln(out, line); err != nil {
					return err
				}
				if printed++; limit > 0 && printed >= limit {
					return errLimit
				}
				return nil
			})
			if gave := gaveUp(ctx); gave != nil {
				return gave
			}
			switch {
			case errors.Is(err, errLimit):
				return nil
			case errors.Is(err, context.Canceled) && cmd.Context().Err() == nil:
				return nil // interrupted by a signal: a normal end
			case errors.Is(err, context.DeadlineExceeded) && bounded:
				return nil // ran for --timeout, as asked
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&req.Cursor, "cursor", "", "start right after the change with this cursor (the first column)")
	f.BoolVar(&req.FromNow, "from-now", false, "start with the next change to commit")
	f.StringVar(&req.EventId, "event", "", "only this event's changes")
	f.IntVar(&limit, "limit", 0, "exit after this many changes (0: no limit)")
	f.DurationVar(&retryFor, "retry-for", 30*time.Second, "when the stream fails, give up (exit 5) once no node has answered for this long (0: retry until stopped)")
	return cmd
}
