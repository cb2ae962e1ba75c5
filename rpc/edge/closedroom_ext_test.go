package edge_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/rpc/clustertest"
	"github.com/bookd/bookd/rpc/edge"
	"github.com/bookd/bookd/rpc/waitroom"
)

// A waiting room answers sold_out for an event whose sales stopped, with
// tickets and seats left: the event's availability reports none.
func TestWaitingRoomSoldOutWhenEventCloses(t *testing.T) {
	for _, cancel := range []bool{false, true} {
		name := map[bool]string{false: "closed", true: "cancelled"}[cancel]
		t.Run(name, func(t *testing.T) {
			c := clustertest.Start(t, 3, clustertest.Options{})
			cl := newClient(t, c.Endpoints())
			ev := createEvent(t, cl, &bookdv1.CreateEventRequest{Name: "Matinee", Capacity: 5, Seats: []string{"A1", "A2"}})
			run := startGatedEdge(t, c, "edge secret for closed rooms", ev.GetId(), 1000, edge.Config{Staleness: 50 * time.Millisecond})
			join := fmt.Sprintf("http://%s/waitroom/v1/events/%s/join", run.Addr(), ev.GetId())
			if st := roomStatus(t, "POST", join); st.State != waitroom.StateAdmitted {
				t.Fatalf("joining the room of an event on sale: %+v, want admitted", st)
			}

			ctx, done := context.WithTimeout(context.Background(), 30*time.Second)
			defer done()
			var err error
			if cancel {
				_, err = cl.CancelEvent(ctx, &bookdv1.CancelEventRequest{EventId: ev.GetId()})
			} else {
				_, err = cl.CloseEvent(ctx, &bookdv1.CloseEventRequest{EventId: ev.GetId()})
			}
			if err != nil {
				t.Fatal(err)
			}
			// The edge's cached availability is at most 50ms old, and its
			// nodes' at most NodeStaleness.
			c.Eventually(10*time.Second, func() error {
				if st := roomStatus(t, "POST", join); st.State != waitroom.StateSoldOut {
					return fmt.Errorf("joining the room of a %s event: %+v, want sold_out", name, st)
				}
				return nil
			})
		})
	}
}
