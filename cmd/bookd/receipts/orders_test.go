package receipts

import (
	"math"
	"mime"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
)

func TestMoney(t *testing.T) {
	for _, tc := range []struct {
		amount int64
		cur    string
		want   string
	}{
		{5700, "EUR", "57.00 EUR"},
		{5, "EUR", "0.05 EUR"},
		{0, "EUR", "0.00 EUR"},
		{-500, "EUR", "-5.00 EUR"},
		{1200, "JPY", "1200 JPY"},
		{12345, "BHD", "12.345 BHD"},
		{5, "KWD", "0.005 KWD"},
		{1999, "ZZZ", "19.99 ZZZ"}, // not a currency x/text knows: 2 decimals
		{math.MinInt64, "EUR", "-92233720368547758.08 EUR"},
	} {
		if got := moneyOf(tc.amount, tc.cur); got != tc.want {
			t.Errorf("moneyOf(%d, %s) = %q, want %q", tc.amount, tc.cur, got, tc.want)
		}
	}
}

// order is Alice's order of two events: two adults on the opening night,
// one at the early-bird price, and a seat on the matinee, with a voucher.
func order(email string) (*bookdv1.Booking, *bookdv1.Event, map[string]*bookdv1.Event) {
	b := booking(email)
	b.Currency, b.Total, b.Discount, b.VoucherCode = "EUR", 5700, 500, "RIVER5"
	b.Quantity, b.Seats = 2, nil
	b.Items = []*bookdv1.OrderItem{
		{EventId: "ev_7", Category: "adult", Quantity: 2, Amount: 4500, Discount: 404, Prices: []*bookdv1.PriceLine{
			{Tier: 0, Quantity: 1, UnitPrice: 2000}, {Tier: 1, Quantity: 1, UnitPrice: 2500}}},
		{EventId: "ev_8", Category: "stalls", Quantity: 1, Seats: []string{"B4"}, Amount: 1200, Discount: 96, Prices: []*bookdv1.PriceLine{
			{Tier: 0, Quantity: 1, UnitPrice: 1200}}},
	}
	ev := event()
	ev.TimeZone = "Europe/Vienna"
	ev.Categories = []*bookdv1.Category{{Name: "adult", Price: 2500, Currency: "EUR",
		Tiers: []*bookdv1.PriceTier{{Quantity: 10, Price: 2000, Name: "early bird"}}}}
	matinee := &bookdv1.Event{Id: "ev_8", Name: "Matinee", StartsAt: timestamppb.New(ev.GetStartsAt().AsTime().Add(-6 * 3600e9))}
	return b, ev, map[string]*bookdv1.Event{"ev_7": ev, "ev_8": matinee}
}

// The receipt of an order lists each item (event, its start in the
// event's time zone, category, tickets, seats, price lines with the tier's
// name, amount), the voucher's discount and the total, in the text and the
// HTML part; an item cancelled by the time the receipt goes out is marked.
func TestRenderOrderReceipt(t *testing.T) {
	b, ev, events := order("alice@example.com")
	r := receipt(b, ev)
	r.Events = events
	m, err := Render(r)
	if err != nil {
		t.Fatal(err)
	}
	h, text, html := parts(t, m.Data)
	if h.Get("Subject") != "Your booking bk_42: Opening night and 1 more" {
		t.Errorf("Subject %q", h.Get("Subject"))
	}
	for _, want := range []string{"Your booking bk_42 is confirmed.", "Opening night", "Tue 1 Dec 2026 20:30 CET", "adult",
		"1 × 20.00 EUR (early bird)", "1 × 25.00 EUR", "45.00 EUR", "Matinee", "stalls", "B4", "12.00 EUR",
		"-5.00 EUR", "RIVER5", "57.00 EUR", "pi_123", "bk_42"} {
		if !strings.Contains(text, want) || !strings.Contains(html, want) {
			t.Errorf("%q missing from text or HTML:\n%s\n%s", want, text, html)
		}
	}
	if strings.Contains(text, "cancelled") || strings.Contains(text, "Refund") {
		t.Errorf("a confirmation of live items speaks of a cancellation or a refund:\n%s", text)
	}

	// The matinee seat was cancelled before the receipt went out; the
	// matinee is unknown to the worker (shown by its id).
	b.Items[1].CancelledAt = timestamppb.New(r.Time.Add(-time.Hour))
	delete(events, "ev_8")
	m, err = Render(r)
	if err != nil {
		t.Fatal(err)
	}
	_, text, html = parts(t, m.Data)
	if !strings.Contains(text, "2. ev_8, stalls (cancelled)") || !strings.Contains(html, "<em>cancelled</em>") || strings.Contains(text, "Matinee") {
		t.Errorf("the cancelled item of an unknown event is not shown by its id and marked:\n%s\n%s", text, html)
	}
}

// A partial cancellation gets a short e-mail of the items cancelled, each
// with its share of the discount, and the refund; a full cancellation of
// an order says its total and what is refunded now.
func TestRenderCancellations(t *testing.T) {
	b, ev, events := order("alice@example.com")
	r := receipt(b, ev)
	r.Events, r.Kind, r.Items, r.Refund = events, KindItemsCancelled, b.Items[1:], 1104
	m, err := Render(r)
	if err != nil {
		t.Fatal(err)
	}
	h, text, html := parts(t, m.Data)
	if h.Get("Subject") != "Part of booking bk_42 cancelled: Matinee" {
		t.Errorf("Subject %q", h.Get("Subject"))
	}
	for _, want := range []string{"Part of your booking bk_42 has been cancelled", "Matinee", "B4", "12.00 EUR", "-0.96 EUR", "11.04 EUR", "the rest of the booking stands"} {
		if !strings.Contains(text, want) || !strings.Contains(html, want) {
			t.Errorf("%q missing from text or HTML:\n%s\n%s", want, text, html)
		}
	}
	for _, not := range []string{"Opening night", "early bird", "57.00 EUR", "RIVER5", "Total"} {
		if strings.Contains(text, not) || strings.Contains(html, not) {
			t.Errorf("the partial cancellation shows %q, which is not about the cancelled items:\n%s\n%s", not, text, html)
		}
	}

	// The seat was cancelled an hour before the rest.
	r.Kind, r.Items, r.Refund = KindCancelled, nil, 4596
	b.Items[0].CancelledAt, b.Items[1].CancelledAt = timestamppb.New(r.Time), timestamppb.New(r.Time.Add(-time.Hour))
	m, err = Render(r)
	if err != nil {
		t.Fatal(err)
	}
	h, text, html = parts(t, m.Data)
	if h.Get("Subject") != "Booking bk_42 cancelled: Opening night and 1 more" {
		t.Errorf("Subject %q", h.Get("Subject"))
	}
	for _, want := range []string{"has been cancelled", "1. Opening night, adult\r\n", "2. Matinee, stalls (cancelled earlier)",
		"Total:     57.00 EUR", "Refund:    45.96 EUR", "The tickets are released"} {
		if !strings.Contains(text, want) {
			t.Errorf("%q missing from the text:\n%s", want, text)
		}
	}
	if !strings.Contains(html, "45.96 EUR") {
		t.Errorf("the refund is missing from the HTML:\n%s", html)
	}

	// An order without prices (several items of events without
	// categories) shows its items and no money at all.
	b.Currency, b.Total, b.Discount, b.VoucherCode = "", 0, 0, ""
	r.Kind = KindConfirmed
	m, err = Render(r)
	if err != nil {
		t.Fatal(err)
	}
	_, text, html = parts(t, m.Data)
	if !strings.Contains(text, "Matinee") || strings.Contains(text, "EUR") || strings.Contains(html, "EUR") || strings.Contains(text, "Total") {
		t.Errorf("an order without prices:\n%s\n%s", text, html)
	}
}

// An order's values are hostile too: an item's event name with markup
// and a line end stays text in the HTML and adds no header from the
// Subject; seat labels and the voucher code are escaped.
func TestRenderOrderHostileData(t *testing.T) {
	b, ev, events := order("alice@example.com")
	events["ev_8"].Name = "Matinee\r\nBcc: victim@evil.example\r\n<script>x()</script>"
	b.Items = []*bookdv1.OrderItem{b.Items[1], b.Items[0]} // the hostile name leads the Subject
	b.Items[0].Seats = []string{`<img src=x onerror=alert(1)>`}
	b.VoucherCode = `"><a href="https://evil.example">`
	r := receipt(b, ev)
	r.Events = events
	m, err := Render(r)
	if err != nil {
		t.Fatal(err)
	}
	h, text, html := parts(t, m.Data)
	if len(h["Bcc"]) != 0 || len(h["To"]) != 1 {
		t.Fatalf("headers %v: a value added a header or a recipient", h)
	}
	dec, err := new(mime.WordDecoder).DecodeHeader(h.Get("Subject"))
	if err != nil || !strings.HasPrefix(dec, "Your booking bk_42: Matinee  Bcc: victim@evil.example") || strings.ContainsAny(dec, "\r\n") {
		t.Errorf("Subject decodes to %q (%v)", dec, err)
	}
	for _, bad := range []string{"<script>", "<img", `"><a href`} {
		if strings.Contains(html, bad) {
			t.Errorf("HTML part carries %q unescaped:\n%s", bad, html)
		}
	}
	for _, want := range []string{"&lt;script&gt;", "&lt;img src=x onerror=alert(1)&gt;", "&lt;a href="} {
		if !strings.Contains(html, want) {
			t.Errorf("HTML part lacks %q:\n%s", want, html)
		}
	}
	if strings.Contains(text, "\r\nBcc:") || !strings.Contains(text, "1. Matinee  Bcc: victim@evil.example  <script>x()</script>, stalls") {
		t.Errorf("the text part should show the name on its line, without its line ends:\n%s", text)
	}
}
