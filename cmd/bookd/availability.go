package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/bookd/bookd/client"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/spf13/cobra"
)

func newAvailabilityCmd(g *globals) *cobra.Command {
	var stale, list bool
	cmd := &cobra.Command{
		Use:   "availability EVENT_ID",
		Short: "Show what of an event can still be held: GA tickets, and seats per section",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return call(g, cmd, func(ctx context.Context, c *client.Client) (*bookdv1.GetAvailabilityResponse, error) {
				return c.Availability(ctx, args[0], readOpts(stale)...)
			}, func(w io.Writer, av *bookdv1.GetAvailabilityResponse) {
				availabilityTable(w, av, list)
			})
		},
	}
	cmd.Flags().BoolVar(&stale, "stale", false, "let the node that answers serve it from its own, possibly lagging, state")
	cmd.Flags().BoolVar(&list, "free-seats", false, "also list the free seats by label")
	return cmd
}

// availabilityTable shows the event's totals, then a row per section.
func availabilityTable(w io.Writer, av *bookdv1.GetAvailabilityResponse, listSeats bool) {
	row(w, "EVENT", "STATUS", "CAPACITY", "AVAILABLE", "HELD", "BOOKED", "FREE SEATS", "HELD SEATS", "BOOKED SEATS", "BLOCKED SEATS", "WAITLIST")
	row(w, av.EventId, strings.TrimPrefix(av.Status.String(), "EVENT_STATUS_"), av.Capacity, av.AvailableQuantity, av.HeldQuantity, av.BookedQuantity,
		len(av.FreeSeats), av.HeldSeats, av.BookedSeats, av.BlockedSeats, av.WaitlistLength)
	if len(av.Sections) > 0 {
		fmt.Fprintln(w)
		row(w, "SECTION", "FREE", "HELD", "BOOKED", "BLOCKED")
		for _, s := range av.Sections {
			name := s.Section
			if name == "" {
				name = "(by label)"
			}
			row(w, name, s.FreeSeats, s.HeldSeats, s.BookedSeats, s.BlockedSeats)
		}
	}
	categoryAvailabilityTable(w, av.Categories)
	if listSeats {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "free seats:", seats(av.FreeSeats))
	}
}
