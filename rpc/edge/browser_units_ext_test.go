package edge_test

import (
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/bookd/bookd/rpc/edge/web"
)

// TestBrowserPageModules runs the page's own modules in chromium (as the
// page loads them, from web.Handler) on cases the end-to-end tests do not
// reach: amounts in currencies with 0 and 3 decimals, running totals that
// cross a price tier, time zones the browser does not know, dates in the
// event's zone, and refusals whose API text must never reach the shopper.
func TestBrowserPageModules(t *testing.T) {
	srv := httptest.NewServer(web.Handler())
	t.Cleanup(srv.Close)
	ctx := browser(t)
	dir := artifacts(t)
	cases := []struct{ name, expr, want string }{
		{"euros", `f.money(4500, "EUR")`, `"€45.00"`},
		{"yen have no minor unit", `f.money(4500, "JPY")`, `"¥4,500"`},
		{"dinars have three decimals", `f.money(12345, "BHD").includes("12.345")`, `true`},
		{"an unknown currency is named", `f.money(4500, "ZZZ").includes("ZZZ")`, `true`},
		{"no currency, no price", `f.money(4500, "")`, `""`},
		{"a discount", `f.discount(1300, "EUR")`, `"−€13.00"`},

		{"within the tier", `c.estimate(tour, tierLeft(2), "adult", 2)`, `7000`},
		{"across the tier", `c.estimate(tour, tierLeft(2), "adult", 3)`, `11500`},
		{"one early bird left", `c.estimate(tour, tierLeft(1), "adult", 2)`, `8000`},
		{"past the tiers", `c.estimate(tour, {categories: [{name: "adult", tier: 1, price: "4500"}]}, "adult", 2)`, `9000`},
		{"not read yet: from the first tier", `c.estimate(tour, undefined, "adult", 3)`, `11500`},
		{"a category without tiers", `c.estimate(tour, tierLeft(2), "child", 2)`, `5000`},

		{"the event's zone", `f.when("2026-03-01T00:30:00Z", "Asia/Tokyo")`, `"Sun, Mar 1, 2026, 09:30 AM GMT+9"`},
		{"no zone is UTC", `f.when("2026-03-01T00:30:00Z", "").endsWith("12:30 AM UTC")`, `true`},
		{"an unknown zone is UTC", `f.when("2026-03-01T00:30:00Z", "Mars/Olympus_Mons").endsWith("12:30 AM UTC")`, `true`},
		{"the date where it departs", `f.dateIn("2026-03-01T20:00:00Z", "Asia/Tokyo")`, `"2026-03-02"`},
		{"a seat-map seat", `f.seatName("STALLS-A-12")`, `"Stalls A12"`},
		{"an order's item", `f.itemText({category: "early_bird", quantity: "3"})`, `"3 × Early bird"`},

		{"API text never shown", `refusals.every((e) => !m.explain(e, () => "x").includes("RAW"))`, `true`},
		{"every refusal has a sentence", `refusals.every((e) => /^[A-Z].*[.!]$/.test(m.explain(e, () => "x")))`, `true`},
		{"a throttled hold says when to retry", `m.explain({code: "resource_exhausted", reason: "", meta: {}, field: "", retryAfterMs: 2500})`, `"We are very busy right now. Please try again in 3 s."`},
		{"too many voucher codes tried", `m.explain({code: "resource_exhausted", reason: "VOUCHER_ATTEMPTS", meta: {}, field: "", retryAfterMs: 90000})`,
			`"Too many voucher codes that can't be used were tried from here. Try again in 2 min, or remove the code to hold without it."`},
		{"two waiting rooms in one order", `m.explain({code: "invalid_argument", reason: "", meta: {item: "1"}, field: "items[1].event_id"}, (i) => ["a", "1 × Adult, Gala"][i])`,
			`"Only one departure with a waiting room can be in an order (1 × Adult, Gala). Book it in an order of its own."`},
		{"the item a refusal names", `m.explain({code: "failed_precondition", reason: "CUSTOMER_LIMIT", meta: {item: "1"}, field: ""}, (i) => ["a", "2 × Adult, Ferry"][i])`,
			`"You already have as many tickets for this departure as one person may (2 × Adult, Ferry). Choose fewer."`},
	}
	const prelude = `
const tour = {id: "ev_1", categories: [
  {name: "adult", price: "4500", currency: "EUR", tiers: [{quantity: "2", price: "3500", name: "early bird"}]},
  {name: "child", price: "2500", currency: "EUR"}]};
const tierLeft = (n) => ({categories: [{name: "adult", tier: 0, tierLeft: String(n), price: "3500"}, {name: "child", tier: 0, price: "2500"}]});
const refusals = ["SOLD_OUT", "SEAT_TAKEN", "SEAT_BLOCKED", "UNKNOWN_SEAT", "UNKNOWN_CATEGORY", "CURRENCY_MISMATCH", "VOUCHER_UNKNOWN",
  "VOUCHER_NOT_VALID", "VOUCHER_USED_UP", "CUSTOMER_LIMIT", "HOLD_LIMIT", "HOLD_CAP", "HOLD_EXPIRED", "HOLD_RELEASED", "HOLD_CONFIRMED",
  "EVENT_CLOSED", "EVENT_CANCELLED", "ADMISSION_REQUIRED", "AVAILABLE", "NOT_WAITING", "VOUCHER_ATTEMPTS", "SOMETHING_NEW", ""].flatMap((reason) =>
  ["failed_precondition", "invalid_argument", "not_found", "resource_exhausted", "unavailable", "network", "internal", "unauthenticated", "permission_denied"].map((code) =>
    ({code, reason, message: "RAW items[0].seats: event ev_1", meta: {item: "0", available: "3"}, field: "items[0].voucher_code", retryAfterMs: 0})));
`
	var buf []byte
	step(t, ctx, dir, "load", chromedp.Navigate(srv.URL+"/#/checkout"), chromedp.WaitVisible(`#view-checkout`, chromedp.ByQuery),
		screenshot(dir, "page", &buf))
	for _, tc := range cases {
		var got json.RawMessage
		js := `(async () => { const f = await import("/format.js"), c = await import("/catalog.js"), m = await import("/messages.js");` +
			prelude + `return JSON.stringify(` + tc.expr + `); })()`
		err := chromedp.Run(ctx, chromedp.Evaluate(js, &got, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }))
		var s string
		if err == nil {
			err = json.Unmarshal(got, &s)
		}
		if err != nil || s != tc.want {
			t.Errorf("%s: %s = %s (%v), want %s", tc.name, tc.expr, s, err, tc.want)
		}
	}
}
