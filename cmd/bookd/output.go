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

func eventTable(w io.Writer, events ...*bookdv1.Event) {
	row(w, "ID", "NAME", "STARTS", "CAPACITY", "SEATS")
	for _, e := range events {
		row(w, e.Id, e.Name, ts(e.StartsAt), e.Capacity, len(e.Seats))
	}
}

func holdTable(w io.Writer, h *bookdv1.Hold) {
	row(w, "HOLD", "EVENT", "CUSTOMER", "QUANTITY", "SEATS", "STATUS", "EXPIRES")
	row(w, h.Id, h.EventId, h.CustomerId, h.Quantity, seats(h.Seats), strings.TrimPrefix(h.Status.String(), "HOLD_STATUS_"), ts(h.ExpiresAt))
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
