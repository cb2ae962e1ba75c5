package coalesce

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// A lone call leaves at once; calls made while a batch is out leave
// together in the next, each getting its own outcome.
func TestCallsWhileABatchIsOutLeaveTogether(t *testing.T) {
	release := make(chan struct{})
	var mu sync.Mutex
	var sizes []int
	b := New(Config{MaxItems: 100, MaxInFlight: 1}, func(_ context.Context, items []int) ([]int, error) {
		mu.Lock()
		sizes = append(sizes, len(items))
		first := len(sizes) == 1
		mu.Unlock()
		if first {
			<-release // hold the first batch out while the others queue
		}
		out := make([]int, len(items))
		for i, it := range items {
			out[i] = it * 10
		}
		return out, nil
	})
	ctx := context.Background()
	var wg sync.WaitGroup
	got := make([]int, 51)
	wg.Go(func() { got[0], _ = b.Do(ctx, 0) })
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(sizes) == 1 })
	for i := 1; i <= 50; i++ {
		wg.Go(func() { got[i], _ = b.Do(ctx, i) })
	}
	waitFor(t, func() bool { b.mu.Lock(); defer b.mu.Unlock(); return len(b.queue) == 50 })
	close(release)
	wg.Wait()
	if len(sizes) != 2 || sizes[0] != 1 || sizes[1] != 50 {
		t.Fatalf("batch sizes %v, want [1 50]", sizes)
	}
	for i, v := range got {
		if v != i*10 {
			t.Fatalf("item %d got %d, want %d", i, v, i*10)
		}
	}
}

// A full batch leaves even while another is out.
func TestAFullBatchLeavesAtOnce(t *testing.T) {
	release := make(chan struct{})
	sent := make(chan int, 10)
	b := New(Config{MaxItems: 3, MaxInFlight: 1}, func(_ context.Context, items []int) ([]int, error) {
		sent <- len(items)
		<-release
		return items, nil
	})
	var wg sync.WaitGroup
	wg.Go(func() { b.Do(context.Background(), 0) })
	if n := <-sent; n != 1 {
		t.Fatalf("first batch of %d", n)
	}
	for i := range 3 {
		wg.Go(func() { b.Do(context.Background(), i) })
	}
	if n := <-sent; n != 3 {
		t.Fatalf("full batch of %d, want 3", n)
	}
	close(release)
	wg.Wait()
}

// An item whose caller has gone before its batch leaves is not sent, and
// the caller gets its context's error; the send outlives any one caller.
func TestGoneCallersAreNotSent(t *testing.T) {
	release := make(chan struct{})
	var mu sync.Mutex
	var batches [][]int
	var deadlines []bool
	b := New(Config{MaxItems: 10, MaxInFlight: 1}, func(ctx context.Context, items []int) ([]int, error) {
		mu.Lock()
		batches = append(batches, items)
		_, ok := ctx.Deadline()
		deadlines = append(deadlines, ok)
		first := len(batches) == 1
		mu.Unlock()
		if first {
			<-release
		}
		return items, nil
	})
	var wg sync.WaitGroup
	wg.Go(func() { b.Do(context.Background(), 1) })
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(batches) == 1 })
	gone, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { _, err := b.Do(gone, 2); errc <- err }()
	patient, cancelPatient := context.WithTimeout(context.Background(), time.Minute)
	defer cancelPatient()
	wg.Go(func() { b.Do(patient, 3) })
	waitFor(t, func() bool { b.mu.Lock(); defer b.mu.Unlock(); return len(b.queue) == 2 })
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("gone caller got %v, want context.Canceled", err)
	}
	close(release)
	wg.Wait()
	if len(batches) != 2 || len(batches[1]) != 1 || batches[1][0] != 3 {
		t.Fatalf("batches %v, want [[1] [3]]", batches)
	}
	if deadlines[0] || !deadlines[1] {
		t.Fatalf("deadlines %v: the first batch (no deadline, no timeout) has none, the second its caller's", deadlines)
	}
}

// A send that answers the wrong number of outcomes fails every item.
func TestMiscountedOutcomesFailEveryItem(t *testing.T) {
	b := New(Config{MaxItems: 10, MaxInFlight: 1}, func(_ context.Context, items []int) ([]int, error) {
		return nil, nil
	})
	_, err := b.Do(context.Background(), 1)
	var count *CountError
	if !errors.As(err, &count) || count.Sent != 1 || count.Got != 0 {
		t.Fatalf("got %v, want a CountError of 1 sent, 0 got", err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 10s")
		}
		time.Sleep(time.Millisecond)
	}
}
