package edge_test

import (
	"context"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"

	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/rpc/clustertest"
	"github.com/bookd/bookd/rpc/edge"
)

// heapInUse is the live heap after a collection.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestEdgeKeepsNoMemoryForStrangers: 10,000 holds with random 60 KB event
// ids (600 MB of ids) leave the edge's heap where it was: what a caller
// chooses is kept only once it is a real event, and then bounded.
func TestEdgeKeepsNoMemoryForStrangers(t *testing.T) {
	c := clustertest.Start(t, 1, clustertest.Options{})
	run, _ := startEdge(t, c, edge.Config{EventRate: 1000})
	ec := edgeClient(run)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	before := heapInUse()
	const holds, workers = 10_000, 8
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			id := make([]byte, 60<<10)
			for range holds / workers {
				for i := range id {
					id[i] = 'a' + byte(rng.IntN(26))
				}
				_, err := ec.Hold(ctx, &bookdv1.HoldRequest{EventId: "ev_" + string(id), Quantity: 1})
				if connect.CodeOf(err) != connect.CodeInvalidArgument {
					t.Errorf("hold on a 60 KB event id: %v, want INVALID_ARGUMENT", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	after := heapInUse()
	if grew := int64(after) - int64(before); grew > 32<<20 {
		t.Fatalf("the edge's heap grew by %d MB over 10,000 junk holds (from %d to %d MB)", grew>>20, before>>20, after>>20)
	}
	t.Logf("heap %d MB before, %d MB after", before>>20, after>>20)
}
