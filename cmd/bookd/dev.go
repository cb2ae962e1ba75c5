package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/bookd/bookd/client"
	"github.com/bookd/bookd/raftnode"
	"github.com/bookd/bookd/rpc"
	"github.com/bookd/bookd/rpc/metrics"
	"github.com/spf13/cobra"
)

func newDevCmd() *cobra.Command {
	var nodes, raftPort, rpcPort int
	var dataDir, logLevel, debugAddr string
	var edgeOpts edgeOptions
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run a local cluster of 3 nodes in one process, for trying bookd",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) (err error) {
			if nodes < 1 || nodes > 9 {
				return usagef("--nodes must be between 1 and 9")
			}
			if err := edgeOpts.check(); err != nil {
				return err
			}
			debugAddrs, err := countUp("--debug-addr", debugAddr, nodes)
			if err != nil {
				return err
			}
			logger, err := newLogger(logLevel, "text")
			if err != nil {
				return err
			}
			tempDir := dataDir == ""
			if tempDir {
				if dataDir, err = os.MkdirTemp("", "bookd-dev-"); err != nil {
					return err
				}
				// A directory of its own making goes when it stops.
				defer func() { err = errors.Join(err, os.RemoveAll(dataDir)) }()
			}
			var peers []raftnode.Peer
			for i := range nodes {
				peers = append(peers, raftnode.Peer{ID: fmt.Sprintf("n%d", i+1), RaftAddr: fmt.Sprintf("127.0.0.1:%d", raftPort+i)})
			}
			var stops []func() error
			stopAll := func() error {
				var errs []error
				for i := len(stops) - 1; i >= 0; i-- {
					errs = append(errs, stops[i]())
				}
				return errors.Join(errs...)
			}
			var ms []*metrics.Metrics
			if len(debugAddrs) > 0 {
				for range nodes {
					ms = append(ms, metrics.New())
				}
				bound, stopDebug, err := startDebugServers(debugAddrs, logger, ms, nil, nil)
				if err != nil {
					return fmt.Errorf("--debug-addr: %w", err)
				}
				stops, debugAddrs = append(stops, stopDebug), bound
			}
			var eps []string
			for i, p := range peers {
				rpcAddr := fmt.Sprintf("127.0.0.1:%d", rpcPort+i)
				scfg := rpc.ServerConfig{
					Node: raftnode.Config{
						ID: p.ID, DataDir: filepath.Join(dataDir, p.ID), RaftAddr: p.RaftAddr, RPCAddr: rpcAddr,
						InitialCluster: peers, Logger: logger,
					},
					Logger: logger,
				}
				if ms != nil {
					scfg.Interceptors = append(scfg.Interceptors, ms[i].Interceptor())
				}
				srv, err := rpc.StartServer(scfg)
				if err != nil {
					return errors.Join(err, stopAll())
				}
				stops = append(stops, srv.Close)
				if ms != nil {
					ms[i].Watch(srv.Node())
				}
				eps = append(eps, rpcAddr)
			}
			cl, err := client.New(eps, edgeOpts.clientOptions(logger)...)
			if err != nil {
				return errors.Join(err, stopAll())
			}
			run, stopEdge, err := edgeOpts.start(cl, logger)
			if err != nil {
				return errors.Join(err, stopAll())
			}
			stops = append(stops, stopEdge)
			devBanner(cmd.OutOrStdout(), nodes, dataDir, tempDir, eps, debugAddrs, run.URL())
			return waitForSignal(logger, stopAll)
		},
	}
	f := cmd.Flags()
	f.IntVar(&nodes, "nodes", 3, "number of nodes")
	f.IntVar(&raftPort, "raft-port", 7001, "Raft port of the first node (the others count up)")
	f.IntVar(&rpcPort, "rpc-port", 8001, "RPC port of the first node (the others count up)")
	f.StringVar(&dataDir, "data-dir", "", "where the nodes keep their data (default: a new temporary directory, removed when bookd dev stops)")
	f.StringVar(&logLevel, "log-level", "warn", "debug, info, warn or error")
	f.StringVar(&debugAddr, "debug-addr", "", "HOST:PORT of the first node's admin listener, as bookd server's --debug-addr (/metrics, /debug/pprof/, /debug/metrics); the others count up")
	edgeOpts.register(cmd, "127.0.0.1:8080")
	return cmd
}

// countUp is n addresses from addr (HOST:PORT), the port counting up, or
// none when addr is empty. Port 0 stays 0: each listener picks its own.
func countUp(flag, addr string, n int) ([]string, error) {
	if addr == "" {
		return nil, nil
	}
	host, port, err := net.SplitHostPort(addr)
	p, perr := strconv.Atoi(port)
	if err != nil || perr != nil || p < 0 || p+n-1 > 65535 {
		return nil, usagef("%s %q: want HOST:PORT, like 127.0.0.1:9001", flag, addr)
	}
	var out []string
	for i := range n {
		if p != 0 {
			port = strconv.Itoa(p + i)
		}
		out = append(out, net.JoinHostPort(host, port))
	}
	return out, nil
}

// devBanner tells the person who started bookd dev where everything is
// and what to type next, with this very binary as they invoked it.
func devBanner(w io.Writer, nodes int, dataDir string, tempDir bool, eps, debugAddrs []string, pageURL string) {
	fmt.Fprintf(w, "bookd dev: %d nodes, data in %s", nodes, dataDir)
	if tempDir {
		fmt.Fprint(w, " (removed when it stops)")
	}
	fmt.Fprintf(w, "\nRPC endpoints: %s\n", strings.Join(eps, ","))
	for i, a := range debugAddrs {
		fmt.Fprintf(w, "Metrics and profiles of n%d: http://%s/metrics, http://%s/debug/pprof/\n", i+1, a, a)
	}
	fmt.Fprintf(w, "Web booking page (edge): %s\n", pageURL)
	self := shellQuote(os.Args[0])
	where := ""
	if strings.Contains(os.Args[0], "/") && !filepath.IsAbs(os.Args[0]) {
		if wd, err := os.Getwd(); err == nil {
			where = ", from " + wd
		}
	}
	fmt.Fprintf(w, "Try, in another terminal%s:\n", where)
	if e := strings.Join(eps, ","); e != defaultEndpoints {
		fmt.Fprintf(w, "  export BOOKD_ENDPOINTS=%s\n", e)
	}
	fmt.Fprintf(w, "  %s events create --name \"Opening night\" --capacity 100 --seats A1-A10\n", self)
	fmt.Fprintf(w, "  %s cluster status\n", self)
	fmt.Fprintln(w, "Press Ctrl-C to stop.")
}

var shellSafe = regexp.MustCompile(`^[A-Za-z0-9_./:=+-]+$`)

// shellQuote quotes s for a POSIX shell, if it must be.
func shellQuote(s string) string {
	if shellSafe.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
