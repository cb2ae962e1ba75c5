package client_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/bookd/bookd/client"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/rpc/clustertest"
)

// errSeen ends a watch once the change a test waits for arrived.
var errSeen = errors.New("seen the last change")

// lastCustomer's hold is the last write of a test that watches.
const lastCustomer = "the-end"

// watchUntil watches until it sees lastCustomer's hold, and returns every
// change given to it.
func watchUntil(ctx context.Context, c *client.Client, req *bookdv1.WatchChangesRequest, seen func(n int)) ([]*bookdv1.Change, error) {
	var got []*bookdv1.Change
	err := c.Watch(ctx, req, func(ch *bookdv1.Change) error {
		got = append(got, ch)
		if seen != nil {
			seen(len(got))
		}
		if ch.GetKind() == "hold_created" && ch.GetCustomerId() == lastCustomer {
			return errSeen
		}
		return nil
	})
	if errors.Is(err, errSeen) {
		err = nil
	}
	return got, err
}

// A watch served by a follower resumes on another node when that follower
// stops, and sees the same changes, in the same order, as a watch of the
// whole feed made afterwards: none missed, none repeated.
func TestWatchResumesAcrossStoppedNode(t *testing.T) {
	cl := clustertest.Start(t, 3, clustertest.Options{})
	leader := cl.WaitReady()
	var watched *clustertest.Node
	eps := []string{}
	for _, nd := range cl.Nodes {
		if nd != leader && watched == nil {
			watched = nd
			eps = append([]string{nd.RPCAddr}, eps...) // the watch starts there
		} else {
			eps = append(eps, nd.RPCAddr)
		}
	}
	writer := realClient(t, cl.Endpoints())
	resumes := &lineLog{t: t}
	watcher := realClient(t, eps, client.WithLogger(slog.New(slog.NewTextHandler(resumes, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	ctx := ctxWithTimeout(t, 60*time.Second)

	counted := make(chan int, 1000)
	type result struct {
		changes []*bookdv1.Change
		err     error
	}
	done := make(chan result, 1)
	go func() {
		got, err := watchUntil(ctx, watcher, &bookdv1.WatchChangesRequest{}, func(n int) { counted <- n })
		done <- result{got, err}
	}()

	ev := newEvent(t, writer, 1000, "A1", "A2", "A3", "A4")
	writeSome := func(round int) error {
		for i := range 10 {
			h, err := writer.Hold(ctx, &bookdv1.HoldRequest{EventId: ev.GetId(), CustomerId: fmt.Sprintf("c%d-%d", round, i), Quantity: 1})
			if err != nil {
				return fmt.Errorf("round %d hold %d: %w", round, i, err)
			}
			if i%2 == 0 {
				_, err = writer.Confirm(ctx, &bookdv1.ConfirmRequest{HoldId: h.GetId()})
			} else {
				_, err = writer.ReleaseHold(ctx, &bookdv1.ReleaseHoldRequest{HoldId: h.GetId()})
			}
			if err != nil {
				return fmt.Errorf("round %d write %d: %w", round, i, err)
			}
		}
		return nil
	}
	if err := writeSome(0); err != nil {
		t.Fatal(err)
	}
	waitCount(t, ctx, counted, 21) // the event and 20 hold changes
	// Stop the watched node while round 1 is being written and watched.
	wrote := make(chan error, 1)
	go func() { wrote <- writeSome(1) }()
	waitCount(t, ctx, counted, 26)
	cl.Stop(watched)
	if err := <-wrote; err != nil {
		t.Fatal(err)
	}
	if err := writeSome(2); err != nil {
		t.Fatal(err)
	}
	if _, err := writer.Hold(ctx, &bookdv1.HoldRequest{EventId: ev.GetId(), CustomerId: lastCustomer, Seats: []string{"A1"}}); err != nil {
		t.Fatal(err)
	}

	var res result
	select {
	case res = <-done:
	case <-ctx.Done():
		t.Fatal("the watch did not reach the last change")
	}
	if res.err != nil {
		t.Fatalf("Watch: %v", res.err)
	}
	full, err := watchUntil(ctx, realClient(t, cl.Endpoints()), &bookdv1.WatchChangesRequest{}, nil)
	if err != nil {
		t.Fatalf("Watch of the full feed: %v", err)
	}
	if len(full) != 62 {
		t.Fatalf("the full feed has %d changes, want 62", len(full))
	}
	if n := resumes.count("resuming watch"); n == 0 {
		t.Error("the watch never resumed: it was not served by the stopped node")
	}
	if a, b := cursors(res.changes), cursors(full); !slices.Equal(a, b) {
		t.Fatalf("the resumed watch saw %d changes, the full feed has %d:\n%v\n%v", len(a), len(b), a, b)
	}
	for i, ch := range res.changes {
		if ch.GetKind() != full[i].GetKind() || ch.GetHoldId() != full[i].GetHoldId() {
			t.Fatalf("change %d is %v, the full feed's %v", i, ch, full[i])
		}
	}
	t.Logf("%d changes, %s stopped mid-stream", len(full), watched.ID)
}

// waitCount waits until the watch reports at least n changes.
func waitCount(t *testing.T, ctx context.Context, counted <-chan int, n int) {
	t.Helper()
	for {
		select {
		case got := <-counted:
			if got >= n {
				return
			}
		case <-ctx.Done():
			t.Fatalf("the watch did not deliver %d changes", n)
		}
	}
}

func cursors(changes []*bookdv1.Change) []string {
	var out []string
	for _, c := range changes {
		out = append(out, c.GetCursor())
	}
	return out
}

// FromNow skips what was there before; a cursor resumes right after it;
// EventId keeps one event's changes; bad cursors and the caller's own error
// end the watch with that error, not a retry.
func TestWatchStartsAndStops(t *testing.T) {
	c := realClient(t, endpoints)
	ctx := ctxWithTimeout(t, 30*time.Second)
	before := newEvent(t, c, 10)

	first := make(chan *bookdv1.Change, 1)
	errc := make(chan error, 1)
	go func() {
		errc <- c.Watch(ctx, &bookdv1.WatchChangesRequest{FromNow: true}, func(ch *bookdv1.Change) error {
			first <- ch
			return errSeen
		})
	}()
	// The watch may start after this write: write until it reports one.
	var after *bookdv1.Event
	for after == nil {
		ev := newEvent(t, c, 10)
		select {
		case ch := <-first:
			if ch.GetEventId() == before.GetId() {
				t.Fatalf("FromNow delivered %v, made before the watch", ch)
			}
			after = ev
			if err := <-errc; !errors.Is(err, errSeen) {
				t.Fatalf("Watch returned %v, want the callback's error", err)
			}
		case <-time.After(500 * time.Millisecond):
		}
	}

	// From a cursor, only one event's changes.
	var beforeCursor string
	findCtx, stop := context.WithCancel(ctx)
	c.Watch(findCtx, &bookdv1.WatchChangesRequest{EventId: before.GetId()}, func(ch *bookdv1.Change) error {
		beforeCursor = ch.GetCursor()
		stop()
		return nil
	})
	if beforeCursor == "" {
		t.Fatal("no change for the first event")
	}
	h, err := c.Hold(ctx, &bookdv1.HoldRequest{EventId: after.GetId(), CustomerId: "w", Quantity: 2})
	if err != nil {
		t.Fatal(err)
	}
	err = c.Watch(ctx, &bookdv1.WatchChangesRequest{Cursor: beforeCursor, EventId: after.GetId()}, func(ch *bookdv1.Change) error {
		if ch.GetEventId() != after.GetId() {
			t.Errorf("change of event %s in a watch of %s", ch.GetEventId(), after.GetId())
		}
		if ch.GetKind() == "hold_created" && ch.GetHoldId() == h.GetId() && ch.GetQuantity() == 2 {
			return errSeen
		}
		return nil
	})
	if !errors.Is(err, errSeen) {
		t.Fatalf("watch for the hold: %v", err)
	}

	for _, bad := range []*bookdv1.WatchChangesRequest{
		{Cursor: "12"},
		{Cursor: "1-0", FromNow: true},
		{EventId: "nope"},
	} {
		err := c.Watch(ctx, bad, func(*bookdv1.Change) error { return nil })
		if connect.CodeOf(err) != connect.CodeInvalidArgument {
			t.Errorf("Watch(%v) = %v, want INVALID_ARGUMENT", bad, err)
		}
	}
}

// lineLog counts the log lines of a Client and copies them to the test log.
type lineLog struct {
	t     *testing.T
	mu    sync.Mutex
	lines []string
}

func (l *lineLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, strings.TrimSpace(string(p)))
	l.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func (l *lineLog) count(substr string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, line := range l.lines {
		if strings.Contains(line, substr) {
			n++
		}
	}
	return n
}
