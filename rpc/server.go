package rpc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/raftnode"
)

// ServerConfig configures a bookd server: a Raft node and its RPC endpoint.
type ServerConfig struct {
	Node raftnode.Config
	// Join lists RPC endpoints of a running cluster. A node with no Raft
	// state asks them (through the leader) to add it as a voter.
	Join   []string
	Logger *slog.Logger
	// Shed bounds the writes the node takes on before refusing new ones
	// with RESOURCE_EXHAUSTED (zero value: the defaults).
	Shed ShedConfig
}

// Server is a running bookd server.
type Server struct {
	node  *raftnode.Node
	svc   *service
	http  *http.Server
	log   *slog.Logger
	stop  chan struct{}
	tasks sync.WaitGroup
}

// StartServer opens the node and serves RPC on cfg.Node.RPCAddr.
func StartServer(cfg ServerConfig) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Node.Logger == nil {
		cfg.Node.Logger = cfg.Logger
	}
	ln, err := net.Listen("tcp", cfg.Node.RPCAddr)
	if err != nil {
		return nil, fmt.Errorf("rpc: listen on %s: %w", cfg.Node.RPCAddr, err)
	}
	node, err := raftnode.Open(cfg.Node)
	if err != nil {
		ln.Close()
		return nil, err
	}
	handler, svc := newHandler(node, cfg.Logger, raftnode.SourceAddr(cfg.Node.RPCAddr), cfg.Shed)
	s := &Server{node: node, svc: svc, log: cfg.Logger.With("node", cfg.Node.ID), stop: make(chan struct{})}
	s.http = &http.Server{
		Handler:           handler,
		Protocols:         new(http.Protocols),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	s.http.Protocols.SetHTTP1(true)
	s.http.Protocols.SetUnencryptedHTTP2(true)
	s.tasks.Add(2)
	go func() {
		defer s.tasks.Done()
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("rpc server stopped", "err", err)
		}
	}()
	go s.stayRegistered(cfg.Join)
	s.log.Info("serving", "rpc_addr", cfg.Node.RPCAddr, "raft_addr", cfg.Node.RaftAddr)
	return s, nil
}

// Node is the server's Raft node.
func (s *Server) Node() *raftnode.Node { return s.node }

// Close stops serving and shuts the node down.
func (s *Server) Close() error {
	close(s.stop)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	herr := s.http.Shutdown(ctx)
	if errors.Is(herr, context.DeadlineExceeded) {
		herr = s.http.Close()
	}
	s.tasks.Wait()
	s.svc.peers.close()
	return errors.Join(herr, s.node.Close())
}

// stayRegistered makes sure the cluster knows this node's RPC address: a
// joining node first asks to be added, then every node checks now and then
// that its address is registered and asks the leader to record it if not.
// Once the node has been a member in a committed configuration, it never
// asks to join again: a node an operator removed stays removed.
func (s *Server) stayRegistered(join []string) {
	defer s.tasks.Done()
	wait := 100 * time.Millisecond
	for {
		select {
		case <-s.stop:
			return
		case <-time.After(wait):
		}
		member, err := s.register(join)
		if member {
			join = nil
		}
		if err != nil {
			s.log.Debug("register rpc address", "err", err)
			wait = min(2*wait, time.Second)
			continue
		}
		wait = 10 * time.Second
	}
}

// register makes one attempt; member reports whether the node is in the
// Raft configuration.
func (s *Server) register(join []string) (member bool, err error) {
	st, err := s.node.Status()
	if err != nil {
		return false, err
	}
	self, inConfig := raftnode.MemberStatus{}, false
	for _, m := range st.Members {
		if m.ID == st.NodeID {
			self, inConfig = m, true
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req := &bookdv1.AddNodeRequest{Id: st.NodeID, RaftAddress: s.node.RaftAddr(), RpcAddress: s.node.RPCAddr()}
	// Only a committed configuration makes this node a member: an addition
	// that never committed can vanish with a leader change, and a node that
	// stopped asking then would stay outside for good.
	committed, err := s.node.CommittedMember()
	if err != nil {
		return false, err
	}
	switch {
	case !committed && len(join) > 0:
		return false, s.askToJoin(ctx, join, req)
	case !inConfig:
		return false, errors.New("not a member of any cluster")
	case self.RPCAddr == s.node.RPCAddr():
		return true, nil
	case s.node.IsLeader():
		return true, s.node.RegisterMember(st.NodeID, s.node.RPCAddr())
	}
	req.Nonvoter = !self.Voter
	_, p, err := s.svc.leaderPeer(ctx)
	if err != nil {
		return true, err
	}
	_, err = p.cluster.AddNode(ctx, req)
	return true, err
}

// askToJoin asks the join endpoints, in turn, to add this node.
func (s *Server) askToJoin(ctx context.Context, join []string, req *bookdv1.AddNodeRequest) error {
	var errs []error
	for _, addr := range join {
		_, err := s.svc.peers.get(addr).cluster.AddNode(ctx, req)
		if err == nil {
			s.log.Info("joined cluster", "via", addr)
			return nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", addr, err))
	}
	return fmt.Errorf("join: %w", errors.Join(errs...))
}
