package edge_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"connectrpc.com/connect"

	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/proto/bookd/v1/bookdv1connect"
	"github.com/bookd/bookd/rpc/clustertest"
	"github.com/bookd/bookd/rpc/edge"
)

// Work queues carry customers' bookings, payment references and e-mail
// addresses to trusted workers: a stranger at the edge can neither read
// nor lease nor manage them, and the messages stay for the workers.
func TestEdgeDoesNotServeQueues(t *testing.T) {
	c := clustertest.Start(t, 1, clustertest.Options{})
	c.WaitReady()
	run, _ := startEdge(t, c, edge.Config{})
	cl := newClient(t, c.Endpoints())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := cl.Queues().CreateQueue(ctx, &bookdv1.CreateQueueRequest{Queue: &bookdv1.Queue{
		Name: "receipts", Kinds: []string{"booking_confirmed"}}}); err != nil {
		t.Fatal(err)
	}
	ev := createEvent(t, cl, &bookdv1.CreateEventRequest{Name: "tour", Capacity: 5})
	if _, err := cl.Book(ctx, &bookdv1.BookRequest{EventId: ev.GetId(), CustomerId: "victim", Quantity: 1, ContactEmail: "victim@example.com"}); err != nil {
		t.Fatal(err)
	}

	stranger := bookdv1connect.NewQueueServiceClient(http.DefaultClient, "http://"+run.Addr())
	calls := map[string]func() error{
		"Receive": func() error {
			_, err := stranger.Receive(ctx, &bookdv1.ReceiveRequest{Queue: "receipts", Max: 10})
			return err
		},
		"PeekMessages": func() error {
			_, err := stranger.PeekMessages(ctx, &bookdv1.PeekMessagesRequest{Queue: "receipts"})
			return err
		},
		"Ack": func() error {
			_, err := stranger.Ack(ctx, &bookdv1.AckRequest{Queue: "receipts", LeaseIds: []string{"1.1"}})
			return err
		},
		"PurgeQueue": func() error {
			_, err := stranger.PurgeQueue(ctx, &bookdv1.PurgeQueueRequest{Queue: "receipts"})
			return err
		},
	}
	for name, call := range calls {
		if err := call(); connect.CodeOf(err) != connect.CodeUnimplemented {
			t.Errorf("%s at the edge: %v, want UNIMPLEMENTED (not served)", name, err)
		}
	}
	q, err := cl.Queues().GetQueue(ctx, &bookdv1.GetQueueRequest{Queue: "receipts"})
	if err != nil || q.GetQueue().GetStats().GetDepth() != 1 || q.GetQueue().GetStats().GetDelivered() != 0 {
		t.Fatalf("queue after the stranger: %v, %v; want its message undelivered", q, err)
	}
}
