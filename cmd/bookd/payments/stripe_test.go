package payments

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// call is one request the worker made to the Stripe API.
type call struct {
	Method, Path, IdempotencyKey string
	Form                         url.Values
}

// stripeBackend is what the tests run the worker against: stripe-mock
// (Stripe's own mock of its API, which checks every request against the
// OpenAPI spec) when it is installed, otherwise a recorded fake of the
// calls the worker makes. Both sit behind a recorder on a real socket.
type stripeBackend struct {
	t    *testing.T
	Name string
	URL  string
	// setIntent makes the backend answer for intent id with status,
	// amount and currency and metadata bookd_hold_id = holdID.
	setIntent func(id, status, holdID string, amount int64, currency string)

	mu    sync.Mutex
	calls []call
	// made is the refunds the fake made, by intent: a request answered
	// from an Idempotency-Key makes none. stripe-mock keeps no state, so
	// it stays empty there.
	made map[string][]int64
}

// Intent sets what the backend answers for intent id: 4200 EUR cents.
func (b *stripeBackend) Intent(id, status, holdID string) {
	b.setIntent(id, status, holdID, 4200, "eur")
}

// IntentOf sets what the backend answers for intent id, with its amount
// (minor units) and currency (lower case, as Stripe writes it).
func (b *stripeBackend) IntentOf(id, status, holdID string, amount int64, currency string) {
	b.setIntent(id, status, holdID, amount, currency)
}

// Refunded returns the amounts of the refunds the fake made of intent id
// (nil from stripe-mock, which keeps no state).
func (b *stripeBackend) Refunded(id string) []int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]int64(nil), b.made[id]...)
}

// Calls returns the requests so far.
func (b *stripeBackend) Calls() []call {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]call(nil), b.calls...)
}

// Posts returns the POSTs to path so far.
func (b *stripeBackend) Posts(path string) []call {
	var out []call
	for _, c := range b.Calls() {
		if c.Method == http.MethodPost && c.Path == path {
			out = append(out, c)
		}
	}
	return out
}

func (b *stripeBackend) record(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		form, _ := url.ParseQuery(string(body))
		b.mu.Lock()
		b.calls = append(b.calls, call{r.Method, r.URL.Path, r.Header.Get("Idempotency-Key"), form})
		b.mu.Unlock()
		next.ServeHTTP(w, r)
	})
}

// startStripe starts stripe-mock if it is installed (CI installs it:
// .ci/run), else the fake.
func startStripe(t *testing.T) *stripeBackend {
	t.Helper()
	bin := stripeMockBinary()
	if bin == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("stripe-mock is not installed; .ci/run installs it (go install github.com/stripe/stripe-mock@v0.203.0)")
		}
		b := startFake(t)
		t.Logf("Stripe backend: the recorded fake (stripe-mock is not installed: go install github.com/stripe/stripe-mock@v0.203.0)")
		return b
	}
	b := startStripeMock(t, bin)
	t.Logf("Stripe backend: stripe-mock (%s)", bin)
	return b
}

func stripeMockBinary() string {
	if p, err := exec.LookPath("stripe-mock"); err == nil {
		return p
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		home, _ := os.UserHomeDir()
		gopath = filepath.Join(home, "go")
	}
	p := filepath.Join(gopath, "bin", "stripe-mock")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	return ""
}

// startStripeMock runs stripe-mock behind a recording proxy. stripe-mock
// is stateless and answers every PaymentIntent from one fixture, so
// Intent restarts it with a fixture of that status and metadata (it
// reflects the id of the URL into the answer).
func startStripeMock(t *testing.T, bin string) *stripeBackend {
	b := &stripeBackend{t: t, Name: "stripe-mock"}
	var mu sync.Mutex
	var upstream *url.URL
	var cmd *exec.Cmd
	stop := func() {
		if cmd != nil {
			cmd.Process.Kill()
			cmd.Wait()
			cmd = nil
		}
	}
	t.Cleanup(func() { mu.Lock(); stop(); mu.Unlock() })
	dir := t.TempDir()
	b.setIntent = func(id, status, holdID string, amount int64, currency string) {
		t.Helper()
		mu.Lock()
		defer mu.Unlock()
		stop()
		fixtures := map[string]any{"resources": map[string]any{
			"payment_intent": map[string]any{"id": id, "object": "payment_intent", "status": status,
				"metadata": map[string]string{MetadataHoldID: holdID}, "amount": amount, "currency": currency},
			"refund": map[string]any{"id": "re_fixture", "object": "refund", "status": "succeeded", "amount": amount, "currency": currency},
		}}
		path := filepath.Join(dir, "fixtures.json")
		data, _ := json.Marshal(fixtures)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		addr := freeAddr(t)
		cmd = exec.Command(bin, "-http-addr", addr, "-https-addr", "127.0.0.1:0", "-fixtures", path)
		out := new(strings.Builder)
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatalf("start stripe-mock: %v", err)
		}
		deadline := time.Now().Add(60 * time.Second)
		for {
			c, err := net.Dial("tcp", addr)
			if err == nil {
				c.Close()
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("stripe-mock did not listen on %s: %s", addr, out)
			}
			time.Sleep(50 * time.Millisecond)
		}
		upstream = &url.URL{Scheme: "http", Host: addr}
	}
	proxy := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		mu.Lock()
		u := upstream
		mu.Unlock()
		r.SetURL(u)
	}}
	srv := httptest.NewServer(b.record(proxy))
	t.Cleanup(srv.Close)
	b.URL = srv.URL
	return b
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// fakeIntent is the fake's PaymentIntent.
type fakeIntent struct {
	ID             string            `json:"id"`
	Object         string            `json:"object"`
	Status         string            `json:"status"`
	Amount         int64             `json:"amount"`
	AmountReceived int64             `json:"amount_received"`
	Currency       string            `json:"currency"`
	Metadata       map[string]string `json:"metadata"`
	refunded       int64
}

// startFake serves the four calls the worker makes (retrieve, capture and
// cancel a PaymentIntent, create a refund) with answers shaped like
// Stripe's recorded ones, keeping state, and replaying the first answer to
// a repeated Idempotency-Key as Stripe does. It captures amount_to_capture
// (at most the amount; all of it when not given) and refunds amount (at
// most what is not refunded yet; all of that when not given).
func startFake(t *testing.T) *stripeBackend {
	b := &stripeBackend{t: t, Name: "recorded fake", made: map[string][]int64{}}
	var mu sync.Mutex
	intents := map[string]*fakeIntent{}
	replies := map[string][]byte{}
	refunds := 0
	b.setIntent = func(id, status, holdID string, amount int64, currency string) {
		mu.Lock()
		defer mu.Unlock()
		pi := &fakeIntent{ID: id, Object: "payment_intent", Status: status, Amount: amount, Currency: currency,
			Metadata: map[string]string{MetadataHoldID: holdID}}
		if status == "succeeded" {
			pi.AmountReceived = amount
		}
		if old, ok := intents[id]; ok && old.Status == "succeeded" && status == "succeeded" {
			pi.AmountReceived, pi.refunded = old.AmountReceived, old.refunded
		}
		intents[id] = pi
	}
	fail := func(w http.ResponseWriter, status int, code, msg string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"type": "invalid_request_error", "code": code, "message": msg}})
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		key := r.Header.Get("Idempotency-Key")
		if r.Method == http.MethodPost && key != "" {
			if reply, ok := replies[key]; ok {
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("Idempotent-Replayed", "true")
				w.Write(reply)
				return
			}
		}
		r.ParseForm()
		var answer any
		parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/v1/"), "/")
		switch {
		case r.Method == http.MethodGet && len(parts) == 2 && parts[0] == "payment_intents":
			pi, ok := intents[parts[1]]
			if !ok {
				fail(w, http.StatusNotFound, "resource_missing", "No such payment_intent: '"+parts[1]+"'")
				return
			}
			answer = pi
		case r.Method == http.MethodPost && len(parts) == 3 && parts[0] == "payment_intents":
			pi, ok := intents[parts[1]]
			if !ok {
				fail(w, http.StatusNotFound, "resource_missing", "No such payment_intent: '"+parts[1]+"'")
				return
			}
			switch {
			case parts[2] == "capture" && pi.Status == "requires_capture":
				amount := pi.Amount
				if v := r.PostForm.Get("amount_to_capture"); v != "" {
					amount, _ = strconv.ParseInt(v, 10, 64)
				}
				if amount <= 0 || amount > pi.Amount {
					fail(w, http.StatusBadRequest, "amount_too_large", "The amount to capture must be between 1 and the PaymentIntent's amount.")
					return
				}
				pi.Status, pi.AmountReceived = "succeeded", amount
			case parts[2] == "cancel" && pi.Status != "succeeded" && pi.Status != "canceled":
				pi.Status = "canceled"
			default:
				fail(w, http.StatusBadRequest, "payment_intent_unexpected_state",
					fmt.Sprintf("You cannot %s this PaymentIntent because it has a status of %s.", parts[2], pi.Status))
				return
			}
			answer = pi
		case r.Method == http.MethodPost && r.URL.Path == "/v1/refunds":
			pi, ok := intents[r.PostForm.Get("payment_intent")]
			if !ok || pi.Status != "succeeded" {
				fail(w, http.StatusBadRequest, "payment_intent_unexpected_state", "This PaymentIntent has no successful charge to refund.")
				return
			}
			left := pi.AmountReceived - pi.refunded
			amount := left
			if v := r.PostForm.Get("amount"); v != "" {
				amount, _ = strconv.ParseInt(v, 10, 64)
			}
			switch {
			case left == 0:
				fail(w, http.StatusBadRequest, "charge_already_refunded", "Charge for this PaymentIntent has already been refunded.")
				return
			case amount <= 0 || amount > left:
				fail(w, http.StatusBadRequest, "amount_too_large", fmt.Sprintf("Refund amount (%d) is greater than unrefunded amount on charge (%d)", amount, left))
				return
			}
			refunds++
			pi.refunded += amount
			b.mu.Lock()
			b.made[pi.ID] = append(b.made[pi.ID], amount)
			b.mu.Unlock()
			answer = map[string]any{"id": fmt.Sprintf("re_fake%d", refunds), "object": "refund", "status": "succeeded",
				"amount": amount, "currency": pi.Currency, "payment_intent": pi.ID}
		default:
			fail(w, http.StatusNotFound, "resource_missing", "Unrecognized request URL ("+r.Method+": "+r.URL.Path+").")
			return
		}
		reply, _ := json.Marshal(answer)
		if r.Method == http.MethodPost && key != "" {
			replies[key] = reply
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(reply)
	})
	srv := httptest.NewServer(b.record(h))
	t.Cleanup(srv.Close)
	b.URL = srv.URL
	return b
}
