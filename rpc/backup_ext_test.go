package rpc_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/bookd/bookd/client"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/raftnode"
	"github.com/bookd/bookd/rpc/clustertest"
)

// A backup taken while clients book restores into a new cluster that holds
// every booking acknowledged before the backup began, and the new cluster
// takes writes.
func TestBackupUnderLoadRestores(t *testing.T) {
	a := clustertest.Start(t, 3, clustertest.Options{})
	ev := createEvent(t, a.Nodes[0].RPCAddr, 1_000_000, nil)
	cl, err := client.New(a.Endpoints())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	var acked []*bookdv1.Booking
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				b, err := cl.Book(ctx, &bookdv1.BookRequest{EventId: ev.Id, CustomerId: fmt.Sprint("w", w), Quantity: 1, IdempotencyKey: fmt.Sprintf("w%d-%d", w, i)})
				if err == nil {
					mu.Lock()
					acked = append(acked, b)
					mu.Unlock()
				}
			}
		})
	}
	waitAcked := func(n int) {
		a.Eventually(30*time.Second, func() error {
			mu.Lock()
			defer mu.Unlock()
			if len(acked) < n {
				return fmt.Errorf("%d bookings acknowledged", len(acked))
			}
			return nil
		})
	}
	waitAcked(50)
	mu.Lock()
	before := append([]*bookdv1.Booking(nil), acked...)
	mu.Unlock()
	var backup bytes.Buffer
	index, err := cl.Backup(context.Background(), &backup)
	if err != nil {
		t.Fatalf("backup under load: %v", err)
	}
	waitAcked(len(before) + 20) // the load went on through the backup
	cancel()
	wg.Wait()
	t.Logf("backup at index %d, %d bytes; %d bookings acknowledged before it", index, backup.Len(), len(before))

	b := clustertest.Start(t, 3, clustertest.Options{Seed: func(dir string, peers []raftnode.Peer) error {
		_, err := raftnode.SeedFromBackup(dir, bytes.NewReader(backup.Bytes()), peers, slog.New(slog.DiscardHandler))
		return err
	}})
	bc, err := client.New(b.Endpoints())
	if err != nil {
		t.Fatal(err)
	}
	defer bc.Close()
	for _, want := range before {
		got, err := bc.GetBooking(context.Background(), want.Id)
		if err != nil || got.EventId != ev.Id || got.Quantity != 1 {
			t.Fatalf("booking %s acknowledged before the backup: %v, %v", want.Id, got, err)
		}
	}
	av, err := bc.Availability(context.Background(), ev.Id)
	if err != nil || av.BookedQuantity < int64(len(before)) || av.AppliedIndex < index {
		t.Fatalf("restored availability %v, %v; want at least %d booked at index >= %d", av, err, len(before), index)
	}
	if _, err := bc.Book(context.Background(), &bookdv1.BookRequest{EventId: ev.Id, CustomerId: "after", Quantity: 1}); err != nil {
		t.Fatalf("book in the restored cluster: %v", err)
	}
	b.WaitConverged()
}

// After losing two of three members for good, the survivor's membership is
// rebuilt (raftnode.RecoverCluster); it then leads alone with every
// acknowledged booking, takes writes, and grows again by a join.
func TestRecoverFromLostQuorum(t *testing.T) {
	c := clustertest.Start(t, 3, clustertest.Options{})
	ev := createEvent(t, c.Nodes[0].RPCAddr, 100, nil)
	cl, err := client.New(c.Endpoints())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for i := range 10 {
		if _, err := cl.Book(context.Background(), &bookdv1.BookRequest{EventId: ev.Id, CustomerId: "c", Quantity: 1, IdempotencyKey: fmt.Sprint("k", i)}); err != nil {
			t.Fatal(err)
		}
	}
	c.WaitConverged()
	for _, nd := range c.Nodes {
		c.Stop(nd)
	}
	survivor := c.Nodes[0]
	peers := []raftnode.Peer{{ID: survivor.ID, RaftAddr: survivor.RaftAddr}}
	if err := raftnode.RecoverCluster(survivor.ID, survivor.DataDir, peers, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatalf("recover: %v", err)
	}
	c.Restart(survivor)
	if leader := c.WaitReady(); leader != survivor {
		t.Fatalf("leader %s, want the survivor", leader.ID)
	}
	sc, err := client.New([]string{survivor.RPCAddr})
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	av, err := sc.Availability(context.Background(), ev.Id)
	if err != nil || av.BookedQuantity != 10 {
		t.Fatalf("after recovery: %v, %v; want 10 booked", av, err)
	}
	if _, err := sc.Book(context.Background(), &bookdv1.BookRequest{EventId: ev.Id, CustomerId: "c", Quantity: 1}); err != nil {
		t.Fatalf("write after recovery: %v", err)
	}
	n4 := c.Join("n4")
	c.Eventually(20*time.Second, func() error { return hasVoter(context.Background(), survivor.RPCAddr, "n4", n4.RPCAddr) })
	c.WaitConverged()
}
