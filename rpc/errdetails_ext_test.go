package rpc_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/bookd/bookd/client"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/proto/bookd/v1/bookdv1connect"
	"github.com/bookd/bookd/rpc"
	"github.com/bookd/bookd/rpc/clustertest"
)

// protocols are the wire protocols a test speaks to a node.
var protocols = []struct {
	name string
	opts []connect.ClientOption
}{
	{"connect", nil},
	{"grpc", []connect.ClientOption{connect.WithGRPC()}},
	{"grpcweb", []connect.ClientOption{connect.WithGRPCWeb()}},
}

// TestRefusalsCarryErrorDetails: a node's refusals carry the standard
// details (google.rpc.ErrorInfo with reason, domain and metadata; a
// BadRequest naming the field of an INVALID_ARGUMENT), over each protocol,
// from the leader and relayed by a follower; the Bookd-Reason header stays.
func TestRefusalsCarryErrorDetails(t *testing.T) {
	c := clustertest.Start(t, 3, clustertest.Options{})
	leader := c.WaitReady()
	follower := otherThan(c, leader)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ev := createEvent(t, leader.RPCAddr, 10, []string{"A1", "A2"}).GetId()
	if _, err := retry(ctx, func(ctx context.Context) (*bookdv1.HoldResponse, error) {
		return bookingClient(leader.RPCAddr).Hold(ctx, &bookdv1.HoldRequest{EventId: ev, CustomerId: "alice", Seats: []string{"A1"}, IdempotencyKey: "alice-a1"})
	}); err != nil {
		t.Fatalf("hold A1: %v", err)
	}

	for _, p := range protocols {
		for _, at := range []struct {
			name string
			node *clustertest.Node
		}{{"leader", leader}, {"follower", follower}} {
			t.Run(p.name+"/"+at.name, func(t *testing.T) {
				bc := bookdv1connect.NewBookingServiceClient(h2c, "http://"+at.node.RPCAddr, p.opts...)
				key := p.name + "-" + at.name

				// Seat taken, taken apart by hand as any Connect or gRPC client would.
				_, err := bc.Hold(ctx, &bookdv1.HoldRequest{EventId: ev, CustomerId: "bob", Seats: []string{"A1"}, IdempotencyKey: key + "-taken"})
				info := wantInfo(t, err, connect.CodeFailedPrecondition, "SEAT_TAKEN")
				if got := client.Reason(err); got != client.ReasonSeatTaken {
					t.Errorf("Bookd-Reason %q, want %q", got, client.ReasonSeatTaken)
				}
				// A follower sends single writes to the leader in a
				// BatchWrite, whose results carry the metadata too.
				if info.GetMetadata()["seat"] != "A1" || info.GetMetadata()["eventId"] != ev {
					t.Errorf("ErrorInfo metadata %v, want seat A1 of event %s", info.GetMetadata(), ev)
				}
				if md := client.ErrorMetadata(err); md[client.MetaSeat] != "A1" {
					t.Errorf("client.ErrorMetadata %v, want seat A1", md)
				}

				// A refusal the follower relays from the leader keeps it all.
				_, err = bc.JoinWaitlist(ctx, &bookdv1.JoinWaitlistRequest{EventId: ev, CustomerId: "carol", Quantity: 1, IdempotencyKey: key + "-wait"})
				info = wantInfo(t, err, connect.CodeFailedPrecondition, "AVAILABLE")
				if info.GetMetadata()["eventId"] != ev || info.GetMetadata()["asked"] != "1" {
					t.Errorf("ErrorInfo metadata %v, want event %s, 1 asked", info.GetMetadata(), ev)
				}

				// A bad field is named in a BadRequest.
				_, err = bc.Hold(ctx, &bookdv1.HoldRequest{EventId: "nope", CustomerId: "bob", Quantity: 1, IdempotencyKey: key + "-bad"})
				wantInfo(t, err, connect.CodeInvalidArgument, "INVALID_ARGUMENT")
				if fv := fieldViolations(err); len(fv) != 1 || fv[0].GetField() != "event_id" || fv[0].GetDescription() == "" {
					t.Errorf("field violations %v, want one for event_id", fv)
				}
				if fv := client.FieldViolations(err); len(fv) != 1 || fv[0].Field != "event_id" {
					t.Errorf("client.FieldViolations %v, want event_id", fv)
				}

				// Not found names what was not found.
				_, err = bc.ExtendHold(ctx, &bookdv1.ExtendHoldRequest{HoldId: "hd_999999", Ttl: durationpb.New(time.Minute), IdempotencyKey: key + "-nf"})
				info = wantInfo(t, err, connect.CodeNotFound, "NOT_FOUND")
				if info.GetMetadata()["holdId"] != "hd_999999" {
					t.Errorf("ErrorInfo metadata %v, want holdId hd_999999", info.GetMetadata())
				}
				if r := client.Reason(err); r != "" {
					t.Errorf("client.Reason of a NOT_FOUND without a bookd reason = %q, want none", r)
				}
			})
		}
	}
}

// TestShedRefusalCarriesRetryInfo: a write a node sheds is
// RESOURCE_EXHAUSTED with a google.rpc.RetryInfo of the node's hint, over
// Connect and gRPC.
func TestShedRefusalCarriesRetryInfo(t *testing.T) {
	c := clustertest.Start(t, 3, clustertest.Options{Shed: rpc.ShedConfig{MaxPendingWrites: 1, RetryAfter: 300 * time.Millisecond}})
	leader := c.WaitReady()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ev := createEvent(t, leader.RPCAddr, 1_000_000, nil).GetId()
	for _, p := range protocols[:2] {
		t.Run(p.name, func(t *testing.T) {
			bc := bookdv1connect.NewBookingServiceClient(h2c, "http://"+leader.RPCAddr, p.opts...)
			shed := burstUntilShed(ctx, t, bc, ev, p.name)
			ri := detail[*errdetails.RetryInfo](shed)
			if ri == nil || ri.GetRetryDelay().AsDuration() != 300*time.Millisecond {
				t.Fatalf("shed refusal %v has RetryInfo %v, want 300ms", shed, ri)
			}
			if d := client.RetryAfter(shed); d != 300*time.Millisecond {
				t.Errorf("client.RetryAfter = %v, want 300ms", d)
			}
			wantInfo(t, shed, connect.CodeResourceExhausted, "RESOURCE_EXHAUSTED")
		})
	}
}

// burstUntilShed sends bursts of concurrent holds until the node sheds one,
// and returns that refusal.
func burstUntilShed(ctx context.Context, t *testing.T, bc bookdv1connect.BookingServiceClient, ev, prefix string) error {
	t.Helper()
	for round := 0; ctx.Err() == nil; round++ {
		var (
			mu   sync.Mutex
			shed error
			wg   sync.WaitGroup
		)
		for i := range 64 {
			wg.Go(func() {
				_, err := bc.Hold(ctx, &bookdv1.HoldRequest{EventId: ev, CustomerId: "c", Quantity: 1, IdempotencyKey: fmt.Sprintf("%s-%d-%d", prefix, round, i)})
				if connect.CodeOf(err) == connect.CodeResourceExhausted {
					mu.Lock()
					shed = err
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if shed != nil {
			return shed
		}
	}
	t.Fatal("no hold was shed before the deadline")
	return nil
}

// wantInfo checks err's code and its ErrorInfo's reason and domain, and
// returns the ErrorInfo.
func wantInfo(t *testing.T, err error, code connect.Code, reason string) *errdetails.ErrorInfo {
	t.Helper()
	if connect.CodeOf(err) != code {
		t.Fatalf("error %v, want code %v", err, code)
	}
	info := detail[*errdetails.ErrorInfo](err)
	if info == nil {
		t.Fatalf("error %v has no ErrorInfo", err)
	}
	if info.GetReason() != reason || info.GetDomain() != rpc.ErrorDomain {
		t.Errorf("ErrorInfo reason %q domain %q, want %q %q", info.GetReason(), info.GetDomain(), reason, rpc.ErrorDomain)
	}
	return info
}

// detail is err's first detail of type T, or T's zero (nil).
func detail[T proto.Message](err error) T {
	var zero T
	var ce *connect.Error
	if !errors.As(err, &ce) {
		return zero
	}
	for _, d := range ce.Details() {
		v, err := d.Value()
		if err != nil {
			continue
		}
		if m, ok := v.(T); ok {
			return m
		}
	}
	return zero
}

func fieldViolations(err error) []*errdetails.BadRequest_FieldViolation {
	return detail[*errdetails.BadRequest](err).GetFieldViolations()
}

// otherThan is a node of c other than nd.
func otherThan(c *clustertest.Cluster, nd *clustertest.Node) *clustertest.Node {
	for _, o := range c.Nodes {
		if o != nd {
			return o
		}
	}
	return nil
}
