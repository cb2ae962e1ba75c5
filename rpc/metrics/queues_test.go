package metrics_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/bookd/bookd/client"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/rpc/clustertest"
	"github.com/bookd/bookd/rpc/metrics"
	"google.golang.org/protobuf/types/known/durationpb"
)

// A scrape reports each queue's state and counters as the replicated
// stats have them: after 3 messages, one acked, one given up, one nacked
// and received again.
func TestQueueMetrics(t *testing.T) {
	cl := clustertest.Start(t, 1, clustertest.Options{})
	leader := cl.WaitReady()
	c, err := client.New(cl.Endpoints())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	q := c.Queues()
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(q.CreateQueue(ctx, &bookdv1.CreateQueueRequest{Queue: &bookdv1.Queue{Name: "receipts"}}))
	must(q.CreateQueue(ctx, &bookdv1.CreateQueueRequest{Queue: &bookdv1.Queue{Name: "idle"}}))
	for i := range 3 {
		must(q.Enqueue(ctx, &bookdv1.EnqueueRequest{Queue: "receipts", IdempotencyKey: fmt.Sprint("m", i)}))
	}
	got, err := q.Receive(ctx, &bookdv1.ReceiveRequest{Queue: "receipts", Max: 3, Visibility: durationpb.New(time.Minute)})
	if err != nil || len(got.GetMessages()) != 3 {
		t.Fatalf("Receive: %v, %v; want 3 messages", got.GetMessages(), err)
	}
	ms := got.GetMessages()
	must(q.Ack(ctx, &bookdv1.AckRequest{Queue: "receipts", LeaseIds: []string{ms[0].GetLeaseId()}}))
	must(q.Nack(ctx, &bookdv1.NackRequest{Queue: "receipts", LeaseId: ms[1].GetLeaseId(), Error: "no such address", GiveUp: true}))
	must(q.Nack(ctx, &bookdv1.NackRequest{Queue: "receipts", LeaseId: ms[2].GetLeaseId(), Error: "try later", Delay: durationpb.New(0)}))
	again, err := q.Receive(ctx, &bookdv1.ReceiveRequest{Queue: "receipts", Max: 3, WaitTime: durationpb.New(5 * time.Second)})
	if err != nil || len(again.GetMessages()) != 1 {
		t.Fatalf("second Receive: %v, %v; want 1 message", again.GetMessages(), err)
	}

	m := metrics.New()
	m.Watch(leader.Server.Node())
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	// queueValue finds the value of a queue's gauge or counter.
	queueValue := func(name, queue string) (float64, bool) {
		for _, f := range families {
			for _, m := range f.GetMetric() {
				for _, l := range m.GetLabel() {
					if f.GetName() == name && l.GetName() == "queue" && l.GetValue() == queue {
						return m.GetCounter().GetValue() + m.GetGauge().GetValue(), true
					}
				}
			}
		}
		return 0, false
	}
	for _, want := range []struct {
		name, queue string
		value       float64
	}{
		{"bookd_queue_depth", "receipts", 1},
		{"bookd_queue_leased", "receipts", 1},
		{"bookd_queue_dead_letters", "receipts", 1},
		{"bookd_queue_delivered_total", "receipts", 4},
		{"bookd_queue_retried_total", "receipts", 1},
		{"bookd_queue_dead_lettered_total", "receipts", 1},
		{"bookd_queue_acked_total", "receipts", 1},
		{"bookd_queue_depth", "idle", 0},
		{"bookd_queue_oldest_message_age_seconds", "idle", 0},
		{"bookd_queue_delivered_total", "idle", 0},
	} {
		if got, ok := queueValue(want.name, want.queue); !ok || got != want.value {
			t.Errorf("%s{queue=%q} = %v (found %v), want %v", want.name, want.queue, got, ok, want.value)
		}
	}
	// The oldest live message was enqueued before the scrape, within the test.
	if age, ok := queueValue("bookd_queue_oldest_message_age_seconds", "receipts"); !ok || age <= 0 || age > 60 {
		t.Errorf("oldest message age %v (found %v), want between 0 and the test's length", age, ok)
	}
}
