package main

import (
	"context"
	"strings"
	"time"

	"github.com/bookd/bookd/client"
	"github.com/spf13/cobra"
)

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
	f.StringVar(&g.endpoints, "endpoints", "127.0.0.1:8001,127.0.0.1:8002,127.0.0.1:8003", "RPC endpoints of the cluster, comma-separated")
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
	var eps []string
	for _, e := range strings.Split(g.endpoints, ",") {
		if e = strings.TrimSpace(e); e != "" {
			eps = append(eps, e)
		}
	}
	opts = append(opts, client.WithToken(g.token))
	if g.caFile != "" {
		tc, err := clientTLS(g.caFile)
		if err != nil {
			return nil, nil, nil, err
		}
		opts = append(opts, client.WithTLS(tc))
	}
	c, err := client.New(eps, opts...)
	if err != nil {
		return nil, nil, nil, usagef("--endpoints: %v", err)
	}
	cancel := func() {}
	if bounded {
		ctx, cancel = context.WithTimeout(ctx, g.timeout)
	}
	return c, ctx, func() { cancel(); c.Close() }, nil
}
