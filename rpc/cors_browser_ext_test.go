package rpc_test

import (
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/chromedp"

	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/proto/bookd/v1/bookdv1connect"
	"github.com/bookd/bookd/rpc"
	"github.com/bookd/bookd/rpc/clustertest"
)

// TestCORSBrowser has headless chromium load a page from one origin whose
// script calls a node on another with Connect's JSON protocol (a preflight
// first: Content-Type application/json and Connect's headers are not ones
// browsers send across origins unasked). From an origin in CORSOrigins the
// call succeeds and the script reads bookd's headers; from another origin
// the browser refuses it and the node's handler never runs. On a secure
// cluster the script sends a bearer token: the preflight, which carries
// none, is answered before the token check.
func TestCORSBrowser(t *testing.T) {
	for _, secure := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "tls+tokens"}[secure], func(t *testing.T) {
			ctx := corsBrowser(t)
			allowed := httptest.NewServer(nil)
			defer allowed.Close()
			other := httptest.NewServer(nil)
			defer other.Close()
			var calls atomic.Int64
			c := clustertest.Start(t, 3, clustertest.Options{Secure: secure, Configure: func(_ string, cfg *rpc.ServerConfig) {
				cfg.CORSOrigins = []string{allowed.URL}
				cfg.Interceptors = append(cfg.Interceptors, countListEvents(&calls))
			}})
			leader := c.WaitReady()
			follower := c.Nodes[0]
			if follower == leader {
				follower = c.Nodes[1]
			}
			node, token := "http://"+follower.RPCAddr, ""
			books := bookingClient(leader.RPCAddr)
			if secure {
				node, token = "https://"+follower.RPCAddr, c.Security.Tokens["reader"]
				books = secureClients{base: "https://" + leader.RPCAddr, tls: c.Security.ClientTLS()}.booking(c.Security.Tokens["admin"])
			}
			if _, err := books.CreateEvent(context.Background(), &bookdv1.CreateEventRequest{Name: "Cross-origin gala", Capacity: 5, IdempotencyKey: "cors-" + t.Name()}); err != nil {
				t.Fatal(err)
			}
			page := corsPage(t, node, token)
			allowed.Config.Handler, other.Config.Handler = page, page

			got := fetchFromPage(t, ctx, allowed.URL)
			if !got.OK || got.Status != 200 {
				t.Fatalf("from %s (allowed): %+v", allowed.URL, got)
			}
			if got.Leader != leader.RPCAddr {
				t.Errorf("script read Bookd-Leader %q, want %q", got.Leader, leader.RPCAddr)
			}
			if got.RequestID != "cors-browser-test" {
				t.Errorf("script read X-Request-Id %q, want the one it sent", got.RequestID)
			}
			if !slices.Contains(got.Events, "Cross-origin gala") {
				t.Errorf("events %q", got.Events)
			}
			if calls.Load() == 0 {
				t.Error("the allowed call never reached ListEvents")
			}

			before := calls.Load()
			console := blockedByCORS(ctx)
			got = fetchFromPage(t, ctx, other.URL)
			if got.OK || !strings.HasPrefix(got.Error, "TypeError") {
				t.Errorf("from %s (not allowed): %+v, want a TypeError", other.URL, got)
			}
			if n := calls.Load() - before; n != 0 {
				t.Errorf("ListEvents ran %d times for a page not allowed", n)
			}
			select {
			case msg := <-console:
				t.Logf("chromium: %s", msg)
			case <-time.After(10 * time.Second):
				t.Error("chromium did not say the call was blocked by CORS policy")
			}
		})
	}
}

// countListEvents counts ListEvents calls a node's handler serves.
func countListEvents(n *atomic.Int64) connect.Interceptor {
	return connect.UnaryInterceptorFunc(func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			if !req.Spec().IsClient && req.Spec().Procedure == bookdv1connect.BookingServiceListEventsProcedure {
				n.Add(1)
			}
			return next(ctx, req)
		}
	})
}

// fetchOutcome is what the page's script writes into #out.
type fetchOutcome struct {
	OK        bool     `json:"ok"`
	Status    int      `json:"status"`
	Leader    string   `json:"leader"`
	RequestID string   `json:"requestId"`
	Events    []string `json:"events"`
	Error     string   `json:"error"`
}

var corsPageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<title>CORS test</title>
<pre id="out"></pre>
<script>
const headers = {"Content-Type": "application/json", "Connect-Protocol-Version": "1", "X-Request-Id": "cors-browser-test"};
if ({{.Token}}) headers["Authorization"] = "Bearer " + {{.Token}};
fetch({{.Node}} + "/bookd.v1.BookingService/ListEvents", {method: "POST", headers, body: "{}"})
  .then(async (r) => {
    const body = await r.json();
    return {ok: r.ok, status: r.status, leader: r.headers.get("Bookd-Leader"),
            requestId: r.headers.get("X-Request-Id"), events: (body.events || []).map((e) => e.name)};
  })
  .catch((e) => ({ok: false, error: e.name + ": " + e.message}))
  .then((res) => {
    const out = document.getElementById("out");
    out.textContent = JSON.stringify(res);
    out.dataset.done = "1";
  });
</script>
`))

// corsPage serves the page that calls node (with token, if any).
func corsPage(t *testing.T, node, token string) http.Handler {
	t.Helper()
	var b strings.Builder
	if err := corsPageTemplate.Execute(&b, map[string]string{"Node": node, "Token": token}); err != nil {
		t.Fatal(err)
	}
	html := b.String()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, html)
	})
}

// fetchFromPage loads the page at url and returns what its script wrote.
func fetchFromPage(t *testing.T, ctx context.Context, url string) fetchOutcome {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var text string
	if err := chromedp.Run(ctx,
		chromedp.Navigate(url),
		chromedp.WaitReady(`#out[data-done="1"]`, chromedp.ByQuery),
		chromedp.Text(`#out`, &text, chromedp.ByQuery),
	); err != nil {
		t.Fatalf("load %s: %v", url, err)
	}
	var got fetchOutcome
	if err := json.Unmarshal([]byte(text), &got); err != nil {
		t.Fatalf("page at %s wrote %q: %v", url, text, err)
	}
	return got
}

// blockedByCORS delivers the first message of the browser's log, from now
// on, that says a request was blocked by CORS policy.
func blockedByCORS(ctx context.Context) <-chan string {
	ch := make(chan string, 1)
	var once sync.Once
	chromedp.ListenTarget(ctx, func(ev any) {
		if e, ok := ev.(*log.EventEntryAdded); ok && strings.Contains(e.Entry.Text, "blocked by CORS policy") {
			once.Do(func() { ch <- e.Entry.Text })
		}
	})
	return ch
}

// corsBrowser starts headless chromium, with its log reported, trusting
// any certificate (the secure cluster's CA is the test's own). Without
// chromium the test is skipped on a developer's machine but fails in CI.
func corsBrowser(t *testing.T) context.Context {
	t.Helper()
	var path string
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("no chromium found; .ci/run installs Debian's chromium")
		}
		t.Skip("no chromium found: apt-get install chromium (make test does)")
	}
	opts := append(slices.Clone(chromedp.DefaultExecAllocatorOptions[:]),
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("ignore-certificate-errors", true),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	if err := chromedp.Run(ctx, log.Enable()); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}
