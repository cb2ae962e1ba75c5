package rpc_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"connectrpc.com/connect"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/proto/bookd/v1/bookdv1connect"
)

var h2c = func() *http.Client {
	t := &http.Transport{Protocols: new(http.Protocols), MaxIdleConnsPerHost: 256}
	t.Protocols.SetUnencryptedHTTP2(true)
	t.Protocols.SetHTTP1(true)
	return &http.Client{Transport: t}
}()

func bookingClient(addr string) bookdv1connect.BookingServiceClient {
	return bookdv1connect.NewBookingServiceClient(h2c, "http://"+addr)
}

func clusterClient(addr string) bookdv1connect.ClusterServiceClient {
	return bookdv1connect.NewClusterServiceClient(h2c, "http://"+addr)
}

// retry calls fn until it returns something other than UNAVAILABLE: the
// caller keeps the same request (and idempotency key) across attempts.
// ok is false when the outcome stayed unknown.
func retry[T any](ctx context.Context, fn func(context.Context) (T, error)) (resp T, err error) {
	for {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		resp, err = fn(cctx)
		cancel()
		if err == nil || !outcomeUnknown(err) || ctx.Err() != nil {
			return resp, err
		}
		select {
		case <-ctx.Done():
			return resp, err
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// outcomeUnknown reports errors after which the call may or may not have
// taken effect: the cluster was unavailable or the connection broke.
func outcomeUnknown(err error) bool {
	switch connect.CodeOf(err) {
	case connect.CodeUnavailable, connect.CodeCanceled, connect.CodeDeadlineExceeded, connect.CodeUnknown:
		return true
	}
	return false
}

func createEvent(t testing.TB, addr string, capacity int64, seats []string) *bookdv1.Event {
	t.Helper()
	resp, err := retry(context.Background(), func(ctx context.Context) (*bookdv1.CreateEventResponse, error) {
		return bookingClient(addr).CreateEvent(ctx, &bookdv1.CreateEventRequest{Name: "Flash sale", Capacity: capacity, Seats: seats, IdempotencyKey: "create-" + t.Name()})
	})
	if err != nil {
		t.Fatalf("create event: %v", err)
	}
	return resp.Event
}

func codeOf(err error) connect.Code {
	var ce *connect.Error
	if errors.As(err, &ce) {
		return ce.Code()
	}
	return connect.CodeUnknown
}

func staleRead() *bookdv1.ReadOptions {
	return &bookdv1.ReadOptions{Consistency: bookdv1.Consistency_CONSISTENCY_STALE}
}

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }

func itoa(i int) string { return strconv.Itoa(i) }
