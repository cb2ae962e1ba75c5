package edge_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/rpc/clustertest"
	"github.com/bookd/bookd/rpc/edge"
	"github.com/bookd/bookd/rpc/waitroom"
)

// TestBrowserWaitsInTheRoomThenHolds: on an event behind a waiting room the
// page shows the shopper's place in line; when the operator raises the
// admission rate the page lets them in, and an order of its tickets and
// another (ungated) event's carries the token.
func TestBrowserWaitsInTheRoomThenHolds(t *testing.T) {
	ctx := browser(t)
	dir := artifacts(t)
	c := clustertest.Start(t, 1, clustertest.Options{})
	cl := newClient(t, c.Endpoints())
	ev := createEvent(t, cl, &bookdv1.CreateEventRequest{Name: "Viral deal", Capacity: 10})
	ferry := createEvent(t, cl, &bookdv1.CreateEventRequest{Name: "Ferry home", Capacity: 10})

	run := startGatedEdge(t, c, "browser test secret, 16+ bytes", ev.GetId(), 0.01, edge.Config{})
	// Someone else came first and took the one admission ready.
	if st := roomStatus(t, "POST", fmt.Sprintf("http://%s/waitroom/v1/events/%s/join", run.Addr(), ev.GetId())); st.State != waitroom.StateAdmitted {
		t.Fatalf("first arrival: %+v", st)
	}

	var waiting string
	var buf []byte
	err := chromedp.Run(ctx,
		chromedp.Navigate(run.URL()+"#/event/"+ev.GetId()),
		chromedp.WaitVisible(`#waiting`, chromedp.ByQuery),
		chromedp.Text(`#waiting`, &waiting, chromedp.ByQuery),
		screenshot(dir, "1-waiting", &buf),
	)
	if err != nil {
		t.Fatalf("waiting room: %v", err)
	}
	if !strings.Contains(waiting, "number 1 in line") {
		t.Fatalf("waiting banner says %q, want the shopper's place", waiting)
	}

	// The operator opens the gates.
	req, _ := http.NewRequest("PUT", fmt.Sprintf("http://%s/waitroom/v1/rooms/%s", run.Addr(), ev.GetId()), strings.NewReader(`{"rate": 100}`))
	req.Header.Set("Authorization", "Bearer admin-token-for-tests")
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("raise the rate: %v %v", res, err)
	}
	res.Body.Close()

	var holdWhat []string
	step(t, ctx, dir, "admitted",
		chromedp.WaitVisible(`#shop`, chromedp.ByQuery),
		chromedp.Click(`.cat-row .step.up`, chromedp.ByQuery),
		chromedp.Click(`.cat-row .step.up`, chromedp.ByQuery),
		chromedp.Navigate(run.URL()+"#/event/"+ferry.GetId()),
		chromedp.WaitVisible(`.cat-row .step.up:not(:disabled)`, chromedp.ByQuery),
		chromedp.Click(`.cat-row .step.up`, chromedp.ByQuery),
		chromedp.WaitVisible(`#hold-btn:not(:disabled)`, chromedp.ByQuery),
		chromedp.Click(`#hold-btn`, chromedp.ByQuery),
		chromedp.WaitVisible(`#hold-panel`, chromedp.ByQuery),
		chromedp.Evaluate(`Array.from(document.querySelectorAll('#hold-items li')).map(li => li.dataset.eventId + ' ' + li.querySelector('.what').textContent)`, &holdWhat),
		screenshot(dir, "2-admitted-held", &buf),
	)
	if want := []string{ev.GetId() + " 2 tickets", ferry.GetId() + " 1 ticket"}; !slices.Equal(holdWhat, want) {
		t.Fatalf("hold panel lists %q, want %q", holdWhat, want)
	}
	actx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for id, want := range map[string]int64{ev.GetId(): 2, ferry.GetId(): 1} {
		av, err := cl.Availability(actx, id)
		if err != nil || av.GetHeldQuantity() != want {
			t.Fatalf("cluster availability of %s after the page's hold: %v, %v; want %d held", id, av, err, want)
		}
	}
}
