package web

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func TestHandlerServesThePageAndItsFiles(t *testing.T) {
	h := Handler()
	for _, tc := range []struct {
		path, wantType, wantBody string
	}{
		{"/", "text/html", `<script type="module" src="/app.js">`},
		{"/app.js", "javascript", "showCheckout"},
		{"/api.js", "javascript", "BookingService"},
		{"/style.css", "text/css", ".seat-grid"},
		{"/booking/bk_1", "text/html", `id="view-booking"`}, // no such file: the page
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tc.path, nil))
		body, _ := io.ReadAll(rec.Body)
		if rec.Code != http.StatusOK || !strings.Contains(rec.Header().Get("Content-Type"), tc.wantType) || !strings.Contains(string(body), tc.wantBody) {
			t.Errorf("GET %s: %d %q, body has %q: %v", tc.path, rec.Code, rec.Header().Get("Content-Type"), tc.wantBody, strings.Contains(string(body), tc.wantBody))
		}
	}
	// A call of a service the page is not is not found, not the page.
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/bookd.v1.QueueService/Receive", strings.NewReader("{}")))
	if rec.Code != http.StatusNotFound {
		t.Errorf("POST /bookd.v1.QueueService/Receive: %d, want 404", rec.Code)
	}
}

// Every module the page imports is one of its files, served as JavaScript
// (a browser refuses a module served as anything else, and the page's
// fallback would answer a missing one with HTML).
func TestEveryImportedModuleIsServed(t *testing.T) {
	h := Handler()
	root, err := fs.Sub(static, "static")
	if err != nil {
		t.Fatal(err)
	}
	imports := regexp.MustCompile(`(?m)^import [^;]* from "\./([a-z]+\.js)";$`)
	files, err := fs.Glob(root, "*.js")
	if err != nil || len(files) == 0 {
		t.Fatalf("no modules: %v", err)
	}
	for _, f := range files {
		src, err := fs.ReadFile(root, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range imports.FindAllStringSubmatch(string(src), -1) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/"+m[1], nil))
			if _, err := fs.Stat(root, m[1]); err != nil || !strings.Contains(rec.Header().Get("Content-Type"), "javascript") {
				t.Errorf("%s imports %s: %v, served as %q", f, m[1], err, rec.Header().Get("Content-Type"))
			}
		}
	}
}
