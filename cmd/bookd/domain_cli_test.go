package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/rpc/clustertest"
	"google.golang.org/protobuf/encoding/protojson"
)

// The booking-domain commands against a real 3-node cluster: products and
// departures searched by date and availability, seat maps with
// best-available holds, extend, limits, the waitlist, close and cancel, the
// bookings of a customer, and the change feed.
func TestCLIBookingDomain(t *testing.T) {
	c := clustertest.Start(t, 3, clustertest.Options{})
	t.Setenv("BOOKD_ENDPOINTS", strings.Join(c.Endpoints(), ","))

	var p struct{ ID, Name string }
	runJSON(t, &p, "products", "create", "--name", "Harbour tour", "--description", "by boat")
	var products struct{ Products []struct{ ID string } }
	runJSON(t, &products, "products", "list", "--all")
	if len(products.Products) != 1 || products.Products[0].ID != p.ID {
		t.Fatalf("products list = %+v, want %s", products, p.ID)
	}

	var days []string
	for _, d := range []string{"2026-12-01", "2026-12-02T10:00:00Z", "2026-12-03T10:00:00+01:00"} {
		var ev struct {
			ID, ProductID, StartsAt string
			Seats                   []string
			MaxTicketsPerCustomer   string
		}
		runJSON(t, &ev, "events", "create", "--name", "Harbour tour "+d, "--product", p.ID, "--starts-at", d,
			"--section", "DECK:A=6/3;B=6", "--section", "TOP:A=4/1-4", "--max-per-customer", "4", "--offer-ttl", "1m")
		if ev.ProductID != p.ID || len(ev.Seats) != 16 || ev.MaxTicketsPerCustomer != "4" {
			t.Fatalf("events create = %+v", ev)
		}
		days = append(days, ev.ID)
	}
	var listed bookdv1.ListEventsResponse
	runProto(t, &listed, "events", "list", "--product", p.ID, "--from", "2026-12-02", "--to", "2026-12-04")
	if ids := idsOf(listed.Events); !slices.Equal(ids, days[1:3]) {
		t.Errorf("events list --from --to = %v, want %v", ids, days[1:3])
	}
	listed.Reset()
	runProto(t, &listed, "events", "list", "--query", "HARBOUR", "--page-size", "1", "--all")
	if ids := idsOf(listed.Events); !slices.Equal(ids, days) || listed.NextPageToken != "" {
		t.Errorf("events list --all = %v (next %q), want %v", ids, listed.NextPageToken, days)
	}
	out, code := run(t, "events", "list", "--query", "harbour", "--page-size", "2")
	if code != 0 || !strings.Contains(out, "--page-token") || strings.Contains(out, days[2]) {
		t.Errorf("events list, one page: exit %d %q", code, out)
	}

	ev := days[0]
	var hold bookdv1.Hold
	runProto(t, &hold, "hold", ev, "--customer", "ann", "--best-available", "3", "--section", "DECK", "--ttl", "1m")
	if row := rowOf(hold.Seats); len(hold.Seats) != 3 || row == "" {
		t.Errorf("best-available hold has seats %v, want 3 adjacent in one row", hold.Seats)
	}
	var extended bookdv1.Hold
	runProto(t, &extended, "hold", "extend", hold.Id, "--ttl", "30m")
	if !extended.ExpiresAt.AsTime().After(hold.ExpiresAt.AsTime()) {
		t.Errorf("hold extend: expires %v, was %v", extended.ExpiresAt.AsTime(), hold.ExpiresAt.AsTime())
	}
	var av bookdv1.GetAvailabilityResponse
	runProto(t, &av, "availability", ev)
	want := []string{"DECK 8 3 0 1", "TOP 0 0 0 4"}
	var got []string
	for _, s := range av.Sections {
		got = append(got, strings.Join([]string{s.Section, itoa(s.FreeSeats), itoa(s.HeldSeats), itoa(s.BookedSeats), itoa(s.BlockedSeats)}, " "))
	}
	if !slices.Equal(got, want) {
		t.Errorf("availability sections = %v, want %v", got, want)
	}
	if out, code := run(t, "availability", ev); code != 0 || !strings.Contains(out, "SECTION") || !strings.Contains(out, "TOP") {
		t.Errorf("availability table: exit %d %q", code, out)
	}

	// A small GA event sells out; bob waits, gets an offer when ann's hold is
	// released, and books it.
	var ga struct{ ID string }
	runJSON(t, &ga, "events", "create", "--name", "Sunset cruise", "--capacity", "2")
	var annHold bookdv1.Hold
	runProto(t, &annHold, "hold", ga.ID, "--customer", "ann", "--quantity", "2")
	var bob, cat bookdv1.WaitlistEntry
	runProto(t, &bob, "waitlist", "join", ga.ID, "--customer", "bob", "--quantity", "1")
	runProto(t, &cat, "waitlist", "join", ga.ID, "--customer", "cat", "--quantity", "1")
	var pos bookdv1.GetWaitlistEntryResponse
	runProto(t, &pos, "waitlist", "get", cat.Id)
	if pos.Position != 2 {
		t.Errorf("cat's position = %d, want 2", pos.Position)
	}
	var left bookdv1.WaitlistEntry
	runProto(t, &left, "waitlist", "leave", cat.Id)
	if left.Status != bookdv1.WaitlistStatus_WAITLIST_STATUS_LEFT {
		t.Errorf("waitlist leave: status %v", left.Status)
	}
	if out, code := run(t, "release", annHold.Id); code != 0 {
		t.Fatalf("release: exit %d %q", code, out)
	}
	pos.Reset()
	runProto(t, &pos, "waitlist", "get", bob.Id)
	if pos.Entry.Status != bookdv1.WaitlistStatus_WAITLIST_STATUS_OFFERED || pos.Entry.HoldId == "" {
		t.Fatalf("bob's entry after the release = %v", pos.Entry)
	}
	var booking bookdv1.Booking
	runProto(t, &booking, "confirm", pos.Entry.HoldId, "--payment-ref", "pay_bob")
	var bobs bookdv1.ListBookingsResponse
	runProto(t, &bobs, "bookings", "list", "--customer", "bob", "--all")
	if len(bobs.Bookings) != 1 || bobs.Bookings[0].Id != booking.Id {
		t.Errorf("bookings list --customer bob = %v, want %s", bobs.Bookings, booking.Id)
	}

	var closed bookdv1.Event
	runProto(t, &closed, "events", "close", days[1])
	if closed.Status != bookdv1.EventStatus_EVENT_STATUS_CLOSED {
		t.Errorf("events close: status %v", closed.Status)
	}
	var cancelled bookdv1.CancelEventResponse
	runProto(t, &cancelled, "events", "cancel", ga.ID)
	if cancelled.Event.GetStatus() != bookdv1.EventStatus_EVENT_STATUS_CANCELLED || cancelled.TicketsToRefund != 1 {
		t.Errorf("events cancel = %v, want cancelled with 1 ticket to refund", &cancelled)
	}

	// The feed of the GA event, from its start, as JSON lines and as text.
	out, code = run(t, "watch", "--event", ga.ID, "--limit", "8", "-o", "json")
	if code != 0 {
		t.Fatalf("watch: exit %d %q", code, out)
	}
	var kinds []string
	var cursors []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var ch bookdv1.Change
		if err := protojson.Unmarshal([]byte(line), &ch); err != nil {
			t.Fatalf("watch -o json line %q: %v", line, err)
		}
		if ch.EventId != ga.ID {
			t.Errorf("change of %s in a watch of %s", ch.EventId, ga.ID)
		}
		kinds, cursors = append(kinds, ch.Kind), append(cursors, ch.Cursor)
	}
	wantKinds := []string{"event_created", "hold_created", "waitlist_joined", "waitlist_joined", "waitlist_left",
		"hold_released", "waitlist_offer", "booking_confirmed"}
	if !slices.Equal(kinds, wantKinds) {
		t.Errorf("watch kinds = %v, want %v", kinds, wantKinds)
	}
	// Resuming after the 4th change prints the 5th and 6th.
	out, code = run(t, "watch", "--event", ga.ID, "--cursor", cursors[3], "--limit", "2")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); code != 0 || len(lines) != 2 ||
		!strings.HasPrefix(lines[0], cursors[4]+" ") || !strings.Contains(lines[0], "waitlist_left") || !strings.Contains(lines[1], "hold_released") {
		t.Errorf("watch --cursor: exit %d %q", code, out)
	}

	// A watch bounded by --timeout ends normally when it runs out.
	if out, code := run(t, "watch", "--from-now", "--timeout", "300ms"); code != 0 || out != "" {
		t.Errorf("watch --from-now --timeout 300ms: exit %d %q, want exit 0 and nothing printed", code, out)
	}

	for _, tc := range []struct {
		args []string
		code int
		says string
	}{
		{[]string{"events", "create", "--name", "x", "--section", "DECK"}, 2, "--section"},
		{[]string{"events", "create", "--name", "x", "--section", "DECK:A=5/6"}, 2, "within 1-5"},
		{[]string{"events", "create", "--name", "x", "--section", "DECK:A=0"}, 2, "positive"},
		{[]string{"events", "create", "--name", "x", "--capacity", "1", "--starts-at", "tomorrow"}, 2, "RFC 3339"},
		{[]string{"events", "list", "--from", "12/01"}, 2, "--from"},
		{[]string{"events", "list", "--all", "--page-token", "x"}, 2, "--all"},
		{[]string{"hold", ev, "--customer", "ann", "--best-available", "2"}, 4, "at most 4"},
		{[]string{"hold", ev, "--customer", "dan", "--best-available", "2", "--seats", "DECK-A-1"}, 2, "--best-available"},
		{[]string{"hold", ev, "--customer", "dan", "--seats", "DECK-A-3"}, 4, "DECK-A-3"},
		{[]string{"book", ev, "--customer", "dan", "--seats", "TOP-A-1..2"}, 4, "TOP-A-1"},
		{[]string{"hold", ev, "--customer", "dan", "--quantity", "1", "--section", "DECK"}, 2, "--section"},
		{[]string{"hold", days[1], "--customer", "dan", "--best-available", "1"}, 4, "closed"},
		{[]string{"hold", "extend", hold.Id}, 2, "--ttl"},
		{[]string{"hold", "extend", hold.Id, "--ttl", "2h"}, 2, "ttl"},
		{[]string{"waitlist", "join", days[2], "--customer", "dan", "--quantity", "1"}, 4, ""},
		{[]string{"waitlist", "get", "wl_999999"}, 3, "not found"},
		{[]string{"waitlist", "leave", cat.Id}, 4, "not waiting"},
		{[]string{"bookings", "list"}, 2, "--customer"},
		{[]string{"events", "cancel", ga.ID}, 4, "already cancelled"},
		{[]string{"watch", "--cursor", "nope"}, 2, "cursor"},
		{[]string{"watch", "--event", "ev_999999"}, 3, "ev_999999"},
		{[]string{"watch", "--cursor", "1-0", "--from-now"}, 2, "--from-now"},
	} {
		out, code := run(t, tc.args...)
		if code != tc.code || !strings.Contains(out, tc.says) {
			t.Errorf("bookd %s: exit %d %q, want exit %d saying %q", strings.Join(tc.args, " "), code, out, tc.code, tc.says)
		}
	}
}

func TestParseSection(t *testing.T) {
	tests := []struct {
		in   string
		want string // JSON of the section
		err  bool
	}{
		{in: "STALLS:A=20", want: `{"name":"STALLS","rows":[{"name":"A","seats":20}]}`},
		{in: " STALLS : A=5/1,3-4 ; B=2 ;", want: `{"name":"STALLS","rows":[{"name":"A","seats":5,"blocked":[1,3,4]},{"name":"B","seats":2}]}`},
		{in: "S:A=3/", want: `{"name":"S","rows":[{"name":"A","seats":3}]}`},
		{in: "STALLS", err: true},
		{in: ":A=1", err: true},
		{in: "S:", err: true},
		{in: "S:A", err: true},
		{in: "S:=3", err: true},
		{in: "S:A=x", err: true},
		{in: "S:A=3/4", err: true},
		{in: "S:A=3/2-1", err: true},
		{in: "S:A=3/0", err: true},
		{in: "S:A=99999999999", err: true},
	}
	for _, tt := range tests {
		got, err := parseSection(tt.in)
		if (err != nil) != tt.err {
			t.Errorf("parseSection(%q) error = %v, want error %v", tt.in, err, tt.err)
			continue
		}
		if err != nil {
			continue
		}
		b, _ := protojson.MarshalOptions{UseProtoNames: true}.Marshal(got)
		var a, w any
		json.Unmarshal(b, &a)
		json.Unmarshal([]byte(tt.want), &w)
		if ab, _ := json.Marshal(a); string(ab) != mustJSON(w) {
			t.Errorf("parseSection(%q) = %s, want %s", tt.in, b, tt.want)
		}
	}
}
