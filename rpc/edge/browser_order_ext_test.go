package edge_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/bookd/bookd/client"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/rpc/clustertest"
	"github.com/bookd/bookd/rpc/edge"
	"github.com/bookd/bookd/rpc/edge/identity"
)

// TestBrowserOrdersTwoDeparturesWithAVoucher: a shopper on a phone and on
// a desktop puts two categories of an outbound departure and an adult on
// the return into one order, with a voucher; the page shows the prices of
// the early-bird tier in each departure's time zone, and lists no
// departure that has left. The hold's total and discount on the page are
// the server's; a reload finds the hold again; the hold is extended and
// confirmed, and the booking has the order's items and total.
func TestBrowserOrdersTwoDeparturesWithAVoucher(t *testing.T) {
	c := clustertest.Start(t, 3, clustertest.Options{})
	run, _ := startEdge(t, c, edge.Config{Staleness: 100 * time.Millisecond})
	cl := newClient(t, c.Endpoints())
	for _, vp := range []viewport{phone, desktop} {
		t.Run(vp.name, func(t *testing.T) { orderTwoDepartures(t, vp, run, cl) })
	}
}

// tourCategories are a departure's prices: adults at 45.00 EUR after two
// early-bird tickets at 35.00, children at 25.00.
func tourCategories() []*bookdv1.Category {
	return []*bookdv1.Category{
		{Name: "adult", Price: 4500, Currency: "EUR", Tiers: []*bookdv1.PriceTier{{Quantity: 2, Price: 3500, Name: "early bird"}}},
		{Name: "child", Price: 2500, Currency: "EUR"},
	}
}

// euros is how the page writes an amount of euro cents in en-US.
func euros(cents int64) string { return fmt.Sprintf("€%d.%02d", cents/100, cents%100) }

func orderTwoDepartures(t *testing.T, vp viewport, run *edge.Running, cl *client.Client) {
	ctx := browserAt(t, vp)
	dir := artifacts(t)
	bctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	name := "Danube boat tour " + vp.name
	product, err := cl.CreateProduct(bctx, &bookdv1.CreateProductRequest{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	vienna, lisbon := location(t, "Europe/Vienna"), location(t, "Europe/Lisbon")
	d := time.Now().In(vienna).AddDate(0, 0, 3)
	outAt := time.Date(d.Year(), d.Month(), d.Day(), 9, 30, 0, 0, vienna)
	backAt := time.Date(d.Year(), d.Month(), d.Day()+1, 17, 15, 0, 0, lisbon)
	out := createEvent(t, cl, &bookdv1.CreateEventRequest{Name: name + " out", ProductId: product.GetId(), StartsAt: timestamppb.New(outAt),
		Capacity: 40, Categories: tourCategories(), TimeZone: "Europe/Vienna"})
	back := createEvent(t, cl, &bookdv1.CreateEventRequest{Name: name + " back", ProductId: product.GetId(), StartsAt: timestamppb.New(backAt),
		Capacity: 40, Categories: tourCategories(), TimeZone: "Europe/Lisbon"})
	left := createEvent(t, cl, &bookdv1.CreateEventRequest{Name: name + " earlier", ProductId: product.GetId(), StartsAt: timestamppb.New(time.Now().Add(-2 * time.Hour)),
		Capacity: 40, Categories: tourCategories(), TimeZone: "Europe/Vienna"})
	code := "DANUBE10-" + strings.ToUpper(vp.name)
	if _, err := cl.CreateVoucher(bctx, &bookdv1.CreateVoucherRequest{Voucher: &bookdv1.Voucher{
		Code: code, PercentOff: 10, ProductIds: []string{product.GetId()}, MaxRedemptions: 5}}); err != nil {
		t.Fatal(err)
	}

	// The departures of the tour that have not left, at their local times
	// (the browser is in another zone).
	var buf []byte
	var ids, times []string
	step(t, ctx, dir, "departures",
		chromedp.Navigate(run.URL()),
		chromedp.WaitVisible(`#search-form`, chromedp.ByQuery),
		chromedp.SendKeys(`#search-text`, name, chromedp.ByQuery),
		chromedp.Click(`#search-btn`, chromedp.ByQuery),
		chromedp.Poll(`document.querySelectorAll('.event-card .left:not(:empty)').length === 2`, nil),
		chromedp.Evaluate(`Array.from(document.querySelectorAll('.event-card')).map(e => e.dataset.eventId)`, &ids),
		chromedp.Evaluate(`Array.from(document.querySelectorAll('.event-card .when')).map(e => e.textContent)`, &times),
		screenshot(dir, "1-departures", &buf),
	)
	fitsPhone(t, ctx, "departures")
	if want := []string{out.GetId(), back.GetId()}; !slices.Equal(ids, want) {
		t.Fatalf("the page lists %q, want the outbound and return %q (not %s, which has left)", ids, want, left.GetId())
	}
	if !strings.Contains(times[0], "09:30 AM") || !strings.Contains(times[1], "05:15 PM") {
		t.Fatalf("departure times %q, want 09:30 AM in Vienna and 05:15 PM in Lisbon", times)
	}

	// Outbound: two adults at the early-bird price and a child.
	var adultPrice, tier, childPrice, subtotal string
	adult, child := `.cat-row[data-category="adult"]`, `.cat-row[data-category="child"]`
	step(t, ctx, dir, "outbound",
		clickWhenThere(fmt.Sprintf(`.event-card[data-event-id=%q] a`, out.GetId())),
		chromedp.WaitVisible(adult+` .step.up`, chromedp.ByQuery),
		chromedp.Poll(`document.querySelector('.cat-row[data-category="adult"] .cat-price').textContent !== ''`, nil),
		chromedp.Text(adult+` .cat-price`, &adultPrice, chromedp.ByQuery),
		chromedp.Text(adult+` .tier`, &tier, chromedp.ByQuery),
		chromedp.Text(child+` .cat-price`, &childPrice, chromedp.ByQuery),
		chromedp.Click(adult+` .step.up`, chromedp.ByQuery),
		chromedp.Click(adult+` .step.up`, chromedp.ByQuery),
		chromedp.Click(child+` .step.up`, chromedp.ByQuery),
		chromedp.Poll(`document.getElementById('cart-total').textContent === '€95.00'`, nil),
		chromedp.Text(`#event-subtotal-amount`, &subtotal, chromedp.ByQuery),
		screenshot(dir, "2-outbound-picked", &buf),
	)
	fitsPhone(t, ctx, "outbound")
	if adultPrice != "€35.00" || childPrice != "€25.00" || tier != "Early bird: 2 left at this price" || subtotal != "€95.00" {
		t.Fatalf("outbound shows adult %q (%q), child %q, subtotal %q", adultPrice, tier, childPrice, subtotal)
	}

	// Return: one adult; the order holds both departures.
	var lines []string
	step(t, ctx, dir, "return",
		chromedp.Click(`#view-event .back`, chromedp.ByQuery),
		clickWhenThere(fmt.Sprintf(`.event-card[data-event-id=%q] a`, back.GetId())),
		chromedp.WaitVisible(adult+` .step.up`, chromedp.ByQuery),
		chromedp.Poll(`document.querySelector('.cat-row[data-category="adult"] .cat-price').textContent !== ''`, nil),
		chromedp.Click(adult+` .step.up`, chromedp.ByQuery),
		chromedp.Poll(`document.getElementById('cart-total').textContent === '€130.00'`, nil),
		chromedp.Evaluate(`Array.from(document.querySelectorAll('#cart-items li strong')).map(e => e.textContent)`, &lines),
		screenshot(dir, "3-order", &buf),
	)
	fitsPhone(t, ctx, "order")
	if want := []string{"2 × Adult", "1 × Child", "1 × Adult"}; !slices.Equal(lines, want) {
		t.Fatalf("the order lists %q, want %q", lines, want)
	}

	// A code that is no voucher is refused in words for the shopper.
	var msg string
	step(t, ctx, dir, "unknown voucher",
		chromedp.SendKeys(`#voucher-code`, "NO-SUCH-CODE", chromedp.ByQuery),
		chromedp.Click(`#hold-btn`, chromedp.ByQuery),
		chromedp.WaitVisible(`#message.error`, chromedp.ByQuery),
		chromedp.Text(`#message`, &msg, chromedp.ByQuery),
		screenshot(dir, "4-voucher-refused", &buf),
	)
	if msg != "That voucher code can't be used for these tickets. Check the code, or remove it to go on without it." {
		t.Fatalf("an unknown voucher is told as %q", msg)
	}

	// The voucher: the hold's total and discount are the server's.
	var holdID, total, discount, subtotalHeld string
	step(t, ctx, dir, "hold",
		chromedp.Evaluate(`document.getElementById('voucher-code').select()`, nil), // typed over
		chromedp.SendKeys(`#voucher-code`, code, chromedp.ByQuery),
		chromedp.Click(`#hold-btn`, chromedp.ByQuery),
		chromedp.WaitVisible(`#hold-panel`, chromedp.ByQuery),
		chromedp.Poll(`/^\d\d:\d\d$/.test(document.getElementById('countdown').textContent)`, nil),
		chromedp.Evaluate(`document.getElementById('hold-panel').dataset.holdId`, &holdID),
		chromedp.Text(`#hold-total`, &total, chromedp.ByQuery),
		chromedp.Text(`#hold-discount`, &discount, chromedp.ByQuery),
		chromedp.Text(`#hold-subtotal`, &subtotalHeld, chromedp.ByQuery),
		screenshot(dir, "5-held", &buf),
	)
	fitsPhone(t, ctx, "held")
	h, err := cl.GetHold(bctx, holdID)
	if err != nil {
		t.Fatalf("the page's hold %q: %v", holdID, err)
	}
	if !strings.HasPrefix(h.GetCustomerId(), identity.GuestPrefix) || h.GetVoucherCode() != code {
		t.Fatalf("hold %v: want the browser's guest's, with voucher %s", h, code)
	}
	wantItems := []string{out.GetId() + " adult 2 7000", out.GetId() + " child 1 2500", back.GetId() + " adult 1 3500"}
	if got := itemSummaries(h.GetItems()); !slices.Equal(got, wantItems) {
		t.Fatalf("hold items %q, want %q", got, wantItems)
	}
	if h.GetTotal() != 11700 || h.GetDiscount() != 1300 {
		t.Fatalf("hold total %d, discount %d; want 11700 and 1300 (10%% off 130.00)", h.GetTotal(), h.GetDiscount())
	}
	if total != euros(h.GetTotal()) || discount != "−"+euros(h.GetDiscount()) || subtotalHeld != euros(h.GetTotal()+h.GetDiscount()) {
		t.Fatalf("the page shows total %q, discount %q, tickets %q; the hold has %d, %d", total, discount, subtotalHeld, h.GetTotal(), h.GetDiscount())
	}

	// A reload finds the hold again.
	var again, totalAgain string
	step(t, ctx, dir, "reload",
		chromedp.Reload(),
		chromedp.WaitVisible(`#hold-panel`, chromedp.ByQuery),
		chromedp.Poll(`/^\d\d:\d\d$/.test(document.getElementById('countdown').textContent)`, nil),
		chromedp.Evaluate(`document.getElementById('hold-panel').dataset.holdId`, &again),
		chromedp.Text(`#hold-total`, &totalAgain, chromedp.ByQuery),
		screenshot(dir, "6-reloaded", &buf),
	)
	if again != holdID || totalAgain != total {
		t.Fatalf("after a reload the page shows hold %q at %q, want %q at %q", again, totalAgain, holdID, total)
	}

	// Even with the session gone (a new guest to the edge), the hold's
	// client_secret kept by the page reaches it; the rest of the checkout
	// goes on by the secret.
	var bySecret string
	step(t, ctx, dir, "reload without the session",
		network.ClearBrowserCookies(),
		chromedp.Reload(),
		chromedp.WaitVisible(`#hold-panel`, chromedp.ByQuery),
		chromedp.Evaluate(`document.getElementById('hold-panel').dataset.holdId`, &bySecret),
	)
	if bySecret != holdID {
		t.Fatalf("without the session cookie the page shows hold %q, want %q", bySecret, holdID)
	}

	// More time: the hold now lasts longer.
	step(t, ctx, dir, "extend",
		chromedp.Click(`#extend-btn`, chromedp.ByQuery),
		chromedp.Poll(`document.getElementById('message').textContent.startsWith('Your tickets are held until')`, nil),
		screenshot(dir, "7-extended", &buf),
	)
	extended, err := cl.GetHold(bctx, holdID)
	if err != nil {
		t.Fatal(err)
	}
	if got, was := extended.GetExpiresAt().AsTime(), h.GetExpiresAt().AsTime(); !got.After(was.Add(5 * time.Minute)) {
		t.Fatalf("after extending, the hold expires at %v; it expired at %v", got, was)
	}

	// Confirm: the booking has the order's items and total.
	var bookingID, bookedTotal string
	step(t, ctx, dir, "confirm",
		chromedp.SendKeys(`#payment-ref`, "card-auth-"+vp.name, chromedp.ByQuery),
		chromedp.Click(`#confirm-btn`, chromedp.ByQuery),
		chromedp.WaitVisible(`#booking`, chromedp.ByQuery),
		chromedp.Text(`#booking-id`, &bookingID, chromedp.ByQuery),
		chromedp.Text(`#booking-total`, &bookedTotal, chromedp.ByQuery),
		screenshot(dir, "8-booked", &buf),
	)
	fitsPhone(t, ctx, "booked")
	bk, err := cl.GetBooking(bctx, bookingID)
	if err != nil {
		t.Fatalf("booking %q: %v", bookingID, err)
	}
	if got := itemSummaries(bk.GetItems()); !slices.Equal(got, wantItems) || bk.GetTotal() != 11700 || bk.GetDiscount() != 1300 ||
		bk.GetVoucherCode() != code || bk.GetPaymentRef() != "card-auth-"+vp.name || bk.GetHoldId() != holdID {
		t.Fatalf("booking %v: want items %q, total 11700, discount 1300 with %s, paid by card-auth-%s, from hold %s", bk, wantItems, code, vp.name, holdID)
	}
	if bookedTotal != euros(bk.GetTotal()) {
		t.Fatalf("the booking page shows total %q, the booking has %d", bookedTotal, bk.GetTotal())
	}

	// The departure that has left, reached by a link, is not sold.
	var shopHidden bool
	step(t, ctx, dir, "departed",
		chromedp.Navigate(run.URL()+"#/event/"+left.GetId()),
		chromedp.WaitVisible(`#departed`, chromedp.ByQuery),
		chromedp.Evaluate(`document.getElementById('shop').hidden && document.getElementById('waitlist').hidden`, &shopHidden),
		screenshot(dir, "9-departed", &buf),
	)
	if !shopHidden {
		t.Fatal("a departure that has left offers tickets or its waitlist")
	}
}

// itemSummaries writes an order's items as "event category quantity amount".
func itemSummaries(items []*bookdv1.OrderItem) []string {
	var out []string
	for _, it := range items {
		out = append(out, fmt.Sprintf("%s %s %d %d", it.GetEventId(), it.GetCategory(), it.GetQuantity(), it.GetAmount()))
	}
	return out
}

func location(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}
