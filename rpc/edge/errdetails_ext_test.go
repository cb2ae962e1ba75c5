package edge_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/proto"

	"github.com/bookd/bookd/client"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/rpc/clustertest"
	"github.com/bookd/bookd/rpc/edge"
)

// TestEdgeRefusalsCarryErrorDetails: what an edge refuses, or relays from
// the cluster, carries the standard details: a seat-taken refusal its
// ErrorInfo (the edge batches writes, whose results carry the reason but
// no metadata), a bad field its BadRequest, a throttled hold its RetryInfo.
func TestEdgeRefusalsCarryErrorDetails(t *testing.T) {
	c := clustertest.Start(t, 3, clustertest.Options{})
	c.WaitReady()
	cl := newClient(t, c.Endpoints())
	ev := createEvent(t, cl, &bookdv1.CreateEventRequest{Name: "Details", Seats: []string{"A1", "A2"}}).GetId()
	portalKey := []byte("portal key of the details test, 32+ bytes")
	run, _ := startEdge(t, c, edge.Config{Identity: testIdentity(t, portalKey)})
	alice := tokenClient(run, signHS256(t, portalKey, "alice", time.Now().Add(time.Hour)))
	bob := tokenClient(run, signHS256(t, portalKey, "bob", time.Now().Add(time.Hour)))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	if _, err := alice.Hold(ctx, &bookdv1.HoldRequest{EventId: ev, Seats: []string{"A1"}, IdempotencyKey: "alice-a1"}); err != nil {
		t.Fatalf("alice holds A1: %v", err)
	}
	_, err := bob.Hold(ctx, &bookdv1.HoldRequest{EventId: ev, Seats: []string{"A1"}, IdempotencyKey: "bob-a1"})
	if connect.CodeOf(err) != connect.CodeFailedPrecondition || client.Reason(err) != client.ReasonSeatTaken {
		t.Fatalf("bob holds A1: %v, want SEAT_TAKEN", err)
	}
	if info := detail[*errdetails.ErrorInfo](err); info.GetReason() != client.ReasonSeatTaken || info.GetDomain() != client.ErrorDomain {
		t.Errorf("seat-taken ErrorInfo %v, want reason SEAT_TAKEN in %s", info, client.ErrorDomain)
	}

	_, err = bob.Hold(ctx, &bookdv1.HoldRequest{EventId: "nope", Quantity: 1, IdempotencyKey: "bob-bad"})
	if fv := client.FieldViolations(err); connect.CodeOf(err) != connect.CodeInvalidArgument || len(fv) != 1 || fv[0].Field != "event_id" {
		t.Errorf("hold of event nope: %v with field violations %v, want INVALID_ARGUMENT naming event_id", err, fv)
	}

	throttled, _ := startEdge(t, c, edge.Config{Identity: testIdentity(t, portalKey), EventRate: 0.001, EventBurst: 1})
	carol := tokenClient(throttled, signHS256(t, portalKey, "carol", time.Now().Add(time.Hour)))
	var shed error
	for i := 0; shed == nil && i < 3; i++ { // the burst of one lets the first through
		_, err = carol.Hold(ctx, &bookdv1.HoldRequest{EventId: ev, Seats: []string{"A2"}, IdempotencyKey: fmt.Sprint("carol-", i)})
		if connect.CodeOf(err) == connect.CodeResourceExhausted {
			shed = err
		}
	}
	if shed == nil {
		t.Fatal("an edge allowing one hold per event refused none of three")
	}
	if d := client.RetryAfter(shed); d <= 0 {
		t.Errorf("throttled hold %v: retry-after %v, want > 0", shed, d)
	}
	if ri := detail[*errdetails.RetryInfo](shed); ri.GetRetryDelay().AsDuration() <= 0 {
		t.Errorf("throttled hold %v has RetryInfo %v, want a delay", shed, ri)
	}
}

// detail is err's first detail of type T, or T's zero (nil).
func detail[T proto.Message](err error) T {
	var zero T
	var ce *connect.Error
	if !errors.As(err, &ce) {
		return zero
	}
	for _, d := range ce.Details() {
		if v, err := d.Value(); err == nil {
			if m, ok := v.(T); ok {
				return m
			}
		}
	}
	return zero
}
