package main

import (
	"context"
	"io"

	"github.com/bookd/bookd/client"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/spf13/cobra"
)

func newWaitlistCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "waitlist",
		Short: "Queue customers for a sold-out event; the first whose request fits gets a hold (an offer) when inventory frees",
	}
	var join bookdv1.JoinWaitlistRequest
	joinCmd := &cobra.Command{
		Use:   "join EVENT_ID --customer ID --quantity N [--section S]",
		Short: "Join a sold-out event's waitlist",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if join.CustomerId == "" {
				return errNoCustomer
			}
			join.EventId = args[0]
			return call(g, cmd, func(ctx context.Context, c *client.Client) (*bookdv1.WaitlistEntry, error) {
				return c.JoinWaitlist(ctx, &join)
			}, func(w io.Writer, e *bookdv1.WaitlistEntry) {
				waitlistTable(w, e, 0)
			})
		},
	}
	jf := joinCmd.Flags()
	jf.StringVar(&join.CustomerId, "customer", "", "customer id")
	jf.Int64Var(&join.Quantity, "quantity", 0, "tickets, or seats chosen best-available, wanted")
	jf.StringVar(&join.Section, "section", "", "for a seated event: the section of the offer (default any)")
	jf.StringVar(&join.IdempotencyKey, "idempotency-key", "", "retry key (default: a fresh one)")

	var leave bookdv1.LeaveWaitlistRequest
	leaveCmd := &cobra.Command{
		Use:   "leave ENTRY_ID",
		Short: "Take a waiting customer off the waitlist",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			leave.EntryId = args[0]
			return call(g, cmd, func(ctx context.Context, c *client.Client) (*bookdv1.WaitlistEntry, error) {
				return c.LeaveWaitlist(ctx, &leave)
			}, func(w io.Writer, e *bookdv1.WaitlistEntry) {
				waitlistTable(w, e, 0)
			})
		},
	}
	leaveCmd.Flags().StringVar(&leave.IdempotencyKey, "idempotency-key", "", "retry key (default: a fresh one)")

	var stale bool
	getCmd := &cobra.Command{
		Use:   "get ENTRY_ID",
		Short: "Show a waitlist entry: its place in the queue, or its offer (a hold) once made",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return call(g, cmd, func(ctx context.Context, c *client.Client) (*bookdv1.GetWaitlistEntryResponse, error) {
				return c.GetWaitlistEntry(ctx, args[0], readOpts(stale)...)
			}, entryTable)
		},
	}
	getCmd.Flags().BoolVar(&stale, "stale", false, "let the node that answers serve it from its own state")
	cmd.AddCommand(joinCmd, leaveCmd, getCmd)
	return cmd
}

func entryTable(w io.Writer, r *bookdv1.GetWaitlistEntryResponse) {
	waitlistTable(w, r.Entry, r.Position)
}
