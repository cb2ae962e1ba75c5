package edge_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/bookd/bookd/client"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/proto/bookd/v1/bookdv1connect"
	"github.com/bookd/bookd/rpc/clustertest"
	"github.com/bookd/bookd/rpc/edge"
	"github.com/bookd/bookd/rpc/edge/identity"
	"github.com/bookd/bookd/rpc/waitroom"
)

// startEdge serves an edge for cluster c on a loopback port and returns it
// with its server. It forwards through cfg.Cluster, or a new client of c
// that batches writes as `bookd edge` does by default, so the tests (the
// strangers' among them) play the edge as shipped.
func startEdge(t *testing.T, c *clustertest.Cluster, cfg edge.Config) (*edge.Running, *edge.Server) {
	t.Helper()
	if cfg.Cluster == nil {
		cl, err := client.New(c.Endpoints(), client.WithBatching(edge.DefaultBatchWrites))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cl.Close() })
		cfg.Cluster = cl
	}
	if cfg.Identity == nil {
		cfg.Identity = testIdentity(t, nil)
	}
	srv, err := edge.New(cfg, "admin-token-for-tests")
	if err != nil {
		t.Fatal(err)
	}
	run, err := edge.Start("127.0.0.1:0", srv)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { run.Close() })
	return run, srv
}

// newClient returns a client of the cluster for the test's own calls.
func newClient(t *testing.T, endpoints []string) *client.Client {
	t.Helper()
	cl, err := client.New(endpoints)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	return cl
}

func createEvent(t *testing.T, cl *client.Client, req *bookdv1.CreateEventRequest) *bookdv1.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ev, err := cl.CreateEvent(ctx, req)
	if err != nil {
		t.Fatalf("create event %q: %v", req.GetName(), err)
	}
	return ev
}

// startGatedEdge serves an edge whose waiting room gates eventID, admitting
// rate people a second, with tokens signed by secret.
func startGatedEdge(t *testing.T, c *clustertest.Cluster, secret, eventID string, rate float64, cfg edge.Config) *edge.Running {
	t.Helper()
	return startRoomEdge(t, c, secret, waitroom.Config{EventID: eventID, Rate: rate}, cfg)
}

// startRoomEdge serves an edge with the waiting room room, its tokens
// signed by secret.
func startRoomEdge(t *testing.T, c *clustertest.Cluster, secret string, room waitroom.Config, cfg edge.Config) *edge.Running {
	t.Helper()
	return startRoomsEdge(t, c, secret, cfg, room)
}

// startRoomsEdge serves an edge with the waiting rooms rooms, their tokens
// signed by secret.
func startRoomsEdge(t *testing.T, c *clustertest.Cluster, secret string, cfg edge.Config, rooms ...waitroom.Config) *edge.Running {
	t.Helper()
	signer, err := waitroom.NewSigner([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	var srv *edge.Server
	cfg.Rooms = waitroom.New(signer, func(ctx context.Context, id string) (bool, error) { return srv.SoldOut(ctx, id) })
	for _, room := range rooms {
		if err := cfg.Rooms.Configure(room); err != nil {
			t.Fatal(err)
		}
	}
	var run *edge.Running
	run, srv = startEdge(t, c, cfg)
	return run
}

// testSessionKey signs every test edge's guest sessions, so a shopper's
// cookie is good on each edge of a test, as it is on edges that share one
// key in production.
var testSessionKey = []byte("session key of the edge tests, 32+ bytes")

// testIdentity is the edges' identity in tests: guest sessions, and
// customer tokens signed with portalKey when it is given.
func testIdentity(t *testing.T, portalKey []byte) *identity.Verifier {
	t.Helper()
	v, err := identity.New(identity.Config{SessionKey: testSessionKey, HMACKey: portalKey})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// signHS256 is a portal's customer token for sub, signed with key.
func signHS256(t *testing.T, key []byte, sub string, exp time.Time) string {
	t.Helper()
	enc := base64.RawURLEncoding
	claims, err := json.Marshal(map[string]any{"sub": sub, "exp": exp.Unix(), "iat": time.Now().Add(-time.Minute).Unix()})
	if err != nil {
		t.Fatal(err)
	}
	signed := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + enc.EncodeToString(claims)
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(signed))
	return signed + "." + enc.EncodeToString(mac.Sum(nil))
}

// tokenClient is a client of run that sends a portal's customer token.
func tokenClient(run *edge.Running, token string) bookdv1connect.BookingServiceClient {
	bearer := connect.UnaryInterceptorFunc(func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			req.Header().Set("Authorization", "Bearer "+token)
			return next(ctx, req)
		}
	})
	return bookdv1connect.NewBookingServiceClient(http.DefaultClient, "http://"+run.Addr(), connect.WithProtoJSON(), connect.WithInterceptors(bearer))
}
