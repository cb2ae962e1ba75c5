package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/bookd/bookd/client"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/rpc/clustertest"
	"google.golang.org/protobuf/types/known/durationpb"
)

// bookd queues over a real cluster: create, list, stats, peek, dead,
// redrive, purge and delete, with the refusals' exit codes.
func TestQueuesCLI(t *testing.T) {
	c := clustertest.Start(t, 3, clustertest.Options{})
	t.Setenv("BOOKD_ENDPOINTS", strings.Join(c.Endpoints(), ","))
	var ev bookdv1.Event
	runProto(t, &ev, "events", "create", "--name", "Receipts night", "--capacity", "10")

	var created bookdv1.CreateQueueResponse
	runProto(t, &created, "queues", "create", "receipts", "--kinds", "booking_confirmed,booking_cancelled", "--event", ev.Id)
	if q := created.GetQueue(); q.GetName() != "receipts" || strings.Join(q.GetKinds(), ",") != "booking_cancelled,booking_confirmed" ||
		q.GetEventId() != ev.Id || q.GetMaxAttempts() != 8 || q.GetRetryMin().AsDuration() != 10*time.Second {
		t.Fatalf("queues create = %v", q)
	}
	runProto(t, &created, "queues", "create", "payments", "--kinds", "booking_confirmed", "--max-attempts", "3",
		"--retry-delay", "1s..1m", "--retention", "2d", "--ordered-by", "booking")
	if q := created.GetQueue(); q.GetMaxAttempts() != 3 || q.GetRetryMin().AsDuration() != time.Second || q.GetRetryMax().AsDuration() != time.Minute ||
		q.GetRetention().AsDuration() != 48*time.Hour || q.GetOrdering() != bookdv1.QueueOrdering_QUEUE_ORDERING_BY_BOOKING {
		t.Fatalf("queues create payments = %v", q)
	}
	for _, customer := range []string{"ann", "bob"} {
		if out, code := run(t, "book", ev.Id, "--customer", customer, "--quantity", "1"); code != 0 {
			t.Fatalf("book: exit %d: %s", code, out)
		}
	}
	var got bookdv1.GetQueueResponse
	runProto(t, &got, "queues", "stats", "receipts")
	if s := got.GetQueue().GetStats(); s.GetDepth() != 2 || s.GetEnqueued() != 2 || s.GetOldestEnqueuedAt() == nil {
		t.Fatalf("queues stats = %v, want 2 messages", s)
	}
	if out, code := run(t, "queues", "peek", "receipts"); code != 0 || strings.Count(out, "booking_confirmed bk_") != 2 {
		t.Fatalf("queues peek: exit %d:\n%s", code, out)
	}

	// A worker gives one message up: it is a dead letter until redriven.
	cl, err := client.New(c.Endpoints())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := cl.Queues().Receive(ctx, &bookdv1.ReceiveRequest{Queue: "receipts", Max: 1, Visibility: durationpb.New(time.Minute)})
	if err != nil || len(res.GetMessages()) != 1 {
		t.Fatalf("Receive: %v, %v", res.GetMessages(), err)
	}
	m := res.GetMessages()[0]
	if _, err := cl.Queues().Nack(ctx, &bookdv1.NackRequest{Queue: "receipts", LeaseId: m.GetLeaseId(), Error: "550 mailbox unavailable", GiveUp: true}); err != nil {
		t.Fatal(err)
	}
	if out, code := run(t, "queues", "dead", "receipts"); code != 0 || !strings.Contains(out, "550 mailbox unavailable") || !strings.Contains(out, m.GetKey()) {
		t.Fatalf("queues dead: exit %d:\n%s", code, out)
	}
	if out, code := run(t, "queues", "list"); code != 0 || !strings.Contains(out, "payments") ||
		!strings.Contains(out, "receipts  booking_cancelled,booking_confirmed  "+ev.Id) {
		t.Fatalf("queues list: exit %d:\n%s", code, out)
	}
	var redriven bookdv1.RedriveResponse
	runProto(t, &redriven, "queues", "redrive", "receipts", m.GetId())
	if redriven.GetRedriven() != 1 {
		t.Fatalf("queues redrive = %v, want 1", &redriven)
	}
	runProto(t, &got, "queues", "stats", "receipts")
	if s := got.GetQueue().GetStats(); s.GetDepth() != 2 || s.GetDeadLetters() != 0 || s.GetDeadLettered() != 1 {
		t.Fatalf("queues stats after redrive = %v", s)
	}
	var purged bookdv1.PurgeQueueResponse
	runProto(t, &purged, "queues", "purge", "receipts")
	if purged.GetPurged() != 2 {
		t.Fatalf("queues purge = %v, want 2", &purged)
	}
	if out, code := run(t, "queues", "delete", "receipts"); code != 0 || !strings.Contains(out, "receipts") {
		t.Fatalf("queues delete: exit %d: %s", code, out)
	}

	for _, tc := range []struct {
		args []string
		code int
		says string
	}{
		{[]string{"queues", "stats", "receipts"}, 3, "not found"},
		{[]string{"queues", "redrive", "nope"}, 3, "not found"},
		{[]string{"queues", "create", "payments"}, 2, "already exists"},
		{[]string{"queues", "create", "x", "--kinds", "booking_confirmed,payment_made"}, 2, "--kinds item 2"},
		{[]string{"queues", "create", "x", "--event", ev.Id, "--product", "pr_1"}, 2, "[event product]"},
		{[]string{"queues", "create", "x", "--max-attempts", "101"}, 2, "--max-attempts"},
		{[]string{"queues", "create", "x", "--retry-delay", "soon"}, 2, "--retry-delay"},
		{[]string{"queues", "create", "x", "--retry-delay", "1m..1s"}, 2, "--retry-delay"},
		{[]string{"queues", "create", "x", "--retention", "31d"}, 2, "--retention"},
		{[]string{"queues", "create", "x", "--ordered-by", "customer"}, 2, "--ordered-by"},
		{[]string{"queues", "create", "Bad"}, 2, "NAME"},
		{[]string{"queues", "create"}, 2, "accepts 1 arg"},
		{[]string{"queues", "peek", "payments", "--limit", "0"}, 2, "--limit"},
		{[]string{"queues", "peek", "payments", "--after", "x"}, 2, "--after"},
		{[]string{"queues", "redrive", "payments", "12", "x"}, 2, "ID"},
		{[]string{"queues", "drain", "payments"}, 2, "unknown command"},
	} {
		out, code := run(t, tc.args...)
		if code != tc.code || !strings.Contains(out, tc.says) {
			t.Errorf("bookd %s: exit %d %q, want exit %d saying %q", strings.Join(tc.args, " "), code, out, tc.code, tc.says)
		}
	}
}

func TestParseLongDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		bad  bool
	}{
		{"7d", 7 * 24 * time.Hour, false},
		{"1d12h", 36 * time.Hour, false},
		{"90m", 90 * time.Minute, false},
		{"0s", 0, false},
		{"d", 0, true},
		{"7days", 0, true},
		{"-1s", 0, true},
		{"", 0, true},
	} {
		got, err := parseLongDuration("--retention", tc.in)
		if (err != nil) != tc.bad || got != tc.want {
			t.Errorf("parseLongDuration(%q) = %v, %v; want %v (error %v)", tc.in, got, err, tc.want, tc.bad)
		}
	}
	for d, want := range map[time.Duration]string{10 * time.Second: "10s", 10 * time.Minute: "10m", 90 * time.Minute: "1h30m", 7 * 24 * time.Hour: "7d", 36 * time.Hour: "36h"} {
		if got := shortDuration(d); got != want {
			t.Errorf("shortDuration(%v) = %q, want %q", d, got, want)
		}
	}
}
