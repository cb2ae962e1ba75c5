package rpc_test

import (
	"context"
	"sync"
	"testing"

	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/rpc/clustertest"
	"google.golang.org/protobuf/proto"
)

// Many readers of a hot event, over both protocols' binary encoding and
// JSON, get the same exact answer between two changes; a change is seen at
// once by a linearizable read, and a cached answer's bytes are never
// reused by another response (each reader decodes an intact answer while
// other calls run).
func TestHotAvailabilityAnswersStayExact(t *testing.T) {
	c := clustertest.Start(t, 1, clustertest.Options{})
	leader := c.WaitReady()
	ev := createEvent(t, leader.RPCAddr, 100, nil)
	cl := bookingClient(leader.RPCAddr)
	ctx := context.Background()
	read := func() *bookdv1.GetAvailabilityResponse {
		t.Helper()
		resp, err := cl.GetAvailability(ctx, &bookdv1.GetAvailabilityRequest{EventId: ev.GetId()})
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	first := read()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 64 {
		wg.Go(func() {
			// Other calls in between, so connect's buffers get reused.
			if _, err := cl.GetEvent(ctx, &bookdv1.GetEventRequest{EventId: ev.GetId(), Read: staleRead()}); err != nil {
				errs <- err
				return
			}
			resp, err := cl.GetAvailability(ctx, &bookdv1.GetAvailabilityRequest{EventId: ev.GetId(), Read: staleRead()})
			if err != nil {
				errs <- err
				return
			}
			if !proto.Equal(resp, first) {
				errs <- errorf("reader %d got %v, want %v", i, resp, first)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if _, err := cl.Book(ctx, &bookdv1.BookRequest{EventId: ev.GetId(), CustomerId: "c", Quantity: 3, IdempotencyKey: "k"}); err != nil {
		t.Fatal(err)
	}
	after := read()
	if after.GetBookedQuantity() != 3 || after.GetAvailableQuantity() != 97 || after.GetAppliedIndex() <= first.GetAppliedIndex() {
		t.Fatalf("after a booking: %v (before: %v)", after, first)
	}
	ev2, err := cl.GetEvent(ctx, &bookdv1.GetEventRequest{EventId: ev.GetId()})
	if err != nil || ev2.GetEvent().GetId() != ev.GetId() || ev2.GetEvent().GetCapacity() != 100 {
		t.Fatalf("get event: %v %v", ev2, err)
	}
}
