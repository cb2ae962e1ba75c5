package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/bookd/bookd/client"
	"github.com/bookd/bookd/raftnode"
	"github.com/bookd/bookd/rpc"
	"github.com/spf13/cobra"
)

func newDevCmd() *cobra.Command {
	var nodes, raftPort, rpcPort int
	var dataDir, logLevel string
	var edgeOpts edgeOptions
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run a local cluster of 3 nodes in one process, for trying bookd",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if nodes < 1 || nodes > 9 {
				return usagef("--nodes must be between 1 and 9")
			}
			if err := edgeOpts.check(); err != nil {
				return err
			}
			logger, err := newLogger(logLevel, "text")
			if err != nil {
				return err
			}
			if dataDir == "" {
				if dataDir, err = os.MkdirTemp("", "bookd-dev-"); err != nil {
					return err
				}
			}
			var peers []raftnode.Peer
			for i := range nodes {
				peers = append(peers, raftnode.Peer{ID: fmt.Sprintf("n%d", i+1), RaftAddr: fmt.Sprintf("127.0.0.1:%d", raftPort+i)})
			}
			var servers []*rpc.Server
			stopAll := func() error {
				var errs []error
				for _, s := range servers {
					errs = append(errs, s.Close())
				}
				return errors.Join(errs...)
			}
			var eps []string
			for i, p := range peers {
				rpcAddr := fmt.Sprintf("127.0.0.1:%d", rpcPort+i)
				srv, err := rpc.StartServer(rpc.ServerConfig{
					Node: raftnode.Config{
						ID: p.ID, DataDir: filepath.Join(dataDir, p.ID), RaftAddr: p.RaftAddr, RPCAddr: rpcAddr,
						InitialCluster: peers, Logger: logger,
					},
					Logger: logger,
				})
				if err != nil {
					stopAll()
					return err
				}
				servers = append(servers, srv)
				eps = append(eps, rpcAddr)
			}
			cl, err := client.New(eps, edgeOpts.clientOptions(logger)...)
			if err != nil {
				stopAll()
				return err
			}
			run, stopEdge, err := edgeOpts.start(cl, logger)
			if err != nil {
				stopAll()
				return err
			}
			stopNodes := stopAll
			stopAll = func() error { return errors.Join(stopEdge(), stopNodes()) }
			fmt.Fprintf(cmd.OutOrStdout(), `bookd dev: %d nodes, data in %s
RPC endpoints: %s
Web booking page (edge): %s
Try, in another terminal:
  bookd events create --name "Opening night" --capacity 100 --seats A1-A10
  bookd cluster status
Press Ctrl-C to stop.
`, nodes, dataDir, strings.Join(eps, ","), run.URL())
			return waitForSignal(logger, stopAll)
		},
	}
	f := cmd.Flags()
	f.IntVar(&nodes, "nodes", 3, "number of nodes")
	f.IntVar(&raftPort, "raft-port", 7001, "Raft port of the first node (the others count up)")
	f.IntVar(&rpcPort, "rpc-port", 8001, "RPC port of the first node (the others count up)")
	f.StringVar(&dataDir, "data-dir", "", "where the nodes keep their data (default: a new temporary directory)")
	f.StringVar(&logLevel, "log-level", "warn", "debug, info, warn or error")
	edgeOpts.register(cmd, "127.0.0.1:8080")
	return cmd
}
