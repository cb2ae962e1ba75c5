package main

import (
	"context"
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
	cmd := &cobra.Command{Use: "events", Short: "Create, list, show, close and cancel events"}
	cmd.AddCommand(newEventsCreateCmd(g), newEventsListCmd(g), newEventsGetCmd(g), newEventsCloseCmd(g), newEventsCancelCmd(g))
	return cmd
}

func newEventsCreateCmd(g *globals) *cobra.Command {
	var req bookdv1.CreateEventRequest
	var startsAt, seatList string
	var sections []string
	var offerTTL time.Duration
	cmd := &cobra.Command{
		Use:   "create --name NAME [--capacity N] [--seats A1-A20,B1] [--section NAME:ROW=SEATS;...] [--product ID] [--starts-at TIME]",
		Short: "Create an event (a departure) with general-admission capacity, a seat map, named seats, or a mix",
		Example: `  bookd events create --name "Opening night" --capacity 100 --seats A1-A10
  bookd events create --name "Hamlet" --product pr_3 --starts-at 2026-12-31T20:00:00Z \
    --section 'STALLS:A=20/1,20;B=22' --section 'CIRCLE:A=12' --max-per-customer 6`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if startsAt != "" {
				t, err := parseTime("--starts-at", startsAt)
				if err != nil {
					return err
				}
				req.StartsAt = timestamppb.New(t)
			}
			s, err := expandSeats(seatList)
			if err != nil {
				return err
			}
			req.Seats = s
			for _, spec := range sections {
				sec, err := parseSection(spec)
				if err != nil {
					return err
				}
				req.Sections = append(req.Sections, sec)
			}
			if req.WaitlistOfferTtl, err = ttlFlag(cmd, "offer-ttl", offerTTL); err != nil {
				return err
			}
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
	f.StringVar(&seatList, "seats", "", "named seats outside any seat map, comma-separated; A1-A20 is A1 to A20")
	f.StringArrayVar(&sections, "section", nil, sectionSyntax)
	f.StringVar(&req.ProductId, "product", "", "the product this event is a departure of (bookd products create)")
	f.StringVar(&startsAt, "starts-at", "", "start time, RFC 3339 (2026-12-31T20:00:00Z) or a date (2026-12-31, UTC)")
	f.Int64Var(&req.MaxTicketsPerCustomer, "max-per-customer", 0, "most tickets one customer may hold and book together (0: no limit)")
	f.Int64Var(&req.MaxTicketsPerHold, "max-per-hold", 0, "most tickets one hold or booking may take (0: the server's limit, 50)")
	f.DurationVar(&offerTTL, "offer-ttl", 0, "how long a waitlist offer's hold lasts (default 10m)")
	f.StringVar(&req.IdempotencyKey, "idempotency-key", "", "retry key (default: a fresh one)")
	return cmd
}

// parseTime reads an RFC 3339 time or a date (midnight UTC).
func parseTime(flag, s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, usagef("%s: %q is not an RFC 3339 time like 2026-12-31T20:00:00Z or a date like 2026-12-31", flag, s)
}

// expandSeats parses "A1-A3,B7,DECK-A-4,DECK-B-1..3" into A1 A2 A3 B7
// DECK-A-4 DECK-B-1 DECK-B-2 DECK-B-3. A part with one dash is a range of
// labels like A1-A20; seat-map labels (SECTION-ROW-N) have two, and
// LABEL..N ranges over a row's seat numbers. An empty list is no seats; an
// empty item in a list is a mistake.
func expandSeats(list string) ([]string, error) {
	if strings.TrimSpace(list) == "" {
		return nil, nil
	}
	var out []string
	for i, part := range strings.Split(list, ",") {
		part = strings.TrimSpace(part)
		from, to := part, ""
		switch {
		case part == "":
			return nil, usagef("--seats %q: item %d is empty (two commas in a row, or one at an end)", list, i+1)
		case strings.Contains(part, ".."):
			from, to, _ = strings.Cut(part, "..")
			p, n1, ok1 := splitLabel(from)
			n2, err := strconv.Atoi(to)
			if !ok1 || err != nil || n2 < n1 || n2-n1 >= 20000 {
				return nil, usagef("--seats: %q is not a range like DECK-A-1..8", part)
			}
			for n := n1; n <= n2; n++ {
				out = append(out, p+strconv.Itoa(n))
			}
		case strings.Count(part, "-") == 1:
			from, to, _ = strings.Cut(part, "-")
			p1, n1, ok1 := splitLabel(from)
			p2, n2, ok2 := splitLabel(to)
			if !ok1 || !ok2 || p1 != p2 || n2 < n1 || n2-n1 >= 20000 {
				return nil, usagef("--seats: %q is not a range like A1-A20", part)
			}
			for n := n1; n <= n2; n++ {
				out = append(out, p1+strconv.Itoa(n))
			}
		default:
			out = append(out, part)
		}
	}
	return out, nil
}

// splitLabel splits "AB12" into "AB" and 12, and "DECK-A-12" into "DECK-A-"
// and 12.
func splitLabel(s string) (string, int, bool) {
	i := strings.LastIndexFunc(s, func(r rune) bool { return r < '0' || r > '9' }) + 1
	if i == len(s) {
		return "", 0, false
	}
	n, err := strconv.Atoi(s[i:])
	return s[:i], n, err == nil
}
func newEventsListCmd(g *globals) *cobra.Command {
	var req bookdv1.ListEventsRequest
	var from, to string
	var lf listFlags
	cmd := &cobra.Command{
		Use:   "list [--product ID] [--from TIME] [--to TIME] [--query TEXT] [--min-available N] [--all]",
		Short: "List events by start time, filtered by product, start time, name and availability",
		Example: `  bookd events list --product pr_3 --from 2026-12-01 --to 2027-01-01 --min-available 2
  bookd events list --query hamlet --all -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for _, tf := range []struct {
				flag, value string
				into        **timestamppb.Timestamp
			}{{"--from", from, &req.StartsAfter}, {"--to", to, &req.StartsBefore}} {
				if tf.value != "" {
					t, err := parseTime(tf.flag, tf.value)
					if err != nil {
						return err
					}
					*tf.into = timestamppb.New(t)
				}
			}
			if err := lf.check(); err != nil {
				return err
			}
			req.Read = lf.read()
			return call(g, cmd, func(ctx context.Context, c *client.Client) (*bookdv1.ListEventsResponse, error) {
				return pages(ctx, &lf, c.ListEvents, &req, func(r *bookdv1.ListEventsResponse, more *bookdv1.ListEventsResponse) {
					r.Events = append(r.Events, more.Events...)
					r.NextPageToken = more.NextPageToken
				})
			}, func(w io.Writer, resp *bookdv1.ListEventsResponse) {
				eventTable(w, resp.Events...)
				moreNote(w, resp.NextPageToken)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&req.ProductId, "product", "", "only departures of this product")
	f.StringVar(&from, "from", "", "only events starting at or after this time (RFC 3339 or a date)")
	f.StringVar(&to, "to", "", "only events starting before this time (RFC 3339 or a date)")
	f.StringVar(&req.Query, "query", "", "only events whose name contains this text, ignoring case")
	f.Int64Var(&req.MinAvailable, "min-available", 0, "only events on sale with at least this many tickets or seats free")
	lf.register(f, "events", &req.PageSize, &req.PageToken)
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
