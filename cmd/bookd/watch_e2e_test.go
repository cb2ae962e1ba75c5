package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bookd/bookd/client"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"google.golang.org/protobuf/encoding/protojson"
)

// watchProc is a `bookd watch -o json` process and the changes it printed.
type watchProc struct {
	cmd    *exec.Cmd
	stderr bytes.Buffer
	mu     sync.Mutex
	seen   []*bookdv1.Change
	bad    []string
	done   chan struct{} // closed when its stdout ends
}

func startWatch(t *testing.T, bin string, endpoints []string) *watchProc {
	t.Helper()
	w := &watchProc{done: make(chan struct{})}
	w.cmd = exec.Command(bin, "watch", "-o", "json", "--endpoints", strings.Join(endpoints, ","))
	w.cmd.Stderr = &w.stderr
	out, err := w.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(w.done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			ch := new(bookdv1.Change)
			w.mu.Lock()
			if err := protojson.Unmarshal(sc.Bytes(), ch); err != nil {
				w.bad = append(w.bad, sc.Text())
			} else {
				w.seen = append(w.seen, ch)
			}
			w.mu.Unlock()
		}
	}()
	return w
}

// waitFor waits until the process printed a change that matches.
func (w *watchProc) waitFor(ctx context.Context, t *testing.T, what string, match func(*bookdv1.Change) bool) {
	t.Helper()
	for {
		w.mu.Lock()
		found := slices.ContainsFunc(w.seen, match)
		n := len(w.seen)
		w.mu.Unlock()
		if found {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("bookd watch printed %d changes, none %s; stderr:\n%s", n, what, w.stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// `bookd watch`, a real process reading the feed from the leader, goes on
// from the last change it printed on another node when the leader is
// SIGKILLed, and prints exactly the feed a fresh reader sees afterwards.
func TestWatchProcessResumesAcrossSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs four processes")
	}
	c := startProcCluster(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	leader := c.leader(ctx)
	eps := []string{leader.rpcAddr} // the watch reads from the leader first
	for _, p := range c.procs {
		if p != leader {
			eps = append(eps, p.rpcAddr)
		}
	}
	w := startWatch(t, c.bin, eps)
	defer w.cmd.Process.Kill()

	// Writes go on through the election that follows the kill.
	cl, err := client.New(c.endpoints(), client.WithMaxAttempts(40), client.WithBackoff(20*time.Millisecond, 500*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ev, err := cl.CreateEvent(ctx, &bookdv1.CreateEventRequest{Name: "Gala", Capacity: 1000})
	if err != nil {
		t.Fatal(err)
	}
	book := func(customer string) *bookdv1.Booking {
		t.Helper()
		b, err := cl.Book(ctx, &bookdv1.BookRequest{EventId: ev.Id, CustomerId: customer, Quantity: 1})
		if err != nil {
			t.Fatalf("book for %s: %v", customer, err)
		}
		return b
	}
	var last *bookdv1.Booking
	for i := range 30 {
		last = book(fmt.Sprintf("before-%d", i))
	}
	w.waitFor(ctx, t, "for the 30th booking", func(ch *bookdv1.Change) bool { return ch.BookingId == last.Id })
	c.kill(leader)
	for i := range 30 {
		book(fmt.Sprintf("after-%d", i))
	}
	end := book("the-end")
	w.waitFor(ctx, t, "for the last booking", func(ch *bookdv1.Change) bool { return ch.BookingId == end.Id })

	var full []*bookdv1.Change
	errEnd := errors.New("end")
	err = cl.Watch(ctx, &bookdv1.WatchChangesRequest{}, func(ch *bookdv1.Change) error {
		full = append(full, ch)
		if ch.BookingId == end.Id {
			return errEnd
		}
		return nil
	})
	if !errors.Is(err, errEnd) {
		t.Fatalf("reading the full feed: %v", err)
	}
	if len(full) != 62 {
		t.Errorf("the full feed has %d changes, want 62 (the event and 61 bookings)", len(full))
	}

	w.cmd.Process.Signal(syscall.SIGINT)
	<-w.done
	if err := w.cmd.Wait(); err != nil {
		t.Errorf("bookd watch after SIGINT: %v; stderr:\n%s", err, w.stderr.String())
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.bad) > 0 {
		t.Errorf("bookd watch printed lines that are not changes: %q", w.bad)
	}
	got, want := changeCursors(w.seen), changeCursors(full)
	if !slices.Equal(got, want) {
		t.Fatalf("bookd watch printed %d changes, the feed has %d:\n%v\n%v", len(got), len(want), got, want)
	}
	if !strings.Contains(w.stderr.String(), "resuming watch") {
		t.Errorf("bookd watch never said it resumed; stderr:\n%s", w.stderr.String())
	}
	t.Logf("bookd watch printed the %d changes of the feed across the leader's SIGKILL", len(got))
}

func changeCursors(changes []*bookdv1.Change) []string {
	var out []string
	for _, ch := range changes {
		out = append(out, ch.Cursor)
	}
	return out
}
