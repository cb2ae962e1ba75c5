package main

import (
	"context"
	"fmt"
	"github.com/bookd/bookd/client"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/spf13/cobra"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// show prints msg as JSON (-o json) or as the table drawn by table.
func (g *globals) show(cmd *cobra.Command, msg proto.Message, table func(w io.Writer)) error {
	out := cmd.OutOrStdout()
	if g.output == "json" {
		b, err := protojson.MarshalOptions{Multiline: true}.Marshal(msg)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(out, string(b))
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	table(tw)
	return tw.Flush()
}

func row(w io.Writer, cols ...any) {
	s := make([]string, len(cols))
	for i, c := range cols {
		s[i] = fmt.Sprint(c)
	}
	fmt.Fprintln(w, strings.Join(s, "\t"))
}

func ts(t *timestamppb.Timestamp) string {
	if t == nil {
		return "-"
	}
	return t.AsTime().Local().Format(time.DateTime)
}

func seats(s []string) string {
	if len(s) == 0 {
		return "-"
	}
	return strings.Join(s, ",")
}

// orDash shows an empty string as "-".
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func productTable(w io.Writer, products ...*bookdv1.Product) {
	row(w, "ID", "NAME", "DESCRIPTION", "CREATED")
	for _, p := range products {
		row(w, p.Id, p.Name, orDash(p.Description), ts(p.CreatedAt))
	}
}

func holdTable(w io.Writer, h *bookdv1.Hold) {
	row(w, "HOLD", "EVENT", "CUSTOMER", "QUANTITY", "SEATS", "STATUS", "EXPIRES", "CAP")
	row(w, h.Id, h.EventId, h.CustomerId, h.Quantity, seats(h.Seats), strings.TrimPrefix(h.Status.String(), "HOLD_STATUS_"), ts(h.ExpiresAt), ts(h.MaxExpiresAt))
}

// waitlistTable shows an entry; position is 0 when not waiting.
func waitlistTable(w io.Writer, e *bookdv1.WaitlistEntry, position int64) {
	row(w, "ENTRY", "EVENT", "CUSTOMER", "QUANTITY", "SECTION", "STATUS", "POSITION", "OFFER")
	pos := "-"
	if position > 0 {
		pos = fmt.Sprint(position)
	}
	row(w, e.Id, e.EventId, e.CustomerId, e.Quantity, orDash(e.Section), strings.TrimPrefix(e.Status.String(), "WAITLIST_STATUS_"), pos, orDash(e.HoldId))
}

// changeLine renders one change of the feed as a line: cursor, time, kind,
// event, then the fields the change has.
func changeLine(c *bookdv1.Change) string {
	parts := []string{c.Cursor, c.Time.AsTime().Local().Format("2006-01-02 15:04:05.000"), c.Kind, orDash(c.EventId)}
	for _, f := range []struct{ name, value string }{
		{"product", c.ProductId}, {"hold", c.HoldId}, {"booking", c.BookingId},
		{"waitlist", c.WaitlistEntryId}, {"customer", c.CustomerId},
	} {
		if f.value != "" {
			parts = append(parts, f.name+"="+f.value)
		}
	}
	if c.Quantity != 0 {
		parts = append(parts, fmt.Sprintf("quantity=%d", c.Quantity))
	}
	if len(c.Seats) > 0 {
		parts = append(parts, "seats="+strings.Join(c.Seats, ","))
	}
	return strings.Join(parts, " ")
}

func bookingTable(w io.Writer, bookings ...*bookdv1.Booking) {
	row(w, "BOOKING", "EVENT", "CUSTOMER", "QUANTITY", "SEATS", "STATUS", "CREATED")
	for _, b := range bookings {
		row(w, b.Id, b.EventId, b.CustomerId, b.Quantity, seats(b.Seats), strings.TrimPrefix(b.Status.String(), "BOOKING_STATUS_"), ts(b.CreatedAt))
	}
}

// call runs one client call against the cluster and shows its answer.
func call[M proto.Message](g *globals, cmd *cobra.Command, do func(context.Context, *client.Client) (M, error), table func(io.Writer, M)) error {
	c, ctx, done, err := g.client(cmd)
	if err != nil {
		return err
	}
	defer done()
	m, err := do(ctx, c)
	if err != nil {
		return err
	}
	return g.show(cmd, m, func(w io.Writer) { table(w, m) })
}
