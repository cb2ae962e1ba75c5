package edge

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"
	"time"

	"connectrpc.com/connect"

	"github.com/bookd/bookd/client"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/proto/bookd/v1/bookdv1connect"
	"github.com/bookd/bookd/rpc/cors"
	"github.com/bookd/bookd/rpc/edge/identity"
	"github.com/bookd/bookd/rpc/edge/web"
	"github.com/bookd/bookd/rpc/waitroom"
)

// Server is one edge: an http.Handler serving the web page, the forwarded
// BookingService and, with rooms, the waiting room API.
type Server struct {
	cfg        Config
	handler    http.Handler
	avail      *cache[*bookdv1.GetAvailabilityResponse]
	events     *cache[*bookdv1.Event]
	lists      *cache[*bookdv1.ListEventsResponse]
	clientLim  *limiter
	eventLimit *limiter
	voucherLim *limiter // refused voucher codes per client (vouchers.go)
	holds      gate
	wrote      *recentWrites // events written through this edge lately
	feeds      *feeds        // live updates (watch.go)
}

// maxRequestBytes bounds a request message to the edge: customer calls
// are small.
const maxRequestBytes = 64 << 10

// New returns an edge for cfg. adminToken authorizes the waiting rooms'
// operator calls (empty: none are allowed).
func New(cfg Config, adminToken string) (*Server, error) {
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.Identity == nil {
		v, err := guestsOnly()
		if err != nil {
			return nil, err
		}
		cfg.Identity = v
	}
	policy, err := cors.New(cors.Config{Origins: cfg.CORSOrigins, AllowCredentials: true})
	if err != nil {
		return nil, fmt.Errorf("edge: %w", err)
	}
	s := &Server{
		cfg:        cfg,
		avail:      newCache[*bookdv1.GetAvailabilityResponse](cfg.Staleness),
		events:     newCache[*bookdv1.Event](cfg.Staleness),
		lists:      newCache[*bookdv1.ListEventsResponse](cfg.Staleness),
		clientLim:  newLimiter(cfg.ClientRate, cfg.ClientBurst),
		eventLimit: newLimiter(cfg.EventRate, cfg.EventBurst),
		voucherLim: newVoucherLimiter(cfg.VoucherRefusals, cfg.VoucherWindow),
		holds:      newGate(cfg.MaxHoldsInFlight),
		wrote:      newRecentWrites(recentWriteTTL),
	}
	s.feeds = newFeeds(s)
	opts := []connect.HandlerOption{
		connect.WithReadMaxBytes(maxRequestBytes),
		// Answers are small: gzip would cost more CPU than it saves, and
		// CPU is what a surge is short of.
		connect.WithCompressMinBytes(4 << 10),
		connect.WithInterceptors(s.limitClients(), s.logFailures()),
		connect.WithRecover(func(_ context.Context, spec connect.Spec, _ http.Header, p any) error {
			cfg.Logger.Error("edge handler panic", "procedure", spec.Procedure, "panic", p, "stack", string(debug.Stack()))
			return connect.NewError(connect.CodeInternal, errors.New("internal error"))
		}),
	}
	rooms := waitroom.NoRooms()
	if cfg.Rooms != nil {
		rooms = cfg.Rooms.Handler(adminToken, func(r *http.Request) (string, error) { return caller(r.Context()) })
	}
	rooms = s.limitClientsHTTP(rooms)
	shoppers := http.NewServeMux()
	shoppers.Handle(bookdv1connect.NewBookingServiceHandler(&proxy{s: s}, opts...))
	shoppers.Handle("/waitroom/", rooms)
	shoppers.Handle("/", web.Handler())
	mux := http.NewServeMux()
	// The operator's room API has its own bearer token, which is no
	// customer's: it is not behind the customer identity.
	mux.Handle("/waitroom/v1/rooms/", rooms)
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
	mux.Handle("/", cfg.Identity.Middleware(shoppers))
	// CORS outermost: a preflight carries no credentials.
	s.handler = policy.Handler(mux)
	return s, nil
}

// recentWriteTTL is how long a write through this edge makes the next
// availability read of its event go to the leader.
const recentWriteTTL = 5 * time.Second

// guestsOnly is the identity of an edge configured with no keys: guest
// sessions signed with a key drawn now.
func guestsOnly() (*identity.Verifier, error) {
	key := make([]byte, identity.MinKeyBytes)
	rand.Read(key)
	return identity.New(identity.Config{SessionKey: key})
}

// ServeHTTP serves one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// availability answers from the cache, reading the cluster at most once per
// staleness bound per event. After a write through this edge the next read
// is linearizable, so a shopper sees their own hold.
func (s *Server) availability(ctx context.Context, eventID string) (*bookdv1.GetAvailabilityResponse, error) {
	return s.avail.get(ctx, eventID, func(ctx context.Context) (*bookdv1.GetAvailabilityResponse, error) {
		ctx, cancel := s.bound(ctx)
		defer cancel()
		if s.wrote.take(eventID) {
			return s.cfg.Cluster.Availability(ctx, eventID)
		}
		return staleThenFresh(ctx, func(ctx context.Context, opts ...client.ReadOption) (*bookdv1.GetAvailabilityResponse, error) {
			return s.cfg.Cluster.Availability(ctx, eventID, opts...)
		}, s.staleRead())
	})
}

// wroteTo notes a write to eventID through this edge: its cached
// availability is dropped and read afresh from the leader.
func (s *Server) wroteTo(eventID string) {
	s.wrote.note(eventID)
	s.avail.forget(eventID)
}

// staleThenFresh reads with the stale option, and when the answering node
// does not know the thing yet (NOT_FOUND may only mean it lags, e.g. for an
// event just created), reads again from the leader.
func staleThenFresh[T any](ctx context.Context, read func(context.Context, ...client.ReadOption) (T, error), stale client.ReadOption) (T, error) {
	res, err := read(ctx, stale)
	if connect.CodeOf(err) == connect.CodeNotFound {
		return read(ctx)
	}
	return res, err
}

// SoldOut reports whether nothing of the event can be held (holds and
// bookings cover its capacity, or its sales stopped: a closed or cancelled
// event has nothing available), from the cache: the waiting rooms' question.
func (s *Server) SoldOut(ctx context.Context, eventID string) (bool, error) {
	a, err := s.availability(ctx, eventID)
	if err != nil {
		return false, err
	}
	return a.GetAvailableQuantity() == 0 && len(a.GetFreeSeats()) == 0, nil
}

// staleRead lets any node answer the edge's reads, as long as it heard from
// the leader within NodeStaleness.
func (s *Server) staleRead() client.ReadOption { return client.Stale(s.cfg.NodeStaleness) }

// bound limits one forwarded call.
func (s *Server) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.cfg.CallTimeout)
}

// done is told that customer confirmed or let go of a hold on eventID:
// the event's cached availability is dropped, and its waiting room frees
// the customer's place among the active shoppers at once.
func (s *Server) done(eventID, customer string) {
	s.wroteTo(eventID)
	if s.cfg.Rooms != nil {
		s.cfg.Rooms.Finish(eventID, customer)
	}
}

// touch tells eventID's waiting room that customer is still shopping.
func (s *Server) touch(eventID, customer string) {
	if s.cfg.Rooms != nil {
		s.cfg.Rooms.Touch(eventID, customer)
	}
}

// neverLimited are the calls the per-client rate limit lets through
// whatever the rate: a shopper who holds inventory can always finish.
var neverLimited = map[string]bool{
	bookdv1connect.BookingServiceConfirmProcedure:     true,
	bookdv1connect.BookingServiceReleaseHoldProcedure: true,
}

// limitClients refuses a client's calls past its rate.
func (s *Server) limitClients() connect.UnaryInterceptorFunc {
	return func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			if neverLimited[req.Spec().Procedure] {
				return next(ctx, req)
			}
			if ok, wait := s.clientLim.allow(s.clientIP(req.Peer().Addr, req.Header())); !ok {
				return nil, client.Overloaded("too many requests from this client; retry shortly", wait)
			}
			return next(ctx, req)
		}
	}
}

// logFailures logs calls that failed for a reason other than the caller's
// or the inventory's: the cluster unreachable, an internal error.
func (s *Server) logFailures() connect.UnaryInterceptorFunc {
	return func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			res, err := next(ctx, req)
			switch code := connect.CodeOf(err); {
			case err == nil || ctx.Err() != nil:
			case code == connect.CodeInternal || code == connect.CodeUnknown:
				s.cfg.Logger.Error("edge call failed", "procedure", req.Spec().Procedure, "code", code, "err", err)
			case code == connect.CodeUnavailable || code == connect.CodeDeadlineExceeded:
				s.cfg.Logger.Warn("cluster unavailable", "procedure", req.Spec().Procedure, "err", err)
			}
			return res, err
		}
	}
}

// limitClientsHTTP is limitClients for the plain JSON API.
func (s *Server) limitClientsHTTP(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ok, wait := s.clientLim.allow(s.clientIP(r.RemoteAddr, r.Header)); !ok {
			e := client.Overloaded("too many requests from this client; retry shortly", wait)
			for k, v := range e.Meta() {
				w.Header()[k] = v
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusTooManyRequests)
			w.Write([]byte(`{"code":"resource_exhausted","message":"too many requests from this client; retry shortly"}` + "\n"))
			return
		}
		next.ServeHTTP(w, r)
	})
}
