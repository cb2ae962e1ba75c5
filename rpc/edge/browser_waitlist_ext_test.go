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
	"github.com/bookd/bookd/rpc/edge/identity"
)

// TestBrowserSoldOutOffersTheWaitlist: on a phone and a desktop a
// sold-out departure offers "Join the waitlist"; the shopper joins for a
// category and sees their place in line, behind someone who came first;
// when a booking is cancelled the tickets are offered in line, and the
// page takes the shopper to the hold the waitlist made for them.
func TestBrowserSoldOutOffersTheWaitlist(t *testing.T) {
	c := clustertest.Start(t, 1, clustertest.Options{})
	run, _ := startEdge(t, c, edge.Config{})
	cl := newClient(t, c.Endpoints())
	for _, vp := range []viewport{phone, desktop} {
		t.Run(vp.name, func(t *testing.T) {
			ctx := browserAt(t, vp)
			dir := artifacts(t)
			ev := createEvent(t, cl, &bookdv1.CreateEventRequest{Name: "Harbour fireworks cruise " + vp.name,
				StartsAt: timestamppb.New(time.Now().Add(96 * time.Hour)), TimeZone: "America/New_York", Capacity: 2,
				Categories: []*bookdv1.Category{{Name: "adult", Price: 2000, Currency: "USD"}, {Name: "child", Price: 1000}}})
			bctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			bk, err := cl.Book(bctx, &bookdv1.BookRequest{EventId: ev.GetId(), CustomerId: "first-buyer", Category: "adult", Quantity: 2})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := cl.JoinWaitlist(bctx, &bookdv1.JoinWaitlistRequest{EventId: ev.GetId(), CustomerId: "came-first", Category: "adult", Quantity: 1}); err != nil {
				t.Fatal(err)
			}

			var buf []byte
			var shopHidden bool
			step(t, ctx, dir, "sold out",
				chromedp.Navigate(run.URL()+"#/event/"+ev.GetId()),
				chromedp.WaitVisible(`#waitlist-btn`, chromedp.ByQuery),
				chromedp.Evaluate(`document.getElementById('shop').hidden && !document.getElementById('soldout').hidden`, &shopHidden),
				screenshot(dir, "1-sold-out", &buf),
			)
			fitsPhone(t, ctx, "sold out")
			if !shopHidden {
				t.Fatal("a sold-out departure offers tickets to pick, or does not say it is sold out")
			}

			var status, entryID string
			step(t, ctx, dir, "join",
				chromedp.SetValue(`#waitlist-category`, "child", chromedp.ByQuery),
				chromedp.Click(`#waitlist-btn`, chromedp.ByQuery),
				chromedp.WaitVisible(`#waitlist-status`, chromedp.ByQuery),
				chromedp.Text(`#waitlist-status`, &status, chromedp.ByQuery),
				chromedp.Evaluate(`document.getElementById('waitlist').dataset.entryId`, &entryID),
				screenshot(dir, "2-on-the-waitlist", &buf),
			)
			fitsPhone(t, ctx, "on the waitlist")
			if !strings.Contains(status, "number 2 in line") {
				t.Fatalf("after joining the page says %q, want the shopper's place behind the one who came first", status)
			}
			entry, err := cl.GetWaitlistEntry(bctx, entryID)
			if err != nil {
				t.Fatalf("the page's entry %q: %v", entryID, err)
			}
			if e := entry.GetEntry(); entry.GetPosition() != 2 || e.GetCategory() != "child" || e.GetQuantity() != 1 || !strings.HasPrefix(e.GetCustomerId(), identity.GuestPrefix) {
				t.Fatalf("entry %v at %d: want the browser's guest's, for 1 child, second in line", e, entry.GetPosition())
			}

			// Two tickets come back: one for the first in line, one for the
			// shopper, whose page moves on to the hold made for them.
			if _, err := cl.CancelBooking(bctx, &bookdv1.CancelBookingRequest{BookingId: bk.GetId()}); err != nil {
				t.Fatal(err)
			}
			var holdID, what, msg string
			step(t, ctx, dir, "offer",
				chromedp.WaitVisible(`#hold-panel`, chromedp.ByQuery),
				chromedp.Evaluate(`document.getElementById('hold-panel').dataset.holdId`, &holdID),
				chromedp.Text(`#hold-items li .what`, &what, chromedp.ByQuery),
				chromedp.Text(`#message`, &msg, chromedp.ByQuery),
				screenshot(dir, "3-offered", &buf),
			)
			h, err := cl.GetHold(bctx, holdID)
			if err != nil || h.GetWaitlistEntryId() != entryID || h.GetStatus() != bookdv1.HoldStatus_HOLD_STATUS_ACTIVE {
				t.Fatalf("the page checks out hold %q: %v, %v; want the active offer to entry %s", holdID, h, err, entryID)
			}
			if what != "1 × Child" || !strings.HasPrefix(msg, "Good news") {
				t.Fatalf("the offer's page shows %q and says %q", what, msg)
			}
		})
	}
}
