package rpc_test

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/proto/bookd/v1/bookdv1connect"
	"github.com/bookd/bookd/rpc"
	"github.com/bookd/bookd/rpc/clustertest"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
)

// One cluster serves all the API behaviour tests: they are independent
// events on it.
func TestAPI(t *testing.T) {
	c := clustertest.Start(t, 3, clustertest.Options{})
	ctx := context.Background()
	ev := createEvent(t, c.Nodes[0].RPCAddr, 10, seatLabels(5))

	t.Run("ErrorCodes", func(t *testing.T) {
		cl := bookingClient(c.Nodes[1].RPCAddr)
		tests := []struct {
			name     string
			call     func() error
			code     connect.Code
			mentions string
			reason   string
		}{
			{"missing customer", func() error {
				_, err := cl.Hold(ctx, &bookdv1.HoldRequest{EventId: ev.Id, Quantity: 1})
				return err
			}, connect.CodeInvalidArgument, "customer_id", ""},
			{"ttl too long", func() error {
				_, err := cl.Hold(ctx, &bookdv1.HoldRequest{EventId: ev.Id, CustomerId: "c", Quantity: 1, Ttl: durationpb.New(48 * time.Hour)})
				return err
			}, connect.CodeInvalidArgument, "ttl", ""},
			{"too many seats", func() error {
				_, err := cl.Hold(ctx, &bookdv1.HoldRequest{EventId: ev.Id, CustomerId: "c", Seats: seatLabels(51)})
				return err
			}, connect.CodeInvalidArgument, "seats", ""},
			{"name too long", func() error {
				_, err := cl.CreateEvent(ctx, &bookdv1.CreateEventRequest{Name: strings.Repeat("x", 201), Capacity: 1})
				return err
			}, connect.CodeInvalidArgument, "name", ""},
			{"unknown event", func() error {
				_, err := cl.GetEvent(ctx, &bookdv1.GetEventRequest{EventId: "ev_99999"})
				return err
			}, connect.CodeNotFound, "ev_99999", ""},
			{"unknown booking", func() error {
				_, err := cl.CancelBooking(ctx, &bookdv1.CancelBookingRequest{BookingId: "bk_99999"})
				return err
			}, connect.CodeNotFound, "bk_99999", ""},
			{"sold out", func() error {
				_, err := cl.Book(ctx, &bookdv1.BookRequest{EventId: ev.Id, CustomerId: "c", Quantity: 11})
				return err
			}, connect.CodeFailedPrecondition, "tickets left", "SOLD_OUT"},
			{"unknown seat", func() error {
				_, err := cl.Book(ctx, &bookdv1.BookRequest{EventId: ev.Id, CustomerId: "c", Seats: []string{"Z1"}})
				return err
			}, connect.CodeInvalidArgument, "Z1", "UNKNOWN_SEAT"},
			{"bad consistency", func() error {
				_, err := cl.GetEvent(ctx, &bookdv1.GetEventRequest{EventId: ev.Id, Read: &bookdv1.ReadOptions{Consistency: 42}})
				return err
			}, connect.CodeInvalidArgument, "read.consistency", ""},
			{"request too large", func() error {
				_, err := cl.CreateEvent(ctx, &bookdv1.CreateEventRequest{Name: "big", Seats: seatLabels(rpc.MaxRequestBytes / 5)})
				return err
			}, connect.CodeResourceExhausted, "", ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				err := tt.call()
				var ce *connect.Error
				if !asConnect(err, &ce) || ce.Code() != tt.code || !strings.Contains(ce.Message(), tt.mentions) {
					t.Fatalf("got %v, want %s mentioning %q", err, tt.code, tt.mentions)
				}
				if got := ce.Meta().Get(rpc.ReasonHeader); got != tt.reason {
					t.Errorf("reason %q, want %q", got, tt.reason)
				}
			})
		}
	})

	t.Run("IdempotentRetryThroughAnotherNode", func(t *testing.T) {
		req := &bookdv1.BookRequest{EventId: ev.Id, CustomerId: "c", Seats: []string{"A1"}, IdempotencyKey: "order-1"}
		first, err := bookingClient(c.Nodes[0].RPCAddr).Book(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		again, err := bookingClient(c.Nodes[2].RPCAddr).Book(ctx, req)
		if err != nil {
			t.Fatalf("retry: %v", err)
		}
		if !proto.Equal(first.Booking, again.Booking) {
			t.Errorf("retry answered %v, first %v", again.Booking, first.Booking)
		}
		other := proto.Clone(req).(*bookdv1.BookRequest)
		other.Seats = []string{"A2"}
		_, err = bookingClient(c.Nodes[1].RPCAddr).Book(ctx, other)
		if codeOf(err) != connect.CodeAlreadyExists {
			t.Errorf("same key, other request: %v, want already_exists", err)
		}
		av, _ := bookingClient(c.Nodes[1].RPCAddr).GetAvailability(ctx, &bookdv1.GetAvailabilityRequest{EventId: ev.Id})
		if av.BookedSeats != 1 {
			t.Errorf("booked seats = %d after a retried booking, want 1", av.BookedSeats)
		}
	})

	t.Run("HoldExpires", func(t *testing.T) {
		cl := bookingClient(c.Nodes[2].RPCAddr)
		h, err := cl.Hold(ctx, &bookdv1.HoldRequest{EventId: ev.Id, CustomerId: "c", Seats: []string{"A5"}, Ttl: durationpb.New(time.Second)})
		if err != nil {
			t.Fatal(err)
		}
		c.Eventually(10*time.Second, func() error {
			got, err := cl.GetHold(ctx, &bookdv1.GetHoldRequest{HoldId: h.Hold.Id})
			if err != nil {
				return err
			}
			if got.Hold.Status != bookdv1.HoldStatus_HOLD_STATUS_EXPIRED {
				return errorf("hold is %s", got.Hold.Status)
			}
			return nil
		})
		_, err = cl.Confirm(ctx, &bookdv1.ConfirmRequest{HoldId: h.Hold.Id})
		var ce *connect.Error
		if !asConnect(err, &ce) || ce.Code() != connect.CodeFailedPrecondition || ce.Meta().Get(rpc.ReasonHeader) != "HOLD_EXPIRED" {
			t.Fatalf("confirm of an expired hold: %v", err)
		}
		av, err := cl.GetAvailability(ctx, &bookdv1.GetAvailabilityRequest{EventId: ev.Id})
		if err != nil {
			t.Fatal(err)
		}
		if !contains(av.FreeSeats, "A5") {
			t.Errorf("expired hold's seat A5 not free: %v", av.FreeSeats)
		}
	})

	t.Run("StaleReadWithinBound", func(t *testing.T) {
		for _, nd := range c.Nodes {
			_, err := bookingClient(nd.RPCAddr).GetEvent(ctx, &bookdv1.GetEventRequest{EventId: ev.Id,
				Read: &bookdv1.ReadOptions{Consistency: bookdv1.Consistency_CONSISTENCY_STALE, MaxStaleness: durationpb.New(5 * time.Second)}})
			if err != nil {
				t.Errorf("%s: %v", nd.ID, err)
			}
		}
	})

	t.Run("GRPCAndGRPCWebAndHealth", func(t *testing.T) {
		for _, opt := range []connect.ClientOption{connect.WithGRPC(), connect.WithGRPCWeb()} {
			cl := bookdv1connect.NewBookingServiceClient(h2c, "http://"+c.Nodes[1].RPCAddr, opt)
			if _, err := cl.GetEvent(ctx, &bookdv1.GetEventRequest{EventId: ev.Id}); err != nil {
				t.Errorf("GetEvent: %v", err)
			}
		}
		resp, err := h2c.Post("http://"+c.Nodes[0].RPCAddr+"/grpc.health.v1.Health/Check", "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(body), "SERVING") {
			t.Errorf("health check answered %d %s", resp.StatusCode, body)
		}
	})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func asConnect(err error, target **connect.Error) bool {
	ce, ok := err.(*connect.Error)
	if ok {
		*target = ce
	}
	return ok
}
