package waitroom

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bookd/bookd/fsm"
)

// testCustomerHeader names the caller in these tests; the edge verifies a
// token or a session instead.
const testCustomerHeader = "X-Test-Customer"

func testCustomerOf(r *http.Request) (string, error) {
	if c := r.Header.Get(testCustomerHeader); c != "" {
		return c, nil
	}
	return "", errors.New("no session")
}

func TestHandlerJSON(t *testing.T) {
	f := newFixture(t)
	srv := httptest.NewServer(f.Handler("op-token", testCustomerOf))
	defer srv.Close()
	do := func(method, path, auth, customer, body string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		if customer != "" {
			req.Header.Set(testCustomerHeader, customer)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		var out map[string]any
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("%s %s: not JSON: %s", method, path, b)
		}
		return res.StatusCode, out
	}
	has := func(want map[string]any) func(map[string]any) bool {
		return func(out map[string]any) bool {
			for k, v := range want {
				if out[k] != v {
					return false
				}
			}
			return true
		}
	}
	msgHas := func(sub string) func(map[string]any) bool {
		return func(out map[string]any) bool { s, _ := out["message"].(string); return strings.Contains(s, sub) }
	}
	const room, join = "/waitroom/v1/rooms/ev1", "/waitroom/v1/events/ev1/join"
	tickets := map[string]string{} // customer -> ticket
	var aliceToken string
	steps := []struct {
		name                               string
		method, path, auth, customer, body string
		code                               int
		ok                                 func(map[string]any) bool
	}{
		{"no room yet", "GET", "/waitroom/v1/events/ev1", "", "", "", 200, has(map[string]any{"gated": false})},
		{"join without a room", "POST", join, "", "alice", "", 404, has(map[string]any{"code": "not_found"})},
		{"operator call with a wrong token", "PUT", room, "wrong", "", `{"rate": 1}`, 401, has(map[string]any{"code": "unauthenticated"})},
		{"negative rate", "PUT", room, "op-token", "", `{"rate": -1}`, 400, msgHas("rate:")},
		{"unknown field", "PUT", room, "op-token", "", `{"rate": 1, "speed": 3}`, 400, msgHas("speed")},
		{"negative idle time", "PUT", room, "op-token", "", `{"rate": 1, "idle_seconds": -1}`, 400, msgHas("idle_seconds:")},
		{"huge ticket timeout", "PUT", room, "op-token", "", `{"rate": 1, "ticket_timeout_seconds": 1e300}`, 400, msgHas("ticket_timeout_seconds:")},
		{"negative holds", "PUT", room, "op-token", "", `{"rate": 1, "holds_per_admission": -1}`, 400, msgHas("holds_per_admission:")},
		{"create with defaults", "PUT", room, "op-token", "", `{"rate": 1, "max_active": 5}`, 200, has(map[string]any{
			"gated": true, "max_active": 5.0, "holds_per_admission": 1.0, "tickets_per_admission": 0.0,
			"idle_seconds": 120.0, "ticket_timeout_seconds": 60.0, "admit_for_seconds": 600.0})},
		{"change", "PUT", room, "op-token", "", `{"rate": 1, "max_active": 1, "holds_per_admission": 2, "tickets_per_admission": 4, "idle_seconds": 30, "ticket_timeout_seconds": 20.5}`, 200, has(map[string]any{
			"max_active": 1.0, "holds_per_admission": 2.0, "tickets_per_admission": 4.0, "idle_seconds": 30.0, "ticket_timeout_seconds": 20.5})},
		{"settings", "GET", "/waitroom/v1/events/ev1", "", "", "", 200, has(map[string]any{
			"gated": true, "holds_per_admission": 2.0, "tickets_per_admission": 4.0, "idle_seconds": 30.0, "ticket_timeout_seconds": 20.5})},
		{"join without a customer", "POST", join, "", "", "", 401, has(map[string]any{"code": "unauthenticated"})},
		{"alice joins", "POST", join, "", "alice", "", 200, has(map[string]any{"state": "admitted"})},
		{"bob joins", "POST", join, "", "bob", "", 200, has(map[string]any{"state": "waiting", "position": 1.0})},
		{"bob joins again", "POST", join, "", "bob", "", 200, has(map[string]any{"state": "waiting", "position": 1.0})},
		{"carol joins", "POST", join, "", "carol", "", 200, has(map[string]any{"state": "waiting", "position": 2.0})},
		{"bob's status", "GET", "/waitroom/v1/events/ev1/tickets/{bob}", "", "bob", "", 200, has(map[string]any{"position": 1.0})},
		{"bob's ticket asked by alice", "GET", "/waitroom/v1/events/ev1/tickets/{bob}", "", "alice", "", 404, has(map[string]any{"code": "not_found"})},
		{"bob's ticket asked by no one", "GET", "/waitroom/v1/events/ev1/tickets/{bob}", "", "", "", 401, has(map[string]any{"code": "unauthenticated"})},
		{"a ticket that does not exist", "GET", "/waitroom/v1/events/ev1/tickets/nope", "", "bob", "", 404, has(map[string]any{"code": "not_found"})},
		{"delete the room", "DELETE", room, "op-token", "", "", 200, has(map[string]any{"gated": false})},
	}
	for _, s := range steps {
		path := s.path
		for c, tk := range tickets {
			path = strings.ReplaceAll(path, "{"+c+"}", tk)
		}
		code, out := do(s.method, path, s.auth, s.customer, s.body)
		if code != s.code || !s.ok(out) {
			t.Fatalf("%s: %d %v, want %d", s.name, code, out, s.code)
		}
		if s.path == join && code == 200 {
			if old, ok := tickets[s.customer]; ok && old != out["ticket"] {
				t.Fatalf("%s: ticket %v, want the one it had, %s", s.name, out["ticket"], old)
			}
			tickets[s.customer] = out["ticket"].(string)
			if s.customer == "alice" {
				aliceToken = out["token"].(string)
			}
		}
	}
	g, err := fsm.DecodeAdmissionToken(aliceToken)
	if err != nil || g.GetCustomerId() != "alice" || g.GetMaxHolds() != 2 || g.GetMaxTickets() != 4 {
		t.Fatalf("alice's token states %v, %v; want alice, 2 holds, 4 tickets", g, err)
	}
	if f.Gated("ev1") {
		t.Fatal("still gated after the room was deleted")
	}
}

func TestHandlerWithoutCustomerOfAnswersUnauthenticated(t *testing.T) {
	f := newFixture(t)
	f.configure(t, Config{EventID: "ev1", Rate: 1})
	srv := httptest.NewServer(f.Handler("", nil))
	defer srv.Close()
	res, err := http.Post(srv.URL+"/waitroom/v1/events/ev1/join", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 401 {
		t.Fatalf("join with no way to name the caller: %d, want 401", res.StatusCode)
	}
}

func TestNoRooms(t *testing.T) {
	srv := httptest.NewServer(NoRooms())
	defer srv.Close()
	res, err := http.Get(srv.URL + "/waitroom/v1/events/ev1")
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	json.NewDecoder(res.Body).Decode(&v)
	res.Body.Close()
	if res.StatusCode != 200 || v["gated"] != false || v["event_id"] != "ev1" {
		t.Fatalf("room of an event without rooms: %d %v", res.StatusCode, v)
	}
	res, err = http.Post(srv.URL+"/waitroom/v1/events/ev1/join", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 404 || res.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("join without rooms: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
}
