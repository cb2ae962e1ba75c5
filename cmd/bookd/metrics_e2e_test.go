package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bookd/bookd/client"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
)

// /metrics on the admin listener, scraped after a run of bookings, counts
// the Book calls the client made (by code), the tickets sold and the Raft
// indexes, and carries Raft's and Pebble's statistics.
func TestMetricsAfterBookings(t *testing.T) {
	debug := freePort(t)
	c := startProcCluster(t, 1, "--debug-addr", debug)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c.leader(ctx)
	cl, err := client.New(c.endpoints())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ev, err := cl.CreateEvent(ctx, &bookdv1.CreateEventRequest{Name: "Scraped", Capacity: 30})
	if err != nil {
		t.Fatal(err)
	}
	const booked, refused = 30, 5
	for i := range booked + refused {
		_, err := cl.Book(ctx, &bookdv1.BookRequest{EventId: ev.Id, CustomerId: fmt.Sprint("c", i), Quantity: 1})
		if (i < booked) != (err == nil) {
			t.Fatalf("booking %d: %v", i, err)
		}
	}

	resp, err := http.Get("http://" + debug + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	text := string(body)
	for _, want := range []struct {
		series string
		value  float64
	}{
		{`bookd_rpc_duration_seconds_count{code="ok",forwarded="false",procedure="bookd.v1.BookingService/Book"}`, booked},
		{`bookd_rpc_duration_seconds_count{code="failed_precondition",forwarded="false",procedure="bookd.v1.BookingService/Book"}`, refused},
		{fmt.Sprintf(`bookd_event_tickets{event="%s",status="sold"}`, ev.Id), booked},
		{`bookd_raft_state{state="Leader"}`, 1},
		{`bookd_events`, 1},
	} {
		if got, ok := sample(text, want.series); !ok || got != want.value {
			t.Errorf("%s = %v (found %v), want %v", want.series, got, ok, want.value)
		}
	}
	for _, name := range []string{"bookd_raft_applied_index", "bookd_raft_commitTime", "bookd_raft_fsm_applyBatch", "bookd_pebble_disk_usage_bytes", "bookd_rpc_duration_seconds_bucket"} {
		if !strings.Contains(text, name) {
			t.Errorf("/metrics has no %s", name)
		}
	}
	if v, _ := sample(text, "bookd_raft_applied_index"); v < booked {
		t.Errorf("applied index %v after %d bookings", v, booked)
	}
}

// sample finds a series' value in the Prometheus text format.
func sample(text, series string) (float64, bool) {
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindStringSubmatch(text)
	if m == nil {
		return 0, false
	}
	v, err := strconv.ParseFloat(m[1], 64)
	return v, err == nil
}
