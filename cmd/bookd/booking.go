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
	best     int64
	section  string
	category string
	voucher  string
	key      string
}

func (f *claimFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.customer, "customer", "", "customer id")
	fl.Int64Var(&f.quantity, "quantity", 0, "general-admission tickets")
	fl.StringVar(&f.seatList, "seats", "", "named seats, comma-separated; A1-A4 is A1 to A4, DECK-A-1..4 is DECK-A-1 to DECK-A-4")
	fl.Int64Var(&f.best, "best-available", 0, "this many seats chosen by the cluster: adjacent in one row where possible, front rows first")
	fl.StringVar(&f.section, "section", "", "with --best-available: the section to choose in (default any)")
	fl.StringVar(&f.category, "category", "", "with --quantity: the ticket category (required on an event with GA categories)")
	fl.StringVar(&f.voucher, "voucher", "", "a voucher code to redeem on the order (bookd vouchers create)")
	fl.StringVar(&f.key, "idempotency-key", "", "retry key (default: a fresh one)")
}

// claim is what the flags ask for: a quantity (of a category) and seats,
// or best-available seats in a section.
type claim struct {
	quantity      int64
	category      string
	seats         []string
	bestAvailable bool
	section       string
}

func (f *claimFlags) claim() (claim, error) {
	s, err := expandSeats(f.seatList)
	if err != nil {
		return claim{}, err
	}
	c := claim{quantity: f.quantity, category: f.category, seats: s, section: f.section}
	switch {
	case f.best < 0:
		return claim{}, usagef("--best-available must be a positive number of seats")
	case f.best > 0 && (f.quantity != 0 || len(s) > 0):
		return claim{}, usagef("--best-available chooses the seats: give it without --quantity and --seats")
	case f.best > 0:
		c.quantity, c.bestAvailable = f.best, true
	case f.section != "":
		return claim{}, usagef("--section goes with --best-available")
	}
	return c, nil
}

// ttlFlag is the hold lifetime flag name gave, d, or nil (the server's
// default) when it was not given; given, it must be positive: 0 is not a
// way to ask for the default.
func ttlFlag(cmd *cobra.Command, name string, d time.Duration) (*durationpb.Duration, error) {
	if !cmd.Flags().Changed(name) {
		return nil, nil
	}
	if d <= 0 {
		return nil, usagef("--%s %v: give how long the hold lasts, like 10m (leave --%s out for the default)", name, d, name)
	}
	return durationpb.New(d), nil
}

// errNoCustomer: every claim is some customer's.
var errNoCustomer = usagef("--customer is required")

func newHoldCmd(g *globals) *cobra.Command {
	var f claimFlags
	var ttl time.Duration
	var payment, email string
	cmd := &cobra.Command{
		Use: "hold (EVENT_ID (--quantity N [--category C] | --seats A1,A2 | --best-available N [--section S]) | ITEM...) --customer ID\n" +
			"  [--voucher CODE] [--ttl 10m] [--payment-ref REF] [--contact-email ADDR]",
		Short: "Hold tickets or seats of one event or an order of several, all or nothing, until the hold expires (hold get HOLD_ID shows it, hold extend HOLD_ID moves the expiry)",
		Long:  "Hold tickets or seats of one event or an order of several, all or nothing, until the hold expires.\n\n" + itemSyntax,
		Example: `  bookd hold ev_1 --customer ann --quantity 2 --ttl 15m
  bookd hold ev_1:adult=2,child=2 ev_7:adult=2 --customer ann --voucher SUMMER5
  bookd hold ev_3:seats=STALLS-A-1+STALLS-A-2 ev_3:best=4@CIRCLE ev_5:3 --customer ann`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := f.order(args)
			if err != nil {
				return err
			}
			d, err := ttlFlag(cmd, "ttl", ttl)
			if err != nil {
				return err
			}
			cl := o.claim
			req := &bookdv1.HoldRequest{EventId: o.eventID, CustomerId: f.customer, Quantity: cl.quantity, Category: cl.category, Seats: cl.seats,
				BestAvailable: cl.bestAvailable, Section: cl.section, Items: o.items, VoucherCode: f.voucher, IdempotencyKey: f.key, Ttl: d,
				PaymentRef: payment, ContactEmail: email}
			return call(g, cmd, func(ctx context.Context, c *client.Client) (*bookdv1.Hold, error) {
				h, err := c.Hold(ctx, req)
				return h, o.explain(err)
			}, holdView)
		},
	}
	f.register(cmd)
	cmd.Flags().DurationVar(&ttl, "ttl", 0, "how long the hold lasts (default 10m)")
	cmd.Flags().StringVar(&payment, "payment-ref", "", "the payment authorised for the hold (kept for its booking; a payments worker cancels it if the hold ends unconfirmed)")
	cmd.Flags().StringVar(&email, "contact-email", "", "where the receipt goes (kept for its booking)")
	cmd.AddCommand(newHoldGetCmd(g), newHoldExtendCmd(g))
	return cmd
}

func newBookCmd(g *globals) *cobra.Command {
	var f claimFlags
	var payment, email string
	cmd := &cobra.Command{
		Use: "book (EVENT_ID (--quantity N [--category C] | --seats A1,A2 | --best-available N [--section S]) | ITEM...) --customer ID\n" +
			"  [--voucher CODE] [--payment-ref REF] [--contact-email ADDR]",
		Short: "Hold and confirm in one step",
		Long:  "Hold and confirm in one step: tickets or seats of one event, or an order of several items.\n\n" + itemSyntax,
		Example: `  bookd book ev_1 --customer ann --seats A1-A4
  bookd book ev_1:adult=2,child=1 --customer ann --voucher SUMMER5 --payment-ref pi_42`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := f.order(args)
			if err != nil {
				return err
			}
			cl := o.claim
			req := &bookdv1.BookRequest{EventId: o.eventID, CustomerId: f.customer, Quantity: cl.quantity, Category: cl.category, Seats: cl.seats,
				BestAvailable: cl.bestAvailable, Section: cl.section, Items: o.items, VoucherCode: f.voucher, IdempotencyKey: f.key,
				PaymentRef: payment, ContactEmail: email}
			return call(g, cmd, func(ctx context.Context, c *client.Client) (*bookdv1.Booking, error) {
				b, err := c.Book(ctx, req)
				return b, o.explain(err)
			}, bookingView)
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&payment, "payment-ref", "", "payment reference to store with the booking")
	cmd.Flags().StringVar(&email, "contact-email", "", "where the receipt goes")
	return cmd
}

func newConfirmCmd(g *globals) *cobra.Command {
	var req bookdv1.ConfirmRequest
	cmd := &cobra.Command{
		Use:   "confirm HOLD_ID [--payment-ref REF] [--contact-email ADDR]",
		Short: "Turn a hold into a booking before it expires",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req.HoldId = args[0]
			return call(g, cmd, func(ctx context.Context, c *client.Client) (*bookdv1.Booking, error) {
				return c.Confirm(ctx, &req)
			}, bookingView)
		},
	}
	cmd.Flags().StringVar(&req.PaymentRef, "payment-ref", "", "payment reference to store with the booking (default: the hold's)")
	cmd.Flags().StringVar(&req.ContactEmail, "contact-email", "", "where the receipt goes (default: the hold's)")
	cmd.Flags().StringVar(&req.IdempotencyKey, "idempotency-key", "", "retry key (default: a fresh one)")
	return cmd
}

func newHoldGetCmd(g *globals) *cobra.Command {
	var stale bool
	cmd := &cobra.Command{
		Use:   "get HOLD_ID",
		Short: "Show a hold: its seats or tickets, status and expiry",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return call(g, cmd, func(ctx context.Context, c *client.Client) (*bookdv1.Hold, error) {
				return c.GetHold(ctx, args[0], readOpts(stale)...)
			}, holdView)
		},
	}
	cmd.Flags().BoolVar(&stale, "stale", false, "let the node that answers serve it from its own state")
	return cmd
}

func newHoldExtendCmd(g *globals) *cobra.Command {
	var req bookdv1.ExtendHoldRequest
	var ttl time.Duration
	cmd := &cobra.Command{
		Use:   "extend HOLD_ID --ttl 10m",
		Short: "Make an active hold expire this long from now (never past its cap, CAP in the table)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if ttl <= 0 {
				return usagef("--ttl: give how long from now the hold should last, like 10m")
			}
			req.HoldId, req.Ttl = args[0], durationpb.New(ttl)
			return call(g, cmd, func(ctx context.Context, c *client.Client) (*bookdv1.Hold, error) {
				return c.ExtendHold(ctx, &req)
			}, holdView)
		},
	}
	cmd.Flags().DurationVar(&ttl, "ttl", 0, "how long from now the hold lasts (1s to 1h)")
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
			}, holdView)
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
			}, bookingView)
		},
	}
	get.Flags().BoolVar(&stale, "stale", false, "let the node that answers serve it from its own state")
	var list bookdv1.ListBookingsRequest
	var lf listFlags
	ls := &cobra.Command{
		Use:   "list [EVENT_ID] [--event ID] [--customer ID] [--all]",
		Short: "List the bookings of an event, of a customer, or of a customer at an event",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				if list.EventId != "" && list.EventId != args[0] {
					return usagef("give the event as an argument or as --event, not both")
				}
				list.EventId = args[0]
			}
			if list.EventId == "" && list.CustomerId == "" {
				return usagef("give --event, --customer or both")
			}
			if err := lf.check(); err != nil {
				return err
			}
			list.Read = lf.read()
			return call(g, cmd, func(ctx context.Context, c *client.Client) (*bookdv1.ListBookingsResponse, error) {
				return pages(ctx, &lf, c.ListBookings, &list, func(r, more *bookdv1.ListBookingsResponse) {
					r.Bookings = append(r.Bookings, more.Bookings...)
					r.NextPageToken = more.NextPageToken
				})
			}, func(w io.Writer, resp *bookdv1.ListBookingsResponse) {
				bookingRows(w, resp.Bookings...)
				moreNote(w, resp.NextPageToken)
			})
		},
	}
	ls.Flags().StringVar(&list.EventId, "event", "", "only this event's bookings")
	ls.Flags().StringVar(&list.CustomerId, "customer", "", "only this customer's bookings")
	lf.register(ls.Flags(), "bookings", &list.PageSize, &list.PageToken)
	var cancelReq bookdv1.CancelBookingRequest
	cancel := &cobra.Command{
		Use:   "cancel BOOKING_ID [--item N]...",
		Short: "Cancel a booking, or some of its items, and free their tickets or seats",
		Long: "Cancel a booking, or with --item only some of its items (numbered from 0, as bookd bookings get shows them),\n" +
			"and free their tickets or seats. The booking is cancelled once all of its items are; REFUNDED is what its\n" +
			"cancellations gave back so far.",
		Example: `  bookd bookings cancel bk_1
  bookd bookings cancel bk_1 --item 1 --item 2`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cancelReq.BookingId = args[0]
			return call(g, cmd, func(ctx context.Context, c *client.Client) (*bookdv1.Booking, error) {
				return c.CancelBooking(ctx, &cancelReq)
			}, bookingView)
		},
	}
	cancel.Flags().Int32SliceVar(&cancelReq.Items, "item", nil, "cancel only this item of the booking (repeatable; default: the whole booking)")
	cancel.Flags().StringVar(&cancelReq.IdempotencyKey, "idempotency-key", "", "retry key (default: a fresh one)")
	cmd.AddCommand(get, ls, cancel)
	return cmd
}
