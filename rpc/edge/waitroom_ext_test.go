package edge_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/bookd/bookd/client"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/rpc/clustertest"
	"github.com/bookd/bookd/rpc/edge"
	"github.com/bookd/bookd/rpc/waitroom"
)

// roomStatus calls the waiting room's JSON API as a new visitor.
func roomStatus(t *testing.T, method, url string) waitroom.Status {
	t.Helper()
	return roomCall(t, nil, method, url)
}

// TestWaitingRoomGatesHoldsAndClosesWhenSoldOut: on an event with a room,
// a hold needs the room's token; a token from one edge works on another
// that shares the secret; once holds cover the capacity, newcomers are
// told the event is sold out instead of being admitted.
func TestWaitingRoomGatesHoldsAndClosesWhenSoldOut(t *testing.T) {
	c := clustertest.Start(t, 3, clustertest.Options{})
	cl := newClient(t, c.Endpoints())
	ev := createEvent(t, cl, &bookdv1.CreateEventRequest{Name: "Viral deal", Capacity: 2})

	// Two edges share the secret; each has its own room for the event.
	var runs []*edge.Running
	for range 2 {
		runs = append(runs, startGatedEdge(t, c, "shared edge secret, 16+ bytes", ev.GetId(), 1000, edge.Config{Staleness: 50 * time.Millisecond}))
	}
	jar := newJar() // the shopper, at both edges
	ec := shopperClient(jar, runs[1])
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	hold := func(token string) error {
		hctx, info := connect.NewClientContext(ctx)
		if token != "" {
			info.RequestHeader().Set(edge.AdmissionHeader, token)
		}
		_, err := ec.Hold(hctx, &bookdv1.HoldRequest{EventId: ev.GetId(), Quantity: 2})
		return err
	}
	err := hold("")
	if connect.CodeOf(err) != connect.CodePermissionDenied || client.Reason(err) != edge.ReasonAdmissionRequired {
		t.Fatalf("hold without a token: %v, want PERMISSION_DENIED %s", err, edge.ReasonAdmissionRequired)
	}

	// Queue at edge 0, hold through edge 1 with its token.
	base := fmt.Sprintf("http://%s/waitroom/v1/events/%s", runs[0].Addr(), ev.GetId())
	st := roomCall(t, jar, "POST", base+"/join")
	if st.State != waitroom.StateAdmitted || st.Token == "" {
		t.Fatalf("joining an idle room: %+v, want admitted", st)
	}
	if err := hold(st.Token); err != nil {
		t.Fatalf("hold with the token edge 0 gave: %v", err)
	}

	// Holds now cover the capacity: the room says so to newcomers.
	deadline := time.Now().Add(30 * time.Second)
	for {
		st = roomStatus(t, "POST", base+"/join")
		if st.State == waitroom.StateSoldOut {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after selling out the room still answers %+v", st)
		}
		time.Sleep(20 * time.Millisecond) // the edge's cache is 50ms stale at most
	}
}
