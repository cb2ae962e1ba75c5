package main

import (
	"context"
	"log/slog"

	"github.com/bookd/bookd/cmd/bookd-chaos/procs"
)

// bookdServers is a cluster of `bookd server` processes on loopback, with
// no proxies between them.
type bookdServers struct {
	c    *procs.Cluster
	opts bookdClientOptions
}

type bookdOptions struct {
	Binary    string // a bookd executable; built from this module if empty
	Nodes     int
	ExtraArgs []string // more `bookd server` flags
	Client    bookdClientOptions
}

func startBookd(ctx context.Context, dir string, o bookdOptions, logger *slog.Logger) (*bookdServers, error) {
	bin := o.Binary
	if bin == "" {
		var err error
		if bin, err = procs.BuildBinary(dir); err != nil {
			return nil, err
		}
	}
	c, err := procs.Start(ctx, procs.Options{
		Binary: bin, Dir: dir, Nodes: o.Nodes, Direct: true, ExtraArgs: o.ExtraArgs,
		LogLevel: "warn", Logger: logger,
	})
	if err != nil {
		return nil, err
	}
	return &bookdServers{c: c, opts: o.Client}, nil
}

func (s *bookdServers) endpoints() []string {
	var eps []string
	for _, n := range s.c.Nodes() {
		eps = append(eps, n.RPCAddr)
	}
	return eps
}

func (s *bookdServers) Connect(_ context.Context, clients int) (Target, error) {
	return connectBookd(s.endpoints(), clients, s.opts)
}

// connectBookd opens the target o asks for on a cluster at endpoints.
func connectBookd(endpoints []string, clients int, o bookdClientOptions) (Target, error) {
	if o.Connect {
		return newConnectTarget(endpoints, o)
	}
	return newBookdTarget(endpoints, clients, o)
}

func (s *bookdServers) PIDs() []int {
	var pids []int
	for _, n := range s.c.Nodes() {
		if pid := n.PID(); pid > 0 {
			pids = append(pids, pid)
		}
	}
	return pids
}

func (s *bookdServers) Stop() error { return s.c.Stop() }

// bookdSession is a local bookd cluster started for one command, with a
// target connected to it; Close stops everything and removes what the
// command's -dir did not ask to keep.
type bookdSession struct {
	srv     Servers
	cluster *procs.Cluster
	target  Target
	closers []func()
}

func openBookdSession(ctx context.Context, sf *serverFlags, verbose bool, clients int) (*bookdSession, error) {
	s := &bookdSession{}
	dir, cleanup, err := sf.workDir()
	if err != nil {
		return nil, err
	}
	s.closers = append(s.closers, cleanup)
	if s.srv, err = sf.start(ctx, "bookd", dir, newLogger(verbose)); err != nil {
		s.Close()
		return nil, err
	}
	s.closers = append(s.closers, func() { s.srv.Stop() })
	s.cluster = s.srv.(*bookdServers).c
	if s.target, err = s.srv.Connect(ctx, clients); err != nil {
		s.Close()
		return nil, err
	}
	s.closers = append(s.closers, func() { s.target.Close() })
	return s, nil
}

// Close undoes openBookdSession, last step first.
func (s *bookdSession) Close() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
}
