package edge_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"google.golang.org/protobuf/types/known/timestamppb"

	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/rpc/clustertest"
	"github.com/bookd/bookd/rpc/edge"
	"github.com/bookd/bookd/rpc/edge/identity"
)

// chromium finds Debian's chromium (or another Chrome). Without one the
// test is skipped on a developer's machine but fails in CI, which installs it.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("no chromium found; .ci/run installs Debian's chromium")
	}
	t.Skip("no chromium found: apt-get install chromium (make test does)")
	return ""
}

// artifacts is where screenshots go: $BOOKD_ARTIFACTS/<test>, or a
// directory under the system's temporary directory that outlives the test.
func artifacts(t *testing.T) string {
	t.Helper()
	base := os.Getenv("BOOKD_ARTIFACTS")
	if base == "" {
		base = filepath.Join(os.TempDir(), "bookd-artifacts")
	}
	dir := filepath.Join(base, strings.ReplaceAll(t.Name(), "/", "_"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", dir)
	return dir
}

// viewport is a browser window the page is tried in.
type viewport struct {
	name          string
	width, height int64
	mobile        bool
}

var (
	// phone: 375×812 CSS pixels at 3× density, touch, mobile viewport.
	phone = viewport{"phone", 375, 812, true}
	// desktop: a laptop's 1280×900 window.
	desktop = viewport{"desktop", 1280, 900, false}
)

// browserZone is the browser's own time zone in the tests: one no event of
// the tests takes place in, so times shown in the event's zone tell.
const browserZone = "America/Los_Angeles"

// browser starts headless chromium with a phone-sized window.
func browser(t *testing.T) context.Context {
	t.Helper()
	return browserAt(t, phone)
}

// browserAt starts headless chromium with the window vp, in English (US)
// and the time zone browserZone.
func browserAt(t *testing.T, vp viewport) context.Context {
	t.Helper()
	opts := append(slices.Clone(chromedp.DefaultExecAllocatorOptions[:]),
		chromedp.ExecPath(chromium(t)),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("lang", "en-US"),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	emulate := []chromedp.EmulateViewportOption{chromedp.EmulateScale(1)}
	if vp.mobile {
		emulate = []chromedp.EmulateViewportOption{chromedp.EmulateScale(3), chromedp.EmulateMobile, chromedp.EmulateTouch}
	}
	err := chromedp.Run(ctx,
		chromedp.EmulateViewport(vp.width, vp.height, emulate...),
		emulation.SetLocaleOverride().WithLocale("en-US"),
		emulation.SetTimezoneOverride(browserZone),
	)
	if err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// fitsPhone fails the test when the page is wider than the browser's
// window (a horizontal scroll bar).
func fitsPhone(t *testing.T, ctx context.Context, where string) {
	t.Helper()
	var widths []int
	if err := chromedp.Run(ctx, chromedp.Evaluate(`[document.documentElement.scrollWidth, window.innerWidth]`, &widths)); err != nil {
		t.Fatal(err)
	}
	if widths[0] > widths[1] {
		t.Errorf("%s: the page is %d px wide on a %d px screen", where, widths[0], widths[1])
	}
}

func screenshot(dir, name string, buf *[]byte) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		if err := chromedp.FullScreenshot(buf, 100).Do(ctx); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, name+".png"), *buf, 0o644)
	})
}

// TestBrowserBooksSeatEndToEnd drives the page in headless chromium against
// a real 3-node cluster behind an edge: search by date, pick two seats,
// hold them with a countdown, confirm with a payment reference, see the
// booking; and a sold-out event shows its sold-out state.
func TestBrowserBooksSeatEndToEnd(t *testing.T) {
	ctx := browser(t)
	dir := artifacts(t)
	c := clustertest.Start(t, 3, clustertest.Options{})
	run, _ := startEdge(t, c, edge.Config{Staleness: 100 * time.Millisecond})
	cl := newClient(t, c.Endpoints())

	// Noon UTC two days from now; the page filters by the date where the
	// event takes place (UTC for these, which name no time zone).
	day := time.Now().UTC().Add(48 * time.Hour).Truncate(24 * time.Hour).Add(12 * time.Hour)
	walk := createEvent(t, cl, &bookdv1.CreateEventRequest{Name: "Lisbon old town walk", StartsAt: timestamppb.New(day),
		Seats: []string{"A1", "A2", "A3", "A4", "B1", "B2", "B3", "B4"}})
	createEvent(t, cl, &bookdv1.CreateEventRequest{Name: "Porto tram ride", StartsAt: timestamppb.New(day.Add(24 * time.Hour)), Capacity: 40})
	sold := createEvent(t, cl, &bookdv1.CreateEventRequest{Name: "Sintra sunset", StartsAt: timestamppb.New(day), Capacity: 1})
	bctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := cl.Book(bctx, &bookdv1.BookRequest{EventId: sold.GetId(), CustomerId: "early-bird", Quantity: 1, PaymentRef: "p0"}); err != nil {
		t.Fatal(err)
	}

	// Search: the date filter keeps the walk and the sold-out event, not
	// the next day's tram.
	var buf []byte
	var cards, times []string
	card := fmt.Sprintf(`.event-card[data-event-id=%q] a`, walk.GetId())
	err := chromedp.Run(ctx,
		chromedp.Navigate(run.URL()),
		chromedp.WaitVisible(`#search-form`),
		chromedp.SetValue(`#search-date`, day.Format("2006-01-02"), chromedp.ByQuery),
		chromedp.Click(`#search-btn`, chromedp.ByQuery),
		chromedp.WaitVisible(card, chromedp.ByQuery),
		chromedp.Poll(`document.querySelectorAll('.event-card .left:not(:empty)').length === 2`, nil),
		chromedp.Evaluate(`Array.from(document.querySelectorAll('.event-card .name')).map(e => e.textContent)`, &cards),
		chromedp.Evaluate(`Array.from(document.querySelectorAll('.event-card .when')).map(e => e.textContent)`, &times),
		screenshot(dir, "1-search", &buf),
	)
	if err != nil {
		t.Fatalf("search: %v", err)
	}
	// Events that name no time zone are shown in UTC (the browser is in
	// browserZone).
	for _, at := range times {
		if !strings.HasSuffix(at, "12:00 PM UTC") {
			t.Errorf("a noon UTC departure without a time zone is shown at %q, want 12:00 PM UTC", at)
		}
	}
	fitsPhone(t, ctx, "search")
	slices.Sort(cards)
	if want := []string{"Lisbon old town walk", "Sintra sunset"}; !slices.Equal(cards, want) {
		t.Fatalf("search for %s found %q, want %q", day.Format("2006-01-02"), cards, want)
	}

	// Pick A2 and A3, hold them, watch the countdown.
	var countdown, holdWhat string
	err = chromedp.Run(ctx,
		chromedp.Click(card, chromedp.ByQuery),
		chromedp.WaitVisible(`.seat[data-seat="A2"]`, chromedp.ByQuery),
		chromedp.Click(`.seat[data-seat="A2"]`, chromedp.ByQuery),
		chromedp.Click(`.seat[data-seat="A3"]`, chromedp.ByQuery),
		chromedp.WaitEnabled(`#hold-btn`, chromedp.ByQuery),
		screenshot(dir, "2-seats-picked", &buf),
		chromedp.Click(`#hold-btn`, chromedp.ByQuery),
		chromedp.WaitVisible(`#hold-panel`, chromedp.ByQuery),
		chromedp.Poll(`/^\d\d:\d\d$/.test(document.getElementById('countdown').textContent)`, nil),
		chromedp.Text(`#countdown`, &countdown, chromedp.ByQuery),
		chromedp.Text(`#hold-items li .what`, &holdWhat, chromedp.ByQuery),
		screenshot(dir, "3-held-countdown", &buf),
	)
	if err != nil {
		t.Fatalf("hold: %v", err)
	}
	fitsPhone(t, ctx, "hold")
	if !regexp.MustCompile(`^(0\d|10):\d\d$`).MatchString(countdown) || countdown == "00:00" {
		t.Fatalf("countdown shows %q, want the time left of a 10-minute hold", countdown)
	}
	if holdWhat != "Seats A2, A3" {
		t.Fatalf("hold panel says %q, want Seats A2, A3", holdWhat)
	}

	// A reload keeps the shopper's hold: the page finds it again, and the
	// edge knows the shopper by their session cookie.
	var heldID string
	err = chromedp.Run(ctx,
		chromedp.Reload(),
		chromedp.WaitVisible(`#hold-panel`, chromedp.ByQuery),
		chromedp.Poll(`/^\d\d:\d\d$/.test(document.getElementById('countdown').textContent)`, nil),
		chromedp.Text(`#hold-items li .what`, &holdWhat, chromedp.ByQuery),
		chromedp.Evaluate(`document.getElementById('hold-panel').dataset.holdId`, &heldID),
		screenshot(dir, "3b-held-after-reload", &buf),
	)
	if err != nil {
		t.Fatalf("reload with a hold: %v", err)
	}
	if holdWhat != "Seats A2, A3" {
		t.Fatalf("after a reload the hold panel says %q, want Seats A2, A3", holdWhat)
	}
	if h, err := cl.GetHold(bctx, heldID); err != nil || !strings.HasPrefix(h.GetCustomerId(), identity.GuestPrefix) {
		t.Fatalf("the page's hold %s: %v, %v; want one held for the browser's guest session", heldID, h, err)
	}

	// Confirm with a payment reference and an e-mail for the receipt; the
	// booking page shows both, and the booking carries the address (the
	// receipts worker sends there).
	var bookingID, bookingWhat, payment, receiptTo string
	err = chromedp.Run(ctx,
		chromedp.SendKeys(`#payment-ref`, "card-auth-4711", chromedp.ByQuery),
		chromedp.SendKeys(`#contact-email`, "alice.walker@example.com", chromedp.ByQuery),
		screenshot(dir, "3c-confirm-with-email", &buf),
		chromedp.Click(`#confirm-btn`, chromedp.ByQuery),
		chromedp.WaitVisible(`#view-booking`, chromedp.ByQuery),
		chromedp.Poll(`document.getElementById('booking-payment').textContent !== ''`, nil),
		chromedp.Text(`#booking-id`, &bookingID, chromedp.ByQuery),
		chromedp.Text(`#booking-items li .what`, &bookingWhat, chromedp.ByQuery),
		chromedp.Text(`#booking-payment`, &payment, chromedp.ByQuery),
		chromedp.Text(`#booking-email`, &receiptTo, chromedp.ByQuery),
		screenshot(dir, "4-booked", &buf),
	)
	if err != nil {
		t.Fatalf("confirm: %v", err)
	}
	fitsPhone(t, ctx, "booking")
	if bookingWhat != "Seats A2, A3" || payment != "card-auth-4711" || receiptTo != "alice.walker@example.com" {
		t.Fatalf("booking page shows %q paid by %q, receipt to %q", bookingWhat, payment, receiptTo)
	}
	bk, err := cl.GetBooking(bctx, bookingID)
	if err != nil {
		t.Fatalf("booking %q the page shows: %v", bookingID, err)
	}
	if !slices.Equal(bk.GetSeats(), []string{"A2", "A3"}) || bk.GetPaymentRef() != "card-auth-4711" || bk.GetEventId() != walk.GetId() ||
		bk.GetContactEmail() != "alice.walker@example.com" {
		t.Fatalf("cluster has booking %v", bk)
	}

	// The walk's page now shows A2 and A3 taken.
	var taken []string
	err = chromedp.Run(ctx,
		chromedp.Navigate(run.URL()+"#/event/"+walk.GetId()),
		chromedp.WaitVisible(`.seat[data-seat="A1"]`, chromedp.ByQuery),
		chromedp.Evaluate(`Array.from(document.querySelectorAll('#seatmap .seat.taken')).map(e => e.dataset.seat)`, &taken),
	)
	if err != nil {
		t.Fatalf("reload event: %v", err)
	}
	if !slices.Equal(taken, []string{"A2", "A3"}) {
		t.Fatalf("seat map shows %q taken, want A2 and A3", taken)
	}

	// A hold that ends before the shopper confirms (here let go from
	// elsewhere; an expired hold takes the same path) is explained, and the
	// seats go back to picking.
	var msg string
	var holdID string
	err = chromedp.Run(ctx,
		chromedp.Click(`.seat[data-seat="B1"]`, chromedp.ByQuery),
		chromedp.WaitEnabled(`#hold-btn`, chromedp.ByQuery),
		chromedp.Click(`#hold-btn`, chromedp.ByQuery),
		chromedp.WaitVisible(`#hold-panel`, chromedp.ByQuery),
		chromedp.Evaluate(`document.getElementById('hold-panel').dataset.holdId`, &holdID),
	)
	if err != nil {
		t.Fatalf("hold B1: %v", err)
	}
	if _, err := cl.ReleaseHold(bctx, &bookdv1.ReleaseHoldRequest{HoldId: holdID}); err != nil {
		t.Fatalf("release %s from elsewhere: %v", holdID, err)
	}
	err = chromedp.Run(ctx,
		chromedp.SendKeys(`#payment-ref`, "card-auth-4712", chromedp.ByQuery),
		chromedp.Click(`#confirm-btn`, chromedp.ByQuery),
		chromedp.WaitVisible(`#message.error`, chromedp.ByQuery),
		chromedp.WaitNotVisible(`#hold-panel`, chromedp.ByQuery),
		chromedp.Text(`#message`, &msg, chromedp.ByQuery),
		screenshot(dir, "5-hold-gone", &buf),
	)
	if err != nil {
		t.Fatalf("confirm a released hold: %v", err)
	}
	if msg != "Your tickets were let go before you confirmed, so nothing was booked." {
		t.Fatalf("after confirming a released hold the page says %q", msg)
	}

	// The sold-out event says so and offers nothing to hold.
	var shopHidden bool
	err = chromedp.Run(ctx,
		chromedp.Navigate(run.URL()+"#/event/"+sold.GetId()),
		chromedp.WaitVisible(`#soldout`, chromedp.ByQuery),
		chromedp.Evaluate(`document.getElementById('shop').hidden`, &shopHidden),
		screenshot(dir, "6-sold-out", &buf),
	)
	if err != nil {
		t.Fatalf("sold out: %v", err)
	}
	if !shopHidden {
		t.Fatal("a sold-out event still offers seats to hold")
	}
}

// step runs a step of a browser test. When it fails (a wait that never
// ends is cut after a minute), the test fails with what the page shows:
// its message, route and a screenshot, "<name>-failed.png".
// clickWhenThere clicks the element sel selects as soon as there is one,
// in one script: a list the page draws again (a departure list refreshed
// after "back") may replace the node between chromedp.Click's finding it
// and clicking it, which fails with "Could not find node with given id".
func clickWhenThere(sel string) chromedp.Action {
	return chromedp.Poll(fmt.Sprintf(`(() => { const e = document.querySelector(%s); if (!e) return false; e.click(); return true; })()`,
		strconv.Quote(sel)), nil)
}

func step(t *testing.T, ctx context.Context, dir, name string, actions ...chromedp.Action) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	err := chromedp.Run(sctx, actions...)
	if err == nil {
		return
	}
	var state string
	var buf []byte
	_ = chromedp.Run(ctx,
		chromedp.Evaluate(`location.hash + " | message: " + document.getElementById('message').textContent`, &state),
		screenshot(dir, name+"-failed", &buf))
	t.Fatalf("%s: %v (the page: %s)", name, err, state)
}
