package web

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHandlerServesThePageAndItsFiles(t *testing.T) {
	h := Handler()
	for _, tc := range []struct {
		path, wantType, wantBody string
	}{
		{"/", "text/html", `<script src="/app.js">`},
		{"/app.js", "javascript", "BookingService"},
		{"/style.css", "text/css", ".seatmap"},
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
