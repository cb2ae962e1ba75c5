package edge_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"google.golang.org/protobuf/types/known/timestamppb"

	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/rpc/clustertest"
	"github.com/bookd/bookd/rpc/edge"
)

// The seat map follows the event live: a seat someone else books turns
// taken on the page through the edge's WatchChanges stream (the page
// counts the changes it applied), and one freed turns free again.
func TestBrowserSeatMapFollowsOthersLive(t *testing.T) {
	ctx := browser(t)
	dir := artifacts(t)
	c := clustertest.Start(t, 3, clustertest.Options{})
	run, _ := startEdge(t, c, edge.Config{})
	cl := newClient(t, c.Endpoints())
	day := time.Now().UTC().Add(48 * time.Hour)
	ev := createEvent(t, cl, &bookdv1.CreateEventRequest{Name: "Harbour cruise", StartsAt: timestamppb.New(day),
		Seats: []string{"A1", "A2", "B1", "B2"}})

	var buf []byte
	err := chromedp.Run(ctx,
		chromedp.Navigate(run.URL()+"#/event/"+ev.GetId()),
		chromedp.WaitVisible(`.seat[data-seat="B2"]:not(.taken)`, chromedp.ByQuery),
		chromedp.Poll(`document.body.dataset.live === "on"`, nil),
	)
	if err != nil {
		t.Fatalf("open the event live: %v", err)
	}
	bctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	bk, err := cl.Book(bctx, &bookdv1.BookRequest{EventId: ev.GetId(), CustomerId: "someone-else", Seats: []string{"B2"}})
	if err != nil {
		t.Fatal(err)
	}
	var applied string
	err = chromedp.Run(ctx,
		chromedp.WaitVisible(`.seat[data-seat="B2"].taken`, chromedp.ByQuery),
		chromedp.Evaluate(`document.body.dataset.liveChanges || "0"`, &applied),
		screenshot(dir, "1-b2-taken-live", &buf),
	)
	if err != nil {
		t.Fatalf("B2 booked elsewhere: %v", err)
	}
	if applied == "0" {
		t.Fatalf("B2 turned taken but the page applied no live change (it polled)")
	}
	if _, err := cl.CancelBooking(bctx, &bookdv1.CancelBookingRequest{BookingId: bk.GetId()}); err != nil {
		t.Fatal(err)
	}
	err = chromedp.Run(ctx,
		chromedp.WaitVisible(`.seat[data-seat="B2"]:not(.taken)`, chromedp.ByQuery),
		chromedp.Poll(fmt.Sprintf(`Number(document.body.dataset.liveChanges) > %s`, applied), nil),
		screenshot(dir, "2-b2-free-again", &buf),
	)
	if err != nil {
		t.Fatalf("B2 cancelled: %v", err)
	}
}
