package rpc_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/bookd/bookd/fsm"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/proto/bookd/v1/bookdv1connect"
	"github.com/bookd/bookd/rpc/clustertest"
	"google.golang.org/protobuf/types/known/durationpb"
)

func queueClient(addr string) bookdv1connect.QueueServiceClient {
	return bookdv1connect.NewQueueServiceClient(http.DefaultClient, "http://"+addr)
}

// Queues over a real cluster: created and consumed through followers, a
// waiting Receive answered when the booking commits, a lease acked on the
// leader that follows a lost one.
func TestQueueThroughTheCluster(t *testing.T) {
	c := clustertest.Start(t, 3, clustertest.Options{})
	leader := c.WaitReady()
	follower := followerOf(c)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	fq := queueClient(follower.RPCAddr)
	if _, err := fq.CreateQueue(ctx, &bookdv1.CreateQueueRequest{Queue: &bookdv1.Queue{
		Name: "receipts", Kinds: []string{"booking_confirmed"}}}); err != nil {
		t.Fatalf("create queue through a follower: %v", err)
	}
	ev := createEvent(t, leader.RPCAddr, 100, nil)

	// A Receive waiting on the follower is answered by the booking.
	type answer struct {
		resp *bookdv1.ReceiveResponse
		err  error
	}
	waiting := make(chan answer, 1)
	go func() {
		resp, err := fq.Receive(ctx, &bookdv1.ReceiveRequest{Queue: "receipts", Max: 10,
			Visibility: durationpb.New(time.Minute), WaitTime: durationpb.New(15 * time.Second)})
		waiting <- answer{resp, err}
	}()
	time.Sleep(200 * time.Millisecond) // let it wait (the test holds either way)
	bk, err := bookingClient(leader.RPCAddr).Book(ctx, &bookdv1.BookRequest{EventId: ev.GetId(), CustomerId: "ann", Quantity: 1})
	if err != nil {
		t.Fatal(err)
	}
	got := <-waiting
	if got.err != nil {
		t.Fatalf("waiting receive: %v", got.err)
	}
	if len(got.resp.GetMessages()) != 1 || got.resp.GetMessages()[0].GetChange().GetBookingId() != bk.GetBooking().GetId() {
		t.Fatalf("waiting receive answered %v, want the booking %s", got.resp.GetMessages(), bk.GetBooking().GetId())
	}
	m := got.resp.GetMessages()[0]

	// The lease survives the leader: stop it, ack on the next one.
	c.Stop(leader)
	next := c.WaitReady()
	if _, err := queueClient(next.RPCAddr).Ack(ctx, &bookdv1.AckRequest{Queue: "receipts", LeaseIds: []string{m.GetLeaseId()}}); err != nil {
		t.Fatalf("ack lease %s on the new leader: %v", m.GetLeaseId(), err)
	}
	_, err = queueClient(next.RPCAddr).Ack(ctx, &bookdv1.AckRequest{Queue: "receipts", LeaseIds: []string{m.GetLeaseId()}})
	if codeOf(err) != connect.CodeFailedPrecondition || reasonOf(err) != fsm.ReasonLeaseGone {
		t.Errorf("second ack: %v (reason %q), want FAILED_PRECONDITION %s", err, reasonOf(err), fsm.ReasonLeaseGone)
	}
	q, err := queueClient(next.RPCAddr).GetQueue(ctx, &bookdv1.GetQueueRequest{Queue: "receipts"})
	if err != nil {
		t.Fatal(err)
	}
	if s := q.GetQueue().GetStats(); s.GetDepth() != 0 || s.GetAcked() != 1 || s.GetDelivered() != 1 {
		t.Errorf("stats after ack: %v, want depth 0, 1 delivered and acked", s)
	}
	// An idle Receive waits its time and answers nothing, without the log.
	before := next.Server.Node().FSM().AppliedIndex()
	resp, err := queueClient(next.RPCAddr).Receive(ctx, &bookdv1.ReceiveRequest{Queue: "receipts", Max: 1, WaitTime: durationpb.New(300 * time.Millisecond)})
	if err != nil || len(resp.GetMessages()) != 0 {
		t.Errorf("idle receive: %v, %v; want nothing", resp.GetMessages(), err)
	}
	if after := next.Server.Node().FSM().AppliedIndex(); after != before {
		t.Errorf("an idle receive moved the applied index %d -> %d", before, after)
	}
}

// Bad requests get INVALID_ARGUMENT naming the field, unknown queues
// NOT_FOUND, and nothing reaches the log.
func TestQueueRefusesBadRequests(t *testing.T) {
	c := clustertest.Start(t, 3, clustertest.Options{})
	leader := c.WaitReady()
	ctx := context.Background()
	q := queueClient(followerOf(c).RPCAddr)
	if _, err := q.CreateQueue(ctx, &bookdv1.CreateQueueRequest{Queue: &bookdv1.Queue{Name: "work"}}); err != nil {
		t.Fatal(err)
	}
	before := leader.Server.Node().FSM().AppliedIndex()
	for _, tc := range []struct {
		name  string
		call  func() error
		code  connect.Code
		field string
	}{
		{"max 0", func() error {
			_, err := q.Receive(ctx, &bookdv1.ReceiveRequest{Queue: "work", Max: 0})
			return err
		}, connect.CodeInvalidArgument, "max:"},
		{"max 5000", func() error {
			_, err := q.Receive(ctx, &bookdv1.ReceiveRequest{Queue: "work", Max: 5000})
			return err
		}, connect.CodeInvalidArgument, "max:"},
		{"visibility under 1 s", func() error {
			_, err := q.Receive(ctx, &bookdv1.ReceiveRequest{Queue: "work", Max: 1, Visibility: durationpb.New(time.Millisecond)})
			return err
		}, connect.CodeInvalidArgument, "visibility:"},
		{"bad lease", func() error {
			_, err := q.Ack(ctx, &bookdv1.AckRequest{Queue: "work", LeaseIds: []string{"abc"}})
			return err
		}, connect.CodeInvalidArgument, "lease_ids[0]:"},
		{"peek limit", func() error {
			_, err := q.PeekMessages(ctx, &bookdv1.PeekMessagesRequest{Queue: "work", Limit: -1})
			return err
		}, connect.CodeInvalidArgument, "limit:"},
		{"unknown queue receive", func() error {
			_, err := q.Receive(ctx, &bookdv1.ReceiveRequest{Queue: "nope", Max: 1})
			return err
		}, connect.CodeNotFound, "queue nope not found"},
		{"unknown queue get", func() error {
			_, err := q.GetQueue(ctx, &bookdv1.GetQueueRequest{Queue: "nope"})
			return err
		}, connect.CodeNotFound, "queue nope not found"},
	} {
		err := tc.call()
		var ce *connect.Error
		if !errors.As(err, &ce) || ce.Code() != tc.code || !strings.Contains(ce.Message(), tc.field) {
			t.Errorf("%s: %v, want %s naming %q", tc.name, err, tc.code, tc.field)
		}
	}
	// NOT_FOUND answers went to the log as commands; INVALID_ARGUMENT did not.
	if after := leader.Server.Node().FSM().AppliedIndex(); after > before+1 {
		t.Errorf("bad requests appended %d entries", after-before)
	}
}
