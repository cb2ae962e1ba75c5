package edge_test

import (
	"context"
	"testing"
	"time"

	"github.com/bookd/bookd/client"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/rpc/clustertest"
	"github.com/bookd/bookd/rpc/edge"
	"github.com/bookd/bookd/rpc/waitroom"
)

// startEdge serves an edge for cluster c on a loopback port and returns it
// with its server. It forwards through cfg.Cluster, or a new client of c.
func startEdge(t *testing.T, c *clustertest.Cluster, cfg edge.Config) (*edge.Running, *edge.Server) {
	t.Helper()
	if cfg.Cluster == nil {
		cl, err := client.New(c.Endpoints())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cl.Close() })
		cfg.Cluster = cl
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
	signer, err := waitroom.NewSigner([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	var srv *edge.Server
	cfg.Rooms = waitroom.New(signer, func(ctx context.Context, id string) (bool, error) { return srv.SoldOut(ctx, id) })
	if err := cfg.Rooms.Configure(waitroom.Config{EventID: eventID, Rate: rate}); err != nil {
		t.Fatal(err)
	}
	var run *edge.Running
	run, srv = startEdge(t, c, cfg)
	return run
}
