package main

import (
	"context"
	"io"
	"time"

	"github.com/bookd/bookd/client"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/spf13/cobra"
	"google.golang.org/protobuf/types/known/durationpb"
)

func readOpts(stale bool) []client.ReadOption {
	if stale {
		return []client.ReadOption{client.Stale(0)}
	}
	return nil
}

// claimFlags are the flags of hold and book: what to claim, for whom.
type claimFlags struct {
	customer string
	quantity int64
	seatList string
	key      string
}

func (f *claimFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.customer, "customer", "", "customer id")
	fl.Int64Var(&f.quantity, "quantity", 0, "general-admission tickets")
	fl.StringVar(&f.seatList, "seats", "", "named seats, comma-separated; A1-A4 is A1 to A4")
	fl.StringVar(&f.key, "idempotency-key", "", "retry key (default: a fresh one)")
}

func newHoldCmd(g *globals) *cobra.Command {
	var f claimFlags
	var ttl time.Duration
	cmd := &cobra.Command{
		Use:   "hold EVENT_ID --customer ID (--quantity N | --seats A1,A2) [--ttl 10m]",
		Short: "Hold tickets or seats, all or nothing, until the hold expires",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := expandSeats(f.seatList)
			if err != nil {
				return err
			}
			req := &bookdv1.HoldRequest{EventId: args[0], CustomerId: f.customer, Quantity: f.quantity, Seats: s, IdempotencyKey: f.key}
			if ttl != 0 {
				req.Ttl = durationpb.New(ttl)
			}
			return call(g, cmd, func(ctx context.Context, c *client.Client) (*bookdv1.Hold, error) {
				return c.Hold(ctx, req)
			}, holdTable)
		},
	}
	f.register(cmd)
	cmd.Flags().DurationVar(&ttl, "ttl", 0, "how long the hold lasts (default 10m)")
	return cmd
}

func newBookCmd(g *globals) *cobra.Command {
	var f claimFlags
	var payment string
	cmd := &cobra.Command{
		Use:   "book EVENT_ID --customer ID (--quantity N | --seats A1,A2) [--payment-ref REF]",
		Short: "Hold and confirm in one step",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := expandSeats(f.seatList)
			if err != nil {
				return err
			}
			req := &bookdv1.BookRequest{EventId: args[0], CustomerId: f.customer, Quantity: f.quantity, Seats: s, IdempotencyKey: f.key, PaymentRef: payment}
			return call(g, cmd, func(ctx context.Context, c *client.Client) (*bookdv1.Booking, error) {
				return c.Book(ctx, req)
			}, func(w io.Writer, b *bookdv1.Booking) {
				bookingTable(w, b)
			})
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&payment, "payment-ref", "", "payment reference to store with the booking")
	return cmd
}

func newConfirmCmd(g *globals) *cobra.Command {
	var req bookdv1.ConfirmRequest
	cmd := &cobra.Command{
		Use:   "confirm HOLD_ID [--payment-ref REF]",
		Short: "Turn a hold into a booking before it expires",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req.HoldId = args[0]
			return call(g, cmd, func(ctx context.Context, c *client.Client) (*bookdv1.Booking, error) {
				return c.Confirm(ctx, &req)
			}, func(w io.Writer, b *bookdv1.Booking) {
				bookingTable(w, b)
			})
		},
	}
	cmd.Flags().StringVar(&req.PaymentRef, "payment-ref", "", "payment reference to store with the booking")
	cmd.Flags().StringVar(&req.IdempotencyKey, "idempotency-key", "", "retry key (default: a fresh one)")
	return cmd
}

func newReleaseCmd(g *globals) *cobra.Command {
	var req bookdv1.ReleaseHoldRequest
	cmd := &cobra.Command{
		Use:   "release HOLD_ID",
		Short: "Give a hold's tickets or seats back",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req.HoldId = args[0]
			return call(g, cmd, func(ctx context.Context, c *client.Client) (*bookdv1.Hold, error) {
				return c.ReleaseHold(ctx, &req)
			}, holdTable)
		},
	}
	cmd.Flags().StringVar(&req.IdempotencyKey, "idempotency-key", "", "retry key (default: a fresh one)")
	return cmd
}

func newBookingsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "bookings", Short: "Show, list and cancel bookings"}
	var stale bool
	get := &cobra.Command{
		Use:   "get BOOKING_ID",
		Short: "Show a booking",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return call(g, cmd, func(ctx context.Context, c *client.Client) (*bookdv1.Booking, error) {
				return c.GetBooking(ctx, args[0], readOpts(stale)...)
			}, func(w io.Writer, b *bookdv1.Booking) {
				bookingTable(w, b)
			})
		},
	}
	get.Flags().BoolVar(&stale, "stale", false, "let the node that answers serve it from its own state")
	var list bookdv1.ListBookingsRequest
	ls := &cobra.Command{
		Use:   "list EVENT_ID",
		Short: "List an event's bookings",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			list.EventId = args[0]
			return call(g, cmd, func(ctx context.Context, c *client.Client) (*bookdv1.ListBookingsResponse, error) {
				return c.ListBookings(ctx, &list)
			}, func(w io.Writer, resp *bookdv1.ListBookingsResponse) {
				bookingTable(w, resp.Bookings...)
			})
		},
	}
	ls.Flags().Int32Var(&list.PageSize, "page-size", 100, "bookings per page")
	ls.Flags().StringVar(&list.PageToken, "page-token", "", "token of the page to show")
	var cancelReq bookdv1.CancelBookingRequest
	cancel := &cobra.Command{
		Use:   "cancel BOOKING_ID",
		Short: "Cancel a booking and free its tickets or seats",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cancelReq.BookingId = args[0]
			return call(g, cmd, func(ctx context.Context, c *client.Client) (*bookdv1.Booking, error) {
				return c.CancelBooking(ctx, &cancelReq)
			}, func(w io.Writer, b *bookdv1.Booking) {
				bookingTable(w, b)
			})
		},
	}
	cancel.Flags().StringVar(&cancelReq.IdempotencyKey, "idempotency-key", "", "retry key (default: a fresh one)")
	cmd.AddCommand(get, ls, cancel)
	return cmd
}
