package client_test

import (
	"context"
	"errors"
	"fmt"
	"github.com/bookd/bookd/rpc/clustertest"
	"log"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/bookd/bookd/client"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/raftnode"
	"github.com/bookd/bookd/rpc"
	"google.golang.org/protobuf/types/known/durationpb"
)

// endpoints of the real 3-node cluster the examples run against.
var endpoints []string

func TestMain(m *testing.M) {
	stop, err := startCluster()
	if err != nil {
		log.Fatal(err)
	}
	code := m.Run()
	stop()
	os.Exit(code)
}

func startCluster() (func(), error) {
	dir, err := os.MkdirTemp("", "bookd-client-example-")
	if err != nil {
		return nil, err
	}
	var peers []raftnode.Peer
	var rpcAddrs []string
	for i := range 3 {
		peers = append(peers, raftnode.Peer{ID: fmt.Sprintf("n%d", i+1), RaftAddr: freeAddr()})
		rpcAddrs = append(rpcAddrs, freeAddr())
	}
	quiet := slog.New(slog.DiscardHandler)
	var servers []*rpc.Server
	stop := func() {
		for _, s := range servers {
			s.Close()
		}
		os.RemoveAll(dir)
	}
	for i, p := range peers {
		s, err := rpc.StartServer(rpc.ServerConfig{Logger: quiet, Node: raftnode.Config{
			ID: p.ID, DataDir: filepath.Join(dir, p.ID), RaftAddr: p.RaftAddr, RPCAddr: rpcAddrs[i],
			InitialCluster: peers, HeartbeatTimeout: 500 * time.Millisecond, ElectionTimeout: 500 * time.Millisecond,
		}})
		if err != nil {
			stop()
			return nil, err
		}
		servers = append(servers, s)
	}
	endpoints = rpcAddrs
	// Ready when every node knows where the leader serves RPC.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, _ := client.New(endpoints)
	defer c.Close()
	for _, ep := range endpoints {
		for {
			st, err := c.StatusOf(ctx, ep)
			if err == nil && st.LeaderRpcAddress != "" {
				break
			}
			if ctx.Err() != nil {
				stop()
				return nil, fmt.Errorf("cluster not ready: %v", err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return stop, nil
}

func freeAddr() string {
	addr, err := clustertest.FreeAddr()
	if err != nil {
		log.Fatal(err)
	}
	return addr
}

// A customer holds two seats while paying, then the hold is confirmed.
func Example() {
	ctx := context.Background()
	c, err := client.New(endpoints) // any nodes of the cluster
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	ev, err := c.CreateEvent(ctx, &bookdv1.CreateEventRequest{Name: "Harbour tour", Seats: []string{"A1", "A2", "A3"}})
	if err != nil {
		log.Fatal(err)
	}
	hold, err := c.Hold(ctx, &bookdv1.HoldRequest{
		EventId: ev.Id, CustomerId: "alice", Seats: []string{"A1", "A2"},
		Ttl: durationpb.New(10 * time.Minute),
	})
	if err != nil {
		log.Fatal(err)
	}
	booking, err := c.Confirm(ctx, &bookdv1.ConfirmRequest{HoldId: hold.Id, PaymentRef: "pay_42"})
	if err != nil {
		log.Fatal(err)
	}
	av, err := c.Availability(ctx, ev.Id)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("booked", booking.Seats, "for", booking.CustomerId)
	fmt.Println("still free:", av.FreeSeats)
	// Output:
	// booked [A1 A2] for alice
	// still free: [A3]
}

// A seat someone else holds is refused with a reason a program can act on.
func ExampleReason() {
	ctx := context.Background()
	c, err := client.New(endpoints)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ev, err := c.CreateEvent(ctx, &bookdv1.CreateEventRequest{Name: "Night market", Seats: []string{"B1"}})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := c.Hold(ctx, &bookdv1.HoldRequest{EventId: ev.Id, CustomerId: "bob", Seats: []string{"B1"}}); err != nil {
		log.Fatal(err)
	}
	_, err = c.Book(ctx, &bookdv1.BookRequest{EventId: ev.Id, CustomerId: "carol", Seats: []string{"B1"}})
	fmt.Println(client.Reason(err) == client.ReasonSeatTaken)
	// Output: true
}

// Retrying a booking with the same idempotency key returns the first
// booking and sells nothing more, whichever node the retry reaches.
func ExampleClient_Book() {
	ctx := context.Background()
	c, err := client.New(endpoints)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ev, err := c.CreateEvent(ctx, &bookdv1.CreateEventRequest{Name: "Food walk", Capacity: 10})
	if err != nil {
		log.Fatal(err)
	}
	req := &bookdv1.BookRequest{EventId: ev.Id, CustomerId: "dave", Quantity: 3, IdempotencyKey: "order-7731"}
	first, err := c.Book(ctx, req)
	if err != nil {
		log.Fatal(err)
	}
	again, err := c.Book(ctx, req)
	if err != nil {
		log.Fatal(err)
	}
	av, err := c.Availability(ctx, ev.Id)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(first.Id == again.Id, av.AvailableQuantity)
	// Output: true 7
}

// A stale read is answered by whichever node receives it, from its own
// state: cheaper under a surge, but it may lag the leader.
func ExampleStale() {
	ctx := context.Background()
	c, err := client.New(endpoints)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ev, err := c.CreateEvent(ctx, &bookdv1.CreateEventRequest{Name: "Sunset cruise", Capacity: 40})
	if err != nil {
		log.Fatal(err)
	}
	got, err := c.GetEvent(ctx, ev.Id, client.Stale(5*time.Second))
	for connect.CodeOf(err) == connect.CodeNotFound { // this node has not applied the event yet
		time.Sleep(10 * time.Millisecond)
		got, err = c.GetEvent(ctx, ev.Id, client.Stale(5*time.Second))
	}
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(got.Name, got.Capacity)
	// Output: Sunset cruise 40
}

// A consumer (payment capture, receipts) reads the change feed from a
// cursor it keeps: Watch gives it every change once, in commit order, and
// moves to another node by itself if its node fails.
func ExampleClient_Watch() {
	ctx := context.Background()
	c, err := client.New(endpoints)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ev, err := c.CreateEvent(ctx, &bookdv1.CreateEventRequest{Name: "Night market", Capacity: 10})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := c.Book(ctx, &bookdv1.BookRequest{EventId: ev.Id, CustomerId: "erin", Quantity: 2}); err != nil {
		log.Fatal(err)
	}
	done := errors.New("done")
	var cursor string // a real consumer stores it with what it did
	err = c.Watch(ctx, &bookdv1.WatchChangesRequest{EventId: ev.Id, Cursor: cursor}, func(ch *bookdv1.Change) error {
		fmt.Println(ch.Kind, ch.CustomerId, ch.Quantity)
		cursor = ch.Cursor
		if ch.Kind == "booking_confirmed" {
			return done // stop here; a consumer would keep going
		}
		return nil
	})
	if !errors.Is(err, done) {
		log.Fatal(err)
	}
	// Output:
	// event_created  10
	// booking_confirmed erin 2
}
