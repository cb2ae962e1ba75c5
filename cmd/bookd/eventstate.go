package main

import (
	"context"
	"fmt"
	"io"

	"github.com/bookd/bookd/client"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/spf13/cobra"
)

func newEventsCloseCmd(g *globals) *cobra.Command {
	var req bookdv1.CloseEventRequest
	cmd := &cobra.Command{
		Use:   "close EVENT_ID",
		Short: "Stop sales of an event: new holds, bookings and waitlist entries are refused; active holds may still be confirmed",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req.EventId = args[0]
			return call(g, cmd, func(ctx context.Context, c *client.Client) (*bookdv1.Event, error) {
				return c.CloseEvent(ctx, &req)
			}, func(w io.Writer, ev *bookdv1.Event) {
				pricedEventTable(w, ev)
			})
		},
	}
	cmd.Flags().StringVar(&req.IdempotencyKey, "idempotency-key", "", "retry key (default: a fresh one)")
	return cmd
}

func newEventsCancelCmd(g *globals) *cobra.Command {
	var req bookdv1.CancelEventRequest
	cmd := &cobra.Command{
		Use:   "cancel EVENT_ID",
		Short: "Cancel an event: sales stop, active holds are released, the waitlist is dropped; bookings stay listed for refund",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req.EventId = args[0]
			return call(g, cmd, func(ctx context.Context, c *client.Client) (*bookdv1.CancelEventResponse, error) {
				return c.CancelEvent(ctx, &req)
			}, func(w io.Writer, res *bookdv1.CancelEventResponse) {
				pricedEventTable(w, res.Event)
				fmt.Fprintf(w, "\nreleased %d holds; %d tickets to refund (bookd bookings list --event %s)\n",
					res.ReleasedHolds, res.TicketsToRefund, res.GetEvent().GetId())
			})
		},
	}
	cmd.Flags().StringVar(&req.IdempotencyKey, "idempotency-key", "", "retry key (default: a fresh one)")
	return cmd
}
