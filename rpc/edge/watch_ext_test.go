package edge_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"

	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/proto/bookd/v1/bookdv1connect"
	"github.com/bookd/bookd/rpc"
	"github.com/bookd/bookd/rpc/clustertest"
	"github.com/bookd/bookd/rpc/edge"
)

// countWatches counts the WatchChanges streams nodes serve.
type countWatches struct{ n *atomic.Int64 }

func (c countWatches) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc { return next }
func (c countWatches) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}
func (c countWatches) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		if strings.HasSuffix(conn.Spec().Procedure, "/WatchChanges") {
			c.n.Add(1)
		}
		return next(ctx, conn)
	}
}

// Shoppers watching an event through the edge see each booking of it as it
// commits, with nobody's ids in it, over one stream from the cluster
// however many of them watch.
func TestEdgeStreamsPublicChangesOfOneEvent(t *testing.T) {
	var upstream atomic.Int64
	c := clustertest.Start(t, 3, clustertest.Options{Configure: func(_ string, cfg *rpc.ServerConfig) {
		cfg.Interceptors = append(cfg.Interceptors, countWatches{&upstream})
	}})
	c.WaitReady()
	run, _ := startEdge(t, c, edge.Config{})
	ev := createEvent(t, newClient(t, c.Endpoints()), &bookdv1.CreateEventRequest{Name: "live", Capacity: 10})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	const watchers = 12
	shop := bookdv1connect.NewBookingServiceClient(http.DefaultClient, "http://"+run.Addr())
	var streams []*connect.ServerStreamForClient[bookdv1.WatchChangesResponse]
	for range watchers {
		s, err := shop.WatchChanges(ctx, &bookdv1.WatchChangesRequest{EventId: ev.GetId()})
		if err != nil {
			t.Fatal(err)
		}
		if !s.Receive() { // the empty first message: watching
			t.Fatalf("stream ended before it started: %v", s.Err())
		}
		defer s.Close()
		streams = append(streams, s)
	}
	buyer := edgeShopper(t, run)
	hold, err := buyer.Hold(ctx, &bookdv1.HoldRequest{EventId: ev.GetId(), Quantity: 2, PaymentRef: "pi_secret"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := buyer.Confirm(ctx, &bookdv1.ConfirmRequest{HoldId: hold.GetHold().GetId(), ClientSecret: hold.GetHold().GetClientSecret()}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i, s := range streams {
		wg.Go(func() {
			var got []*bookdv1.Change
			for len(got) < 2 && s.Receive() {
				got = append(got, s.Msg().GetChanges()...)
			}
			if len(got) != 2 || got[0].GetType() != bookdv1.ChangeKind_CHANGE_KIND_HOLD_CREATED ||
				got[1].GetType() != bookdv1.ChangeKind_CHANGE_KIND_BOOKING_CONFIRMED {
				t.Errorf("watcher %d got %v (%v), want hold_created then booking_confirmed", i, got, s.Err())
				return
			}
			for _, ch := range got {
				if ch.GetQuantity() != 2 || ch.GetEventId() != ev.GetId() || ch.GetCustomerId() != "" ||
					ch.GetHoldId() != "" || ch.GetBookingId() != "" || ch.GetPaymentRef() != "" {
					t.Errorf("watcher %d: change %v, want the event and quantity and no one's ids", i, ch)
				}
			}
		})
	}
	wg.Wait()
	if n := upstream.Load(); n != 1 {
		t.Errorf("%d watchers of one event opened %d streams to the cluster, want 1", watchers, n)
	}
}

// edgeShopper is a guest of the edge who keeps its session cookie.
func edgeShopper(t *testing.T, run *edge.Running) bookdv1connect.BookingServiceClient {
	t.Helper()
	return bookdv1connect.NewBookingServiceClient(&http.Client{Jar: newJar()}, "http://"+run.Addr())
}

func TestEdgeWatchRefusals(t *testing.T) {
	c := clustertest.Start(t, 1, clustertest.Options{})
	c.WaitReady()
	run, _ := startEdge(t, c, edge.Config{})
	ev := createEvent(t, newClient(t, c.Endpoints()), &bookdv1.CreateEventRequest{Name: "live", Capacity: 10})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	shop := bookdv1connect.NewBookingServiceClient(http.DefaultClient, "http://"+run.Addr())
	first := func(req *bookdv1.WatchChangesRequest) error {
		s, err := shop.WatchChanges(ctx, req)
		if err != nil {
			return err
		}
		defer s.Close()
		s.Receive()
		return s.Err()
	}
	for _, tc := range []struct {
		req  *bookdv1.WatchChangesRequest
		code connect.Code
		text string
	}{
		{&bookdv1.WatchChangesRequest{}, connect.CodeInvalidArgument, "event_id"},
		{&bookdv1.WatchChangesRequest{EventId: ev.GetId(), Cursor: "1-0"}, connect.CodeInvalidArgument, "cursor"},
		{&bookdv1.WatchChangesRequest{EventId: "ev_999999"}, connect.CodeNotFound, "event ev_999999 not found"},
	} {
		err := first(tc.req)
		var ce *connect.Error
		if !errors.As(err, &ce) || ce.Code() != tc.code || !strings.Contains(ce.Message(), tc.text) {
			t.Errorf("watch %v: %v, want %s naming %q", tc.req, err, tc.code, tc.text)
		}
	}
	// One client address may hold a bounded number of streams.
	var open []*connect.ServerStreamForClient[bookdv1.WatchChangesResponse]
	var refused error
	for range 64 {
		s, err := shop.WatchChanges(ctx, &bookdv1.WatchChangesRequest{EventId: ev.GetId()})
		if err == nil && !s.Receive() {
			err = s.Err()
		}
		if err != nil {
			refused = err
			break
		}
		open = append(open, s)
	}
	for _, s := range open {
		s.Close()
	}
	if connect.CodeOf(refused) != connect.CodeResourceExhausted || len(open) == 0 {
		t.Errorf("after %d streams from one address: %v, want RESOURCE_EXHAUSTED", len(open), refused)
	}
}
