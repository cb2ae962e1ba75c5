package rpc

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/raftnode"
	"github.com/bookd/bookd/rpc/auth"
	"github.com/bookd/bookd/rpc/cors"
)

// ServerConfig configures a bookd server: a Raft node and its RPC endpoint.
type ServerConfig struct {
	Node raftnode.Config
	// Join lists RPC endpoints of a running cluster. A node with no Raft
	// state asks them (through the leader) to add it as a voter.
	Join []string
	// JoinAsNonvoter makes the join ask for a non-voting member: a read
	// replica that serves stale reads (bounded by read.max_staleness).
	JoinAsNonvoter bool
	Logger         *slog.Logger

	// TLS, when set, serves the API over TLS (see auth.TLSFiles.ServerConfig).
	TLS *tls.Config
	// PeerTLS, when set, makes calls to other nodes mutual TLS (see
	// auth.TLSFiles.PeerConfig); set Node.TLS for Raft as well.
	PeerTLS *tls.Config
	// Auth, when set, refuses calls without the credentials and role
	// their procedure needs.
	Auth *auth.Authorizer
	// Interceptors run around every handler, outermost first, and around
	// the calls this node makes to others (metrics, traces).
	Interceptors []connect.Interceptor
	// Shed bounds the writes the node takes on before refusing new ones
	// with RESOURCE_EXHAUSTED (zero value: the defaults).
	Shed ShedConfig
	// CORSOrigins lists the origins (scheme://host[:port], as browsers
	// send them) whose web pages may call the node from a browser: their
	// preflights are answered before Auth, and the answers name the origin
	// and expose bookd's headers (see package cors). None: CORS is off.
	CORSOrigins []string
}

// Server is a running bookd server.
type Server struct {
	node  *raftnode.Node
	svc   *service
	http  *http.Server
	log   *slog.Logger
	stop  chan struct{}
	tasks sync.WaitGroup
	// removed is set once the node learnt that an operator removed it.
	removed  atomic.Bool
	nonvoter bool // joins as a non-voter
}

// StartServer opens the node and serves RPC on cfg.Node.RPCAddr.
func StartServer(cfg ServerConfig) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Node.Logger == nil {
		cfg.Node.Logger = cfg.Logger
	}
	crossOrigin, err := cors.New(cors.Config{Origins: cfg.CORSOrigins})
	if err != nil {
		return nil, fmt.Errorf("rpc: %w", err)
	}
	tcp, err := net.Listen("tcp", cfg.Node.RPCAddr)
	if err != nil {
		return nil, fmt.Errorf("rpc: listen on %s: %w", cfg.Node.RPCAddr, err)
	}
	var ln net.Listener = bufferedListener{tcp}
	node, err := raftnode.Open(cfg.Node)
	if err != nil {
		ln.Close()
		return nil, err
	}
	handler, svc := newHandler(node, cfg.Logger, raftnode.SourceAddr(cfg.Node.RPCAddr), cfg.Shed, cfg.Interceptors...)
	var token func() string
	if cfg.Auth != nil {
		handler = cfg.Auth.Middleware(handler)
		token = cfg.Auth.Tokens().AdminToken
	}
	handler = crossOrigin.Handler(handler) // outermost: preflights carry no credentials
	svc.peers.secure(cfg.PeerTLS, token)
	svc.peers.opts = []connect.ClientOption{connect.WithInterceptors(cfg.Interceptors...)}
	s := &Server{node: node, svc: svc, log: cfg.Logger.With("node", cfg.Node.ID), stop: make(chan struct{}), nonvoter: cfg.JoinAsNonvoter}
	s.http = &http.Server{
		Handler:           handler,
		Protocols:         new(http.Protocols),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	s.http.Protocols.SetHTTP1(true)
	s.http.Protocols.SetUnencryptedHTTP2(true)
	if cfg.TLS != nil {
		s.http.TLSConfig = cfg.TLS
		s.http.Protocols.SetUnencryptedHTTP2(false)
		s.http.Protocols.SetHTTP2(true)
		ln = tls.NewListener(ln, cfg.TLS)
	}
	s.tasks.Add(3)
	go func() {
		defer s.tasks.Done()
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("rpc server stopped", "err", err)
		}
	}()
	go s.stayRegistered(cfg.Join)
	go s.probeClocks()
	s.log.Info("serving", "rpc_addr", cfg.Node.RPCAddr, "raft_addr", cfg.Node.RaftAddr)
	return s, nil
}

// Removed reports whether this node learnt that an operator removed it
// from the cluster (it then stopped asking to be a member).
func (s *Server) Removed() bool { return s.removed.Load() }

// Node is the server's Raft node.
func (s *Server) Node() *raftnode.Node { return s.node }

// catchUpTimeout bounds how long a stopping node applies what was committed
// before it goes (a follower can be seconds of applying behind after a
// burst; the next start applies whatever is left).
const catchUpTimeout = 10 * time.Second

// Close hands leadership over (if this node leads), applies what was
// committed (Node.CatchUp, at most catchUpTimeout), stops serving and shuts
// the node down.
func (s *Server) Close() error {
	s.handOff()
	s.catchUp()
	close(s.stop)
	close(s.svc.stopping)
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

// catchUp gives the node at most catchUpTimeout to apply what was
// committed; it logs a timeout, and stopping goes on either way.
func (s *Server) catchUp() {
	ctx, cancel := context.WithTimeout(context.Background(), catchUpTimeout)
	defer cancel()
	s.node.CatchUp(ctx)
}

// stayRegistered makes sure the cluster knows this node's RPC address: a
// joining node first asks to be added, then every node checks now and then
// that its address is registered and asks the leader to record it if not.
// Every such request is marked for_self: the leader never adds back a node
// an operator removed, and a node that learns it was removed (from its own
// state or from the leader's answer) stops asking.
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
		if errors.Is(err, errRemoved) || connect.CodeOf(err) == connect.CodeFailedPrecondition && reasonOf(err) == ReasonMemberRemoved {
			s.removed.Store(true)
			s.log.Error("an operator removed this node from the cluster: it no longer asks to be a member; stop it, or add it back with `bookd cluster add`", "err", err)
			return
		}
		if err != nil {
			s.log.Debug("register rpc address", "err", err)
			wait = min(2*wait, time.Second)
			continue
		}
		wait = 10 * time.Second
	}
}

// errRemoved: this node's own state holds its removal's tombstone.
var errRemoved = errors.New("this node's state says an operator removed it")

// register makes one attempt; member reports whether the node is in a
// committed Raft configuration.
func (s *Server) register(join []string) (member bool, err error) {
	if removed, err := s.node.Removed(s.node.ID()); err != nil || removed {
		return false, cmp.Or(err, errRemoved)
	}
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
	req := &bookdv1.AddNodeRequest{Id: st.NodeID, RaftAddress: s.node.RaftAddr(), RpcAddress: s.node.RPCAddr(), ForSelf: true}
	// Only a committed configuration makes this node a member: an addition
	// that never committed can vanish with a leader change, and a node that
	// stopped asking then would stay outside for good.
	committed, err := s.node.CommittedMember()
	if err != nil {
		return false, err
	}
	switch {
	case !committed && len(join) > 0:
		req.Nonvoter = s.nonvoter
		via, err := s.askVia(ctx, join, req)
		if err == nil {
			s.log.Info("joined cluster", "via", via)
		}
		return false, err
	case !inConfig:
		return false, errors.New("not a member of any cluster")
	case committed && self.RPCAddr == s.node.RPCAddr() && self.RaftAddr == s.node.RaftAddr() && leaderKnown(s.node):
		return true, nil
	case s.node.IsLeader():
		return committed, s.node.AddSelf(ctx, st.NodeID, s.node.RaftAddr(), s.node.RPCAddr(), self.Voter)
	}
	// In a configuration this node has not seen committed, it asks the
	// leader too: an addition lost with a leader change is made again
	// (unless an operator removed the node meanwhile). So does a member
	// that knows no leader: one removed before the entries saying so
	// reached it hears from nobody, and learns it from the answer.
	req.Nonvoter = !self.Voter
	_, p, err := s.svc.leaderPeer(ctx)
	if err != nil {
		// No leader known: a node restarted on a new Raft address hears
		// from none, as the leader still dials the old one. The members it
		// knows of forward its request to the leader.
		var others []string
		for _, m := range st.Members {
			if m.ID != st.NodeID && m.RPCAddr != "" {
				others = append(others, m.RPCAddr)
			}
		}
		if len(others) == 0 {
			return committed, err
		}
		_, err := s.askVia(ctx, others, req)
		return committed, err
	}
	_, err = p.cluster.AddNode(ctx, req)
	return committed, err
}

// leaderKnown reports whether this node knows a leader.
func leaderKnown(n *raftnode.Node) bool {
	id, _ := n.Leader()
	return id != ""
}

// reasonOf is the Bookd-Reason of a Connect error, or "".
func reasonOf(err error) string {
	var ce *connect.Error
	if errors.As(err, &ce) {
		return ce.Meta().Get(ReasonHeader)
	}
	return ""
}

// askVia sends req to endpoints in turn (a follower forwards it to the
// leader) until one takes it, and returns that endpoint.
func (s *Server) askVia(ctx context.Context, endpoints []string, req *bookdv1.AddNodeRequest) (string, error) {
	var errs []error
	for _, addr := range endpoints {
		_, err := s.svc.peers.get(addr).cluster.AddNode(ctx, req)
		if err == nil {
			return addr, nil
		}
		if connect.CodeOf(err) == connect.CodeFailedPrecondition && reasonOf(err) == ReasonMemberRemoved {
			return "", err // the leader's answer, whatever the other endpoints said
		}
		errs = append(errs, fmt.Errorf("%s: %w", addr, err))
	}
	return "", fmt.Errorf("join: %w", errors.Join(errs...))
}
