package client_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"

	"connectrpc.com/connect"

	"github.com/bookd/bookd/client"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/proto/bookd/v1/bookdv1connect"
)

// fakeQueueNode answers Ack as scripted: each call takes the next error
// (nil: success with the scripted failures).
type fakeQueueNode struct {
	bookdv1connect.UnimplementedQueueServiceHandler
	addr string

	mu       sync.Mutex
	errs     []error
	failures []*bookdv1.LeaseFailure
	acks     int
}

func newFakeQueueNode(t *testing.T, failures []*bookdv1.LeaseFailure, errs ...error) *fakeQueueNode {
	t.Helper()
	f := &fakeQueueNode{errs: errs, failures: failures}
	mux := http.NewServeMux()
	mux.Handle(bookdv1connect.NewQueueServiceHandler(f))
	srv := httptest.NewUnstartedServer(mux)
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetHTTP1(true)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Start()
	t.Cleanup(srv.Close)
	f.addr = srv.Listener.Addr().String()
	return f
}

func (f *fakeQueueNode) Ack(_ context.Context, req *bookdv1.AckRequest) (*bookdv1.AckResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.acks++
	if len(f.errs) > 0 {
		err := f.errs[0]
		f.errs = f.errs[1:]
		if err != nil {
			return nil, err
		}
	}
	return &bookdv1.AckResponse{Failures: f.failures}, nil
}

func (f *fakeQueueNode) ackCalls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.acks
}

func leaseRefusal(reason string) error {
	e := connect.NewError(connect.CodeFailedPrecondition, errors.New("lease 7.1: message 7 was acked, dead-lettered or dropped"))
	e.Meta().Set("Bookd-Reason", reason)
	return e
}

// An Ack whose first sending had an unknown outcome and whose second finds
// the lease gone was acked: Queues().Ack answers success (one lease) or
// leaves the lease out of Failures (several). Sent once, LEASE_GONE is
// the node's answer as it stands.
func TestQueuesAckSentAgainCountsGoneAsAcked(t *testing.T) {
	gone := &bookdv1.LeaseFailure{LeaseId: "7.1", Reason: client.ReasonLeaseGone}
	lapsed := &bookdv1.LeaseFailure{LeaseId: "8.1", Reason: client.ReasonLeaseLapsed}
	unavailable := connect.NewError(connect.CodeUnavailable, errors.New("leader lost"))
	tests := []struct {
		name         string
		leases       []string
		failures     []*bookdv1.LeaseFailure
		errs         []error
		wantCode     connect.Code // 0: success
		wantFailures []string
		wantSent     int
	}{
		{"one lease, sent again", []string{"7.1"}, nil, []error{unavailable, leaseRefusal(client.ReasonLeaseGone)}, 0, nil, 2},
		{"one lease, sent once", []string{"7.1"}, nil, []error{leaseRefusal(client.ReasonLeaseGone)}, connect.CodeFailedPrecondition, nil, 1},
		{"one lapsed lease, sent again", []string{"7.1"}, nil, []error{unavailable, leaseRefusal(client.ReasonLeaseLapsed)}, connect.CodeFailedPrecondition, nil, 2},
		{"several, sent again", []string{"7.1", "8.1", "9.1"}, []*bookdv1.LeaseFailure{gone, lapsed}, []error{unavailable}, 0, []string{"8.1"}, 2},
		{"several, sent once", []string{"7.1", "8.1", "9.1"}, []*bookdv1.LeaseFailure{gone, lapsed}, nil, 0, []string{"7.1", "8.1"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := newFakeQueueNode(t, tt.failures, tt.errs...)
			c := newClient(t, []string{n.addr})
			res, err := c.Queues().Ack(t.Context(), &bookdv1.AckRequest{Queue: "q", LeaseIds: tt.leases})
			if tt.wantCode != 0 {
				if connect.CodeOf(err) != tt.wantCode {
					t.Fatalf("Ack: %v, want code %v", err, tt.wantCode)
				}
			} else if err != nil {
				t.Fatalf("Ack: %v", err)
			}
			var got []string
			for _, f := range res.GetFailures() {
				got = append(got, f.GetLeaseId())
			}
			if !slices.Equal(got, tt.wantFailures) {
				t.Errorf("failures %v, want %v", got, tt.wantFailures)
			}
			if sent := n.ackCalls(); sent != tt.wantSent {
				t.Errorf("Ack sent %d times, want %d", sent, tt.wantSent)
			}
		})
	}
}
