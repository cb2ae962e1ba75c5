package edge_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"google.golang.org/protobuf/types/known/timestamppb"

	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/rpc/clustertest"
	"github.com/bookd/bookd/rpc/edge"
)

// TestBrowserTellsWhichItemOfAnOrderIsSoldOut: when the last ticket of
// one departure of an order goes to someone else before the shopper holds,
// the page says, in words for shoppers, which item could not be had (from
// the refusal's ErrorInfo), and nothing of the order is held.
func TestBrowserTellsWhichItemOfAnOrderIsSoldOut(t *testing.T) {
	c := clustertest.Start(t, 1, clustertest.Options{})
	run, _ := startEdge(t, c, edge.Config{})
	cl := newClient(t, c.Endpoints())
	ctx := browser(t)
	dir := artifacts(t)
	at := timestamppb.New(time.Now().Add(50 * time.Hour))
	prices := []*bookdv1.Category{{Name: "adult", Price: 1500, Currency: "CHF"}}
	roomy := createEvent(t, cl, &bookdv1.CreateEventRequest{Name: "Lake ferry", StartsAt: at, Capacity: 30, Categories: prices, TimeZone: "Europe/Zurich"})
	last := createEvent(t, cl, &bookdv1.CreateEventRequest{Name: "Glacier train", StartsAt: at, Capacity: 1, Categories: prices, TimeZone: "Europe/Zurich"})

	var buf []byte
	up := `.cat-row[data-category="adult"] .step.up`
	step(t, ctx, dir, "pick",
		chromedp.Navigate(run.URL()+"#/event/"+roomy.GetId()),
		chromedp.WaitVisible(up, chromedp.ByQuery),
		chromedp.Click(up, chromedp.ByQuery),
		chromedp.Navigate(run.URL()+"#/event/"+last.GetId()),
		chromedp.WaitVisible(up+`:not(:disabled)`, chromedp.ByQuery),
		chromedp.Click(up, chromedp.ByQuery),
		chromedp.WaitVisible(`#hold-btn:not(:disabled)`, chromedp.ByQuery),
	)
	bctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := cl.Book(bctx, &bookdv1.BookRequest{EventId: last.GetId(), CustomerId: "quicker", Category: "adult", Quantity: 1}); err != nil {
		t.Fatal(err)
	}
	var msg string
	step(t, ctx, dir, "hold",
		chromedp.Click(`#hold-btn`, chromedp.ByQuery),
		chromedp.WaitVisible(`#message.error`, chromedp.ByQuery),
		chromedp.Text(`#message`, &msg, chromedp.ByQuery),
		screenshot(dir, "1-item-sold-out", &buf),
	)
	fitsPhone(t, ctx, "refused")
	if want := "Sold out (1 × Adult, Glacier train): there are not that many tickets left."; msg != want {
		t.Fatalf("the page says %q, want %q", msg, want)
	}
	av, err := cl.Availability(bctx, roomy.GetId())
	if err != nil || av.GetHeldQuantity() != 0 {
		t.Fatalf("the ferry, the order's first item, after the order was refused: %v, %v; want nothing held", av, err)
	}
	for _, api := range []string{"items[", "event ", "ev_", "category "} {
		if strings.Contains(msg, api) {
			t.Errorf("the shopper is shown API text %q: %q", api, msg)
		}
	}
}
