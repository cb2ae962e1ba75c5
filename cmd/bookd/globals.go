package main

import (
	"context"
	"slices"
	"time"

	"github.com/bookd/bookd/client"
	"github.com/spf13/cobra"
)

// defaultEndpoints are the nodes of `bookd dev` with its default ports.
const defaultEndpoints = "127.0.0.1:8001,127.0.0.1:8002,127.0.0.1:8003"

// globals are the flags every client command shares.
type globals struct {
	endpoints string
	output    string
	timeout   time.Duration
	token     string
	caFile    string
}

func (g *globals) register(root *cobra.Command) {
	f := root.PersistentFlags()
	f.StringVar(&g.endpoints, "endpoints", defaultEndpoints, "RPC endpoints of the cluster, comma-separated")
	f.StringVarP(&g.output, "output", "o", "table", "output format: table or json")
	f.DurationVar(&g.timeout, "timeout", 15*time.Second, "give up on a command after this long")
	f.StringVar(&g.token, "token", "", "bearer token for a cluster that checks tokens (better set as BOOKD_TOKEN)")
	f.StringVar(&g.caFile, "ca-file", "", "CA certificate (PEM) to trust: talk TLS to the endpoints")
}

func (g *globals) check() error {
	if g.output != "table" && g.output != "json" {
		return usagef("--output must be table or json, not %q", g.output)
	}
	return nil
}

// client connects to the cluster; the returned context bounds the command
// by --timeout.
func (g *globals) client(cmd *cobra.Command) (*client.Client, context.Context, func(), error) {
	return g.connect(cmd.Context(), true)
}

// connect connects to the cluster with opts; the returned context is ctx,
// bounded by --timeout when bounded.
func (g *globals) connect(ctx context.Context, bounded bool, opts ...client.Option) (*client.Client, context.Context, func(), error) {
	c, err := g.newClient(opts...)
	if err != nil {
		return nil, nil, nil, err
	}
	cancel := func() {}
	if bounded {
		ctx, cancel = context.WithTimeout(ctx, g.timeout)
	}
	return c, ctx, func() { cancel(); c.Close() }, nil
}

// newClient is a client for the cluster at --endpoints that sends --token
// and, given --ca-file, speaks TLS trusting that CA; opts come first. No
// call it makes is bounded by --timeout: `bookd edge` keeps it for good.
func (g *globals) newClient(opts ...client.Option) (*client.Client, error) {
	opts = append(slices.Clip(opts), client.WithToken(g.token))
	if g.caFile != "" {
		tc, err := clientTLS(g.caFile)
		if err != nil {
			return nil, err
		}
		opts = append(opts, client.WithTLS(tc))
	}
	c, err := client.New(splitList(g.endpoints), opts...)
	if err != nil {
		return nil, usagef("--endpoints: %v", err)
	}
	return c, nil
}
