package main

import (
	"context"
	"io"

	"github.com/bookd/bookd/client"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/spf13/cobra"
)

func newProductsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "products", Short: "Create and list products (a tour, a show) whose departures are events"}
	var create bookdv1.CreateProductRequest
	createCmd := &cobra.Command{
		Use:     "create --name NAME [--description TEXT]",
		Short:   "Create a product; give its id to `bookd events create --product`",
		Example: `  bookd products create --name "Harbour tour" --description "90 minutes by boat"`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return call(g, cmd, func(ctx context.Context, c *client.Client) (*bookdv1.Product, error) {
				return c.CreateProduct(ctx, &create)
			}, func(w io.Writer, p *bookdv1.Product) {
				productTable(w, p)
			})
		},
	}
	createCmd.Flags().StringVar(&create.Name, "name", "", "product name")
	createCmd.Flags().StringVar(&create.Description, "description", "", "a description")
	createCmd.Flags().StringVar(&create.IdempotencyKey, "idempotency-key", "", "retry key (default: a fresh one)")

	var list bookdv1.ListProductsRequest
	var lf listFlags
	listCmd := &cobra.Command{
		Use:   "list [--all]",
		Short: "List products in creation order",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := lf.check(); err != nil {
				return err
			}
			list.Read = lf.read()
			return call(g, cmd, func(ctx context.Context, c *client.Client) (*bookdv1.ListProductsResponse, error) {
				return pages(ctx, &lf, c.ListProducts, &list, func(r, more *bookdv1.ListProductsResponse) {
					r.Products = append(r.Products, more.Products...)
					r.NextPageToken = more.NextPageToken
				})
			}, func(w io.Writer, resp *bookdv1.ListProductsResponse) {
				productTable(w, resp.Products...)
				moreNote(w, resp.NextPageToken)
			})
		},
	}
	lf.register(listCmd.Flags(), "products", &list.PageSize, &list.PageToken)
	cmd.AddCommand(createCmd, listCmd)
	return cmd
}
