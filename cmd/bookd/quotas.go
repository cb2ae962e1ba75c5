package main

import (
	"context"
	"io"

	"github.com/bookd/bookd/client"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/spf13/cobra"
)

func newQuotasCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "quotas",
		Short: "Create and show quotas: limits of tickets shared by several events (bookd events create --quota)",
	}
	cmd.AddCommand(newQuotasCreateCmd(g), newQuotasGetCmd(g))
	return cmd
}

func newQuotasCreateCmd(g *globals) *cobra.Command {
	var req bookdv1.CreateQuotaRequest
	cmd := &cobra.Command{
		Use:     "create --name NAME --capacity N",
		Short:   "Create a quota; give its id to `bookd events create --quota` on each event that shares it",
		Example: `  bookd quotas create --name "Bus 1" --capacity 50`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return call(g, cmd, func(ctx context.Context, c *client.Client) (*bookdv1.Quota, error) {
				return c.CreateQuota(ctx, &req)
			}, quotaTable)
		},
	}
	f := cmd.Flags()
	f.StringVar(&req.Name, "name", "", "quota name")
	f.Int64Var(&req.Capacity, "capacity", 0, "most tickets held and booked at once across the quota's events")
	f.StringVar(&req.IdempotencyKey, "idempotency-key", "", "retry key (default: a fresh one)")
	return cmd
}

func newQuotasGetCmd(g *globals) *cobra.Command {
	var stale bool
	cmd := &cobra.Command{
		Use:   "get QUOTA_ID",
		Short: "Show a quota and the tickets its events have taken",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return call(g, cmd, func(ctx context.Context, c *client.Client) (*bookdv1.Quota, error) {
				return c.GetQuota(ctx, args[0], readOpts(stale)...)
			}, quotaTable)
		},
	}
	cmd.Flags().BoolVar(&stale, "stale", false, "let the node that answers serve it from its own, possibly lagging, state")
	return cmd
}

func quotaTable(w io.Writer, q *bookdv1.Quota) {
	row(w, "QUOTA", "NAME", "CAPACITY", "TAKEN", "CREATED")
	row(w, q.GetId(), q.GetName(), q.GetCapacity(), q.GetTaken(), ts(q.GetCreatedAt()))
}
