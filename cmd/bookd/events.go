package main

import (
	"context"
	"fmt"
	"github.com/bookd/bookd/client"
	"io"
	"strconv"
	"strings"
	"time"

	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/spf13/cobra"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func newEventsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "events", Short: "Create, list and show events"}
	cmd.AddCommand(newEventsCreateCmd(g), newEventsListCmd(g), newEventsGetCmd(g))
	return cmd
}

func newEventsCreateCmd(g *globals) *cobra.Command {
	var req bookdv1.CreateEventRequest
	var startsAt, seatList string
	cmd := &cobra.Command{
		Use:   "create --name NAME [--capacity N] [--seats A1-A20,B1]",
		Short: "Create an event with general-admission capacity, named seats, or both",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if startsAt != "" {
				t, err := time.Parse(time.RFC3339, startsAt)
				if err != nil {
					return usagef("--starts-at: want RFC 3339 like 2026-12-31T20:00:00Z: %v", err)
				}
				req.StartsAt = timestamppb.New(t)
			}
			s, err := expandSeats(seatList)
			if err != nil {
				return err
			}
			req.Seats = s
			return call(g, cmd, func(ctx context.Context, c *client.Client) (*bookdv1.Event, error) {
				return c.CreateEvent(ctx, &req)
			}, func(w io.Writer, ev *bookdv1.Event) {
				eventTable(w, ev)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&req.Name, "name", "", "event name")
	f.Int64Var(&req.Capacity, "capacity", 0, "general-admission tickets")
	f.StringVar(&seatList, "seats", "", "named seats, comma-separated; A1-A20 is A1 to A20")
	f.StringVar(&startsAt, "starts-at", "", "start time, RFC 3339")
	f.StringVar(&req.IdempotencyKey, "idempotency-key", "", "retry key (default: a fresh one)")
	return cmd
}

// expandSeats parses "A1-A3,B7" into A1 A2 A3 B7.
func expandSeats(list string) ([]string, error) {
	var out []string
	for _, part := range strings.Split(list, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		from, to, isRange := strings.Cut(part, "-")
		if !isRange {
			out = append(out, part)
			continue
		}
		p1, n1, ok1 := splitLabel(from)
		p2, n2, ok2 := splitLabel(to)
		if !ok1 || !ok2 || p1 != p2 || n2 < n1 || n2-n1 >= 20000 {
			return nil, usagef("--seats: %q is not a range like A1-A20", part)
		}
		for n := n1; n <= n2; n++ {
			out = append(out, p1+strconv.Itoa(n))
		}
	}
	return out, nil
}

// splitLabel splits "AB12" into "AB" and 12.
func splitLabel(s string) (string, int, bool) {
	i := strings.IndexFunc(s, func(r rune) bool { return r >= '0' && r <= '9' })
	if i < 0 {
		return "", 0, false
	}
	n, err := strconv.Atoi(s[i:])
	return s[:i], n, err == nil
}

func newEventsListCmd(g *globals) *cobra.Command {
	var req bookdv1.ListEventsRequest
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List events",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return call(g, cmd, func(ctx context.Context, c *client.Client) (*bookdv1.ListEventsResponse, error) {
				return c.ListEvents(ctx, &req)
			}, func(w io.Writer, resp *bookdv1.ListEventsResponse) {
				eventTable(w, resp.Events...)
				if resp.NextPageToken != "" {
					fmt.Fprintf(w, "(more: --page-token %s)\n", resp.NextPageToken)
				}
			})
		},
	}
	cmd.Flags().Int32Var(&req.PageSize, "page-size", 100, "events per page")
	cmd.Flags().StringVar(&req.PageToken, "page-token", "", "token of the page to show")
	return cmd
}

func newEventsGetCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "get EVENT_ID",
		Short: "Show an event",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return call(g, cmd, func(ctx context.Context, c *client.Client) (*bookdv1.Event, error) {
				return c.GetEvent(ctx, args[0])
			}, func(w io.Writer, ev *bookdv1.Event) {
				eventTable(w, ev)
			})
		},
	}
}

func newAvailabilityCmd(g *globals) *cobra.Command {
	var stale bool
	cmd := &cobra.Command{
		Use:   "availability EVENT_ID",
		Short: "Show what of an event can still be held",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return call(g, cmd, func(ctx context.Context, c *client.Client) (*bookdv1.GetAvailabilityResponse, error) {
				return c.Availability(ctx, args[0], readOpts(stale)...)
			}, func(w io.Writer, av *bookdv1.GetAvailabilityResponse) {
				row(w, "EVENT", "CAPACITY", "AVAILABLE", "HELD", "BOOKED", "FREE SEATS", "HELD SEATS", "BOOKED SEATS")
				row(w, av.EventId, av.Capacity, av.AvailableQuantity, av.HeldQuantity, av.BookedQuantity, seats(av.FreeSeats), av.HeldSeats, av.BookedSeats)
			})
		},
	}
	cmd.Flags().BoolVar(&stale, "stale", false, "let the node that answers serve it from its own, possibly lagging, state")
	return cmd
}
