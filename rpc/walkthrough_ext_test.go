package rpc_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/proto/bookd/v1/bookdv1connect"
	"github.com/bookd/bookd/rpc/clustertest"
)

// jsonCall posts a Connect-JSON request, as curl would, and decodes the
// answer; code is "" on success, else the Connect error code.
func jsonCall(t *testing.T, addr, method, body string) (out map[string]any, code string) {
	t.Helper()
	resp, err := http.Post("http://"+addr+"/bookd.v1.BookingService/"+method, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s answered %d %q: %v", method, resp.StatusCode, raw, err)
	}
	if resp.StatusCode != http.StatusOK {
		code, _ = out["code"].(string)
	}
	return out, code
}

// must is jsonCall that fails the test on an error.
func must(t *testing.T, addr, method, body string) map[string]any {
	t.Helper()
	out, code := jsonCall(t, addr, method, body)
	if code != "" {
		t.Fatalf("%s %s: %s %v", method, body, code, out["message"])
	}
	return out
}

func field(m map[string]any, path ...string) any {
	var v any = m
	for _, p := range path {
		mm, _ := v.(map[string]any)
		v = mm[p]
	}
	return v
}

// The walkthrough, as a new user would try it over Connect-JSON
// against a 3-node cluster, through a follower.
func TestWalkthroughOverConnectJSON(t *testing.T) {
	c := clustertest.Start(t, 3, clustertest.Options{})
	leader := c.WaitReady()
	var follower *clustertest.Node
	for _, nd := range c.Nodes {
		if nd != leader {
			follower = nd
		}
	}
	addr := follower.RPCAddr

	// A product with departures on several dates, searchable by date and availability.
	product := field(must(t, addr, "CreateProduct", `{"name":"Lisbon by tram"}`), "product", "id").(string)
	departure := func(day string, body string) string {
		return field(must(t, addr, "CreateEvent", fmt.Sprintf(`{"name":"Lisbon by tram %s","productId":%q,"startsAt":"2026-12-%sT09:00:00Z",%s}`, day, product, day, body)), "event", "id").(string)
	}
	dec3 := departure("03", `"capacity":1,"maxTicketsPerCustomer":2`)
	dec1 := departure("01", `"sections":[{"name":"TRAM","rows":[{"name":"A","seats":8,"blocked":[1]},{"name":"B","seats":8}]}],"maxTicketsPerCustomer":4`)
	dec2 := departure("02", `"capacity":5`)
	must(t, addr, "Book", fmt.Sprintf(`{"eventId":%q,"customerId":"early","quantity":5}`, dec2)) // sells dec2 out
	list := must(t, addr, "ListEvents", fmt.Sprintf(`{"productId":%q,"startsAfter":"2026-12-01T00:00:00Z","startsBefore":"2026-12-04T00:00:00Z","minAvailable":1}`, product))
	var ids []string
	for _, e := range list["events"].([]any) {
		ids = append(ids, e.(map[string]any)["id"].(string))
	}
	if want := []string{dec1, dec3}; !slices.Equal(ids, want) {
		t.Errorf("departures with a ticket left in December 1-3: %v, want %v (by start time, sold-out %s left out)", ids, want, dec2)
	}

	// A watcher on the follower, from the start of the feed.
	stream := watchJSON(t, addr, "")

	// A 2 s hold on a seat frees it after 2 s, and the feed reports the expiry.
	hold := field(must(t, addr, "Hold", fmt.Sprintf(`{"eventId":%q,"customerId":"ana","seats":["TRAM-A-2"],"ttl":"2s"}`, dec1)), "hold", "id").(string)
	time.Sleep(2 * time.Second)
	c.Eventually(10*time.Second, func() error {
		av := must(t, addr, "GetAvailability", fmt.Sprintf(`{"eventId":%q}`, dec1))
		if !slices.Contains(av["freeSeats"].([]any), any("TRAM-A-2")) {
			return fmt.Errorf("TRAM-A-2 not free yet")
		}
		return nil
	})
	expired := stream.until(t, func(ch *bookdv1.Change) bool { return ch.Kind == "hold_expired" && ch.HoldId == hold })
	if expired == nil {
		t.Fatal("the feed did not report the expiry")
	}

	// Best available gives adjacent seats: 3 in row A, beside the blocked A-1.
	best := must(t, addr, "Hold", fmt.Sprintf(`{"eventId":%q,"customerId":"ben","quantity":3,"bestAvailable":true,"section":"TRAM"}`, dec1))
	seats := field(best, "hold", "seats").([]any)
	if fmt.Sprint(seats) != "[TRAM-A-3 TRAM-A-4 TRAM-A-5]" && fmt.Sprint(seats) != "[TRAM-A-4 TRAM-A-5 TRAM-A-6]" {
		t.Errorf("best available gave %v, want 3 adjacent seats in the middle of row A", seats)
	}

	// A customer over the limit is refused: ben holds 3 of at most 4.
	out, code := jsonCall(t, addr, "Hold", fmt.Sprintf(`{"eventId":%q,"customerId":"ben","quantity":2,"bestAvailable":true}`, dec1))
	if code != "failed_precondition" || !strings.Contains(fmt.Sprint(out["message"]), "at most 4") {
		t.Errorf("hold over the limit: %s %v, want failed_precondition naming the limit", code, out["message"])
	}

	// A waitlisted customer gets an offer when a hold expires.
	must(t, addr, "Hold", fmt.Sprintf(`{"eventId":%q,"customerId":"cy","quantity":1,"ttl":"2s"}`, dec3))
	out, code = jsonCall(t, addr, "Hold", fmt.Sprintf(`{"eventId":%q,"customerId":"dee","quantity":1}`, dec3))
	if code != "failed_precondition" {
		t.Fatalf("hold on a sold-out departure: %s %v", code, out)
	}
	entry := field(must(t, addr, "JoinWaitlist", fmt.Sprintf(`{"eventId":%q,"customerId":"dee","quantity":1}`, dec3)), "entry", "id").(string)
	offer := stream.until(t, func(ch *bookdv1.Change) bool { return ch.Kind == "waitlist_offer" && ch.WaitlistEntryId == entry })
	if offer == nil || offer.CustomerId != "dee" {
		t.Fatalf("no offer to dee in the feed: %v", offer)
	}
	got := must(t, addr, "GetWaitlistEntry", fmt.Sprintf(`{"entryId":%q}`, entry))
	if field(got, "entry", "status") != "WAITLIST_STATUS_OFFERED" || field(got, "entry", "holdId") != offer.HoldId {
		t.Errorf("waitlist entry after the offer: %v", got)
	}
	must(t, addr, "Confirm", fmt.Sprintf(`{"holdId":%q,"paymentRef":"pay-dee"}`, offer.HoldId))

	// A retried Book with the same key returns the same booking; a different
	// body with the same key is refused.
	body := fmt.Sprintf(`{"eventId":%q,"customerId":"eve","seats":["TRAM-B-4"],"idempotencyKey":"order-1"}`, dec1)
	first := field(must(t, addr, "Book", body), "booking", "id")
	again := field(must(t, leader.RPCAddr, "Book", body), "booking", "id")
	if first != again {
		t.Errorf("retried Book booked %v, then %v", first, again)
	}
	out, code = jsonCall(t, addr, "Book", fmt.Sprintf(`{"eventId":%q,"customerId":"eve","seats":["TRAM-B-5"],"idempotencyKey":"order-1"}`, dec1))
	if code != "already_exists" || !strings.Contains(fmt.Sprint(out["message"]), "idempotency_key") {
		t.Errorf("same key, other body: %s %v, want already_exists naming idempotency_key", code, out["message"])
	}

	// The follower's feed, resumed from a cursor, misses and repeats nothing.
	all := stream.until(t, func(ch *bookdv1.Change) bool { return ch.Kind == "booking_confirmed" && ch.BookingId == first })
	if all == nil {
		t.Fatal("the feed did not report eve's booking")
	}
	seen := stream.seen
	cut := len(seen) / 2
	resumed := watchJSON(t, c.Nodes[0].RPCAddr, seen[cut-1].Cursor)
	tail := resumed.until(t, func(ch *bookdv1.Change) bool { return ch.Cursor == seen[len(seen)-1].Cursor })
	if tail == nil || len(resumed.seen) != len(seen)-cut {
		t.Fatalf("resumed at %s: %d changes, want %d", seen[cut-1].Cursor, len(resumed.seen), len(seen)-cut)
	}
	for i, ch := range resumed.seen {
		if ch.Cursor != seen[cut+i].Cursor || ch.Kind != seen[cut+i].Kind {
			t.Errorf("resumed change %d is %s %s, want %s %s", i, ch.Cursor, ch.Kind, seen[cut+i].Cursor, seen[cut+i].Kind)
		}
	}
}

// jsonWatch is a WatchChanges stream in Connect's JSON encoding.
type jsonWatch struct {
	stream *connect.ServerStreamForClient[bookdv1.WatchChangesResponse]
	seen   []*bookdv1.Change
}

func watchJSON(t *testing.T, addr, cursor string) *jsonWatch {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	cl := bookdv1connect.NewBookingServiceClient(h2c, "http://"+addr, connect.WithProtoJSON())
	stream, err := cl.WatchChanges(ctx, &bookdv1.WatchChangesRequest{Cursor: cursor})
	if err != nil {
		t.Fatalf("watch %s from %q: %v", addr, cursor, err)
	}
	t.Cleanup(func() { stream.Close() })
	return &jsonWatch{stream: stream}
}

// until receives changes until one satisfies ok, and returns it (nil if the
// stream ends first).
func (w *jsonWatch) until(t *testing.T, ok func(*bookdv1.Change) bool) *bookdv1.Change {
	t.Helper()
	for _, ch := range w.seen {
		if ok(ch) {
			return ch
		}
	}
	for w.stream.Receive() {
		for _, ch := range w.stream.Msg().GetChanges() {
			w.seen = append(w.seen, ch)
			if ok(ch) {
				return ch
			}
		}
	}
	t.Logf("stream ended: %v", w.stream.Err())
	return nil
}
