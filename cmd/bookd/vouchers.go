package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/bookd/bookd/client"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/spf13/cobra"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func newVouchersCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "vouchers",
		Short: "Create, list and show voucher codes that take an amount or a percentage off an order",
	}
	cmd.AddCommand(newVouchersCreateCmd(g), newVouchersListCmd(g), newVouchersGetCmd(g))
	return cmd
}

func newVouchersCreateCmd(g *globals) *cobra.Command {
	v := &bookdv1.Voucher{}
	var key, from, until string
	cmd := &cobra.Command{
		Use: "create --code CODE (--amount-off N --currency CUR | --percent-off P) --max-redemptions N\n" +
			"  [--event ID]... [--product ID]... [--valid-from TIME] [--valid-until TIME]",
		Short: "Create a voucher code; holds and bookings redeem it with --voucher",
		Long: `Create a voucher code; holds and bookings redeem it with --voucher. It takes --amount-off
(minor units of --currency: 500 is 5.00 EUR) or --percent-off off the order's items on
its --event and --product (any item when neither is given), and may be in use by
--max-redemptions live holds and bookings at once: a hold that expires or is released
gives its redemption back.`,
		Example: `  bookd vouchers create --code SUMMER5 --amount-off 500 --currency EUR --max-redemptions 100 \
    --product pr_3 --valid-from 2026-06-01 --valid-until 2026-09-01
  bookd vouchers create --code STAFF10 --percent-off 10 --event ev_1 --event ev_2 --max-redemptions 5`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for _, tf := range []struct {
				flag, value string
				into        **timestamppb.Timestamp
			}{{"--valid-from", from, &v.ValidFrom}, {"--valid-until", until, &v.ValidUntil}} {
				if tf.value != "" {
					t, err := parseTime(tf.flag, tf.value)
					if err != nil {
						return err
					}
					*tf.into = timestamppb.New(t)
				}
			}
			req := &bookdv1.CreateVoucherRequest{Voucher: v, IdempotencyKey: key}
			return call(g, cmd, func(ctx context.Context, c *client.Client) (*bookdv1.Voucher, error) {
				return c.CreateVoucher(ctx, req)
			}, func(w io.Writer, v *bookdv1.Voucher) { voucherTable(w, v) })
		},
	}
	f := cmd.Flags()
	f.StringVar(&v.Code, "code", "", "the code customers give: 4 to 64 letters, digits, '_' and '-'")
	f.Int64Var(&v.AmountOff, "amount-off", 0, "minor units of --currency taken off (500 is 5.00 EUR), at most the items' amount")
	f.StringVar(&v.Currency, "currency", "", "with --amount-off: the ISO 4217 currency of the orders it applies to")
	f.Int32Var(&v.PercentOff, "percent-off", 0, "1 to 100 percent taken off, rounded down")
	f.StringArrayVar(&v.EventIds, "event", nil, "valid for this event's items (repeatable)")
	f.StringArrayVar(&v.ProductIds, "product", nil, "valid for the items of this product's events (repeatable)")
	f.StringVar(&from, "valid-from", "", "holds may redeem it from this time, RFC 3339 or a date (default: now)")
	f.StringVar(&until, "valid-until", "", "...until this time, RFC 3339 or a date (default: for ever)")
	f.Int64Var(&v.MaxRedemptions, "max-redemptions", 0, "live holds and bookings that may use it at once")
	f.StringVar(&key, "idempotency-key", "", "retry key (default: a fresh one)")
	_ = cmd.MarkFlagRequired("code")
	_ = cmd.MarkFlagRequired("max-redemptions")
	cmd.MarkFlagsOneRequired("amount-off", "percent-off")
	cmd.MarkFlagsMutuallyExclusive("amount-off", "percent-off")
	cmd.MarkFlagsRequiredTogether("amount-off", "currency")
	return cmd
}

func newVouchersListCmd(g *globals) *cobra.Command {
	var req bookdv1.ListVouchersRequest
	var lf listFlags
	cmd := &cobra.Command{
		Use:   "list [--all]",
		Short: "List vouchers by code, with their redemptions",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := lf.check(); err != nil {
				return err
			}
			req.Read = lf.read()
			return call(g, cmd, func(ctx context.Context, c *client.Client) (*bookdv1.ListVouchersResponse, error) {
				return pages(ctx, &lf, c.ListVouchers, &req, func(r, more *bookdv1.ListVouchersResponse) {
					r.Vouchers = append(r.Vouchers, more.Vouchers...)
					r.NextPageToken = more.NextPageToken
				})
			}, func(w io.Writer, res *bookdv1.ListVouchersResponse) {
				voucherTable(w, res.GetVouchers()...)
				moreNote(w, res.GetNextPageToken())
			})
		},
	}
	lf.register(cmd.Flags(), "vouchers", &req.PageSize, &req.PageToken)
	return cmd
}

func newVouchersGetCmd(g *globals) *cobra.Command {
	var stale bool
	cmd := &cobra.Command{
		Use:   "get CODE",
		Short: "Show a voucher and how many live holds and bookings use it",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return call(g, cmd, func(ctx context.Context, c *client.Client) (*bookdv1.Voucher, error) {
				return c.GetVoucher(ctx, args[0], readOpts(stale)...)
			}, func(w io.Writer, v *bookdv1.Voucher) { voucherTable(w, v) })
		},
	}
	cmd.Flags().BoolVar(&stale, "stale", false, "let the node that answers serve it from its own, possibly lagging, state")
	return cmd
}

// voucherTable shows vouchers: what they take off, on what, when, and
// their redemptions.
func voucherTable(w io.Writer, vs ...*bookdv1.Voucher) {
	row(w, "CODE", "OFF", "VALID FOR", "FROM", "UNTIL", "REDEEMED", "MAX", "CREATED")
	for _, v := range vs {
		off := moneyText(v.GetAmountOff(), v.GetCurrency())
		if v.GetPercentOff() > 0 {
			off = fmt.Sprintf("%d%%", v.GetPercentOff())
		}
		scope := strings.Join(append(append([]string(nil), v.GetEventIds()...), v.GetProductIds()...), ",")
		if scope == "" {
			scope = "any event"
		}
		row(w, v.GetCode(), off, scope, ts(v.GetValidFrom()), ts(v.GetValidUntil()), v.GetRedeemed(), v.GetMaxRedemptions(), ts(v.GetCreatedAt()))
	}
}
