package edge_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bookd/bookd/client"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/rpc/clustertest"
	"github.com/bookd/bookd/rpc/edge"
)

// countingTransport counts the availability reads that leave for the cluster.
type countingTransport struct {
	next  http.RoundTripper
	reads atomic.Int64
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, "/GetAvailability") {
		c.reads.Add(1)
	}
	return c.next.RoundTrip(r)
}

// TestPageViewsDoNotReachTheCluster: 400 concurrent availability views
// through an edge cost the cluster one read within the staleness bound (a
// few requests at most, should the client retry on another node), and a
// hold through the edge makes the next view read afresh and show it.
func TestPageViewsDoNotReachTheCluster(t *testing.T) {
	c := clustertest.Start(t, 3, clustertest.Options{})
	ev := createEvent(t, newClient(t, c.Endpoints()), &bookdv1.CreateEventRequest{Name: "Viral", Capacity: 100})

	tr := &http.Transport{Protocols: new(http.Protocols)}
	tr.Protocols.SetUnencryptedHTTP2(true)
	counter := &countingTransport{next: tr}
	cl, err := client.New(c.Endpoints(), client.WithHTTPClient(&http.Client{Transport: counter}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	run, _ := startEdge(t, c, edge.Config{Cluster: cl, Staleness: time.Hour})
	ec := edgeClient(run)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	var wg sync.WaitGroup
	for range 400 {
		wg.Go(func() {
			av, err := ec.GetAvailability(ctx, &bookdv1.GetAvailabilityRequest{EventId: ev.GetId()})
			if err != nil || av.GetAvailableQuantity() != 100 {
				t.Errorf("view: %v, %v", av, err)
			}
		})
	}
	wg.Wait()
	first := counter.reads.Load()
	if first < 1 || first > 4 {
		t.Fatalf("400 views made %d availability requests to the cluster, want one read (a few requests at most)", first)
	}

	if _, err := ec.Hold(ctx, &bookdv1.HoldRequest{EventId: ev.GetId(), Quantity: 3}); err != nil {
		t.Fatal(err)
	}
	av, err := ec.GetAvailability(ctx, &bookdv1.GetAvailabilityRequest{EventId: ev.GetId()})
	if err != nil || av.GetAvailableQuantity() != 97 || av.GetHeldQuantity() != 3 {
		t.Fatalf("view after a hold through this edge: %v, %v; want 97 free, 3 held", av, err)
	}
	if n := counter.reads.Load() - first; n < 1 || n > 4 {
		t.Fatalf("%d availability requests for the view after the hold, want one read (a few requests at most)", n)
	}
}
