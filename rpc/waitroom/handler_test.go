package waitroom

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHandlerJSON(t *testing.T) {
	f := newFixture(t)
	srv := httptest.NewServer(f.Handler("op-token"))
	defer srv.Close()
	do := func(method, path, auth, body string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
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

	if code, out := do("GET", "/waitroom/v1/events/ev1", "", ""); code != 200 || out["gated"] != false {
		t.Fatalf("no room yet: %d %v", code, out)
	}
	if code, out := do("POST", "/waitroom/v1/events/ev1/join", "", ""); code != 404 || out["code"] != "not_found" {
		t.Fatalf("join without a room: %d %v", code, out)
	}
	if code, out := do("PUT", "/waitroom/v1/rooms/ev1", "wrong", `{"rate": 1}`); code != 401 || out["code"] != "unauthenticated" {
		t.Fatalf("operator call with a wrong token: %d %v", code, out)
	}
	if code, out := do("PUT", "/waitroom/v1/rooms/ev1", "op-token", `{"rate": -1}`); code != 400 || !strings.HasPrefix(out["message"].(string), "rate:") {
		t.Fatalf("negative rate: %d %v", code, out)
	}
	if code, out := do("PUT", "/waitroom/v1/rooms/ev1", "op-token", `{"rate": 1, "speed": 3}`); code != 400 || !strings.Contains(out["message"].(string), "speed") {
		t.Fatalf("unknown field: %d %v", code, out)
	}
	if code, out := do("PUT", "/waitroom/v1/rooms/ev1", "op-token", `{"rate": 1, "max_active": 5}`); code != 200 || out["gated"] != true || out["max_active"] != 5.0 {
		t.Fatalf("create room: %d %v", code, out)
	}
	_, first := do("POST", "/waitroom/v1/events/ev1/join", "", "")
	code, second := do("POST", "/waitroom/v1/events/ev1/join", "", "")
	if first["state"] != "admitted" || code != 200 || second["state"] != "waiting" || second["position"] != 1.0 {
		t.Fatalf("two joins: %v then %d %v", first, code, second)
	}
	if code, out := do("GET", "/waitroom/v1/events/ev1/tickets/"+second["ticket"].(string), "", ""); code != 200 || out["position"] != 1.0 {
		t.Fatalf("status: %d %v", code, out)
	}
	if code, out := do("GET", "/waitroom/v1/events/ev1/tickets/nope", "", ""); code != 404 {
		t.Fatalf("unknown ticket: %d %v", code, out)
	}
	if code, _ := do("DELETE", "/waitroom/v1/rooms/ev1", "op-token", ""); code != 200 || f.Gated("ev1") {
		t.Fatalf("delete room: %d, still gated %v", code, f.Gated("ev1"))
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
