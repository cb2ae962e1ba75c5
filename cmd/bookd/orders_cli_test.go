package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/rpc/clustertest"
)

// Orders on the command line against a real 3-node cluster: events with
// priced categories and an early-bird tier, a quota, a voucher, an order
// of two events held with the voucher and confirmed, one item cancelled
// and refunded; and what the CLI and the node refuse.
func TestCLIOrdersVouchersQuotas(t *testing.T) {
	c := clustertest.Start(t, 3, clustertest.Options{})
	t.Setenv("BOOKD_ENDPOINTS", strings.Join(c.Endpoints(), ","))

	var quota bookdv1.Quota
	runProto(t, &quota, "quotas", "create", "--name", "Bus 1", "--capacity", "50")

	var tour, cruise bookdv1.Event
	runProto(t, &tour, "events", "create", "--name", "Harbour tour", "--capacity", "20", "--time-zone", "Europe/Vienna",
		"--category", "adult:2500:EUR", "--category", "child:1200", "--tier", "adult:2:2000:early bird")
	runProto(t, &cruise, "events", "create", "--name", "Sunset cruise", "--capacity", "10",
		"--category", "adult:3000:EUR", "--quota", quota.Id)
	if cats := tour.Categories; len(cats) != 2 || cats[0].Price != 2500 || cats[0].Currency != "EUR" || cats[1].Price != 1200 ||
		len(cats[0].Tiers) != 1 || cats[0].Tiers[0].Quantity != 2 || cats[0].Tiers[0].Name != "early bird" || tour.TimeZone != "Europe/Vienna" {
		t.Fatalf("events create with categories = %v", &tour)
	}
	if !slices.Equal(cruise.QuotaIds, []string{quota.Id}) {
		t.Fatalf("events create --quota: quota ids %v, want %s", cruise.QuotaIds, quota.Id)
	}
	out, code := run(t, "events", "get", tour.Id)
	for _, want := range []string{"Europe/Vienna", "adult 25.00 EUR, child 12.00 EUR", "2 at 20.00 (early bird)"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("events get table: exit %d %q, want it to show %q", code, out, want)
		}
	}

	var voucher bookdv1.Voucher
	runProto(t, &voucher, "vouchers", "create", "--code", "SUMMER5", "--amount-off", "500", "--currency", "EUR", "--max-redemptions", "5")
	var vouchers bookdv1.ListVouchersResponse
	runProto(t, &vouchers, "vouchers", "list", "--all")
	if len(vouchers.Vouchers) != 1 || vouchers.Vouchers[0].Code != "SUMMER5" || vouchers.Vouchers[0].AmountOff != 500 {
		t.Fatalf("vouchers list = %v", &vouchers)
	}

	// Adults: the 2 early-bird tickets at 20.00, then 25.00; a child at
	// 12.00; an adult on the cruise at 30.00: 107.00 less 5.00.
	var hold bookdv1.Hold
	runProto(t, &hold, "hold", tour.Id+":adult=3,child=1", cruise.Id+":adult=1", "--customer", "ann", "--voucher", "SUMMER5")
	if len(hold.Items) != 3 || hold.Items[1].Category != "child" || hold.Items[2].EventId != cruise.Id {
		t.Fatalf("hold of an order: items %v", hold.Items)
	}
	var lines []int64
	for _, p := range hold.Items[0].Prices {
		lines = append(lines, p.Quantity, p.UnitPrice)
	}
	if !slices.Equal(lines, []int64{2, 2000, 1, 2500}) {
		t.Errorf("adult item's price lines (quantity, unit price) = %v, want 2 at 2000 then 1 at 2500", lines)
	}
	if hold.Total != 10200 || hold.Discount != 500 || hold.Currency != "EUR" || hold.VoucherCode != "SUMMER5" {
		t.Errorf("hold total %d discount %d %s voucher %q, want 10200, 500 EUR, SUMMER5", hold.Total, hold.Discount, hold.Currency, hold.VoucherCode)
	}
	out, code = run(t, "hold", "get", hold.Id)
	for _, want := range []string{tour.Id + "," + cruise.Id, "2 × 20.00 + 1 × 25.00", "SUMMER5", "102.00 EUR"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("hold get table: exit %d %q, want it to show %q", code, out, want)
		}
	}

	var booking bookdv1.Booking
	runProto(t, &booking, "confirm", hold.Id)
	var cancelled bookdv1.Booking
	runProto(t, &cancelled, "bookings", "cancel", booking.Id, "--item", "1")
	child := cancelled.Items[1]
	if child.CancelledAt == nil || cancelled.Items[0].CancelledAt != nil || cancelled.Status != bookdv1.BookingStatus_BOOKING_STATUS_CONFIRMED {
		t.Errorf("cancel --item 1: items %v, status %v; want only item 1 cancelled", cancelled.Items, cancelled.Status)
	}
	if child.Amount != 1200 || child.Discount <= 0 || cancelled.Refunded != child.Amount-child.Discount {
		t.Errorf("cancel --item 1: refunded %d, child item %v; want its amount less its discount", cancelled.Refunded, child)
	}
	out, code = run(t, "bookings", "get", booking.Id)
	if code != 0 || !strings.Contains(out, "REFUNDED") || !strings.Contains(out, moneyText(cancelled.Refunded, "EUR")) {
		t.Errorf("bookings get table after a partial cancellation: exit %d %q", code, out)
	}

	var taken bookdv1.Quota
	runProto(t, &taken, "quotas", "get", quota.Id)
	var redeemed bookdv1.Voucher
	runProto(t, &redeemed, "vouchers", "get", "SUMMER5")
	if taken.Taken != 1 || redeemed.Redeemed != 1 {
		t.Errorf("quota taken %d, voucher redeemed %d; want 1 and 1", taken.Taken, redeemed.Redeemed)
	}

	// The single-item flags still hold one event, now with a category.
	var single bookdv1.Hold
	runProto(t, &single, "hold", tour.Id, "--customer", "bea", "--quantity", "2", "--category", "child")
	if single.Total != 2400 || len(single.Items) != 1 {
		t.Errorf("hold --quantity 2 --category child: total %d, items %v", single.Total, single.Items)
	}

	for _, tc := range []struct {
		args []string
		code int
		says []string
	}{
		{[]string{"events", "create", "--name", "x", "--capacity", "1", "--category", "adult:cheap:EUR"}, 2, []string{"--category", "cheap"}},
		{[]string{"events", "create", "--name", "x", "--capacity", "1", "--category", "adult"}, 2, []string{"--category", "NAME:PRICE"}},
		{[]string{"events", "create", "--name", "x", "--capacity", "1", "--category", "a:1:EUR", "--tier", "b:1:1"}, 2, []string{"--tier", `"b"`}},
		{[]string{"events", "create", "--name", "x", "--capacity", "1", "--category", "a:1:EUR", "--section-category", "a:STALLS"}, 2, []string{"--section-category", "seat map"}},
		{[]string{"hold", tour.Id + ":senior=1", "--customer", "cy"}, 2, []string{"items[0].category", "senior"}},
		{[]string{"hold", tour.Id + ":adult=two", "--customer", "cy"}, 2, []string{"item", `"two"`}},
		{[]string{"hold", tour.Id + ":adult=1", "--customer", "cy", "--quantity", "1"}, 2, []string{"--quantity"}},
		{[]string{"hold", tour.Id + ":adult=1", "--customer", "cy", "--voucher", "NOPE99"}, 4, []string{"NOPE99"}},
		{[]string{"vouchers", "create", "--code", "BOTH1", "--amount-off", "1", "--currency", "EUR", "--percent-off", "5", "--max-redemptions", "1"}, 2, []string{"percent-off"}},
		{[]string{"vouchers", "create", "--code", "NOCUR", "--amount-off", "1", "--max-redemptions", "1"}, 2, []string{"currency"}},
		{[]string{"bookings", "cancel", booking.Id, "--item", "1"}, 4, []string{"items[0]", "already cancelled"}},
	} {
		out, code := run(t, tc.args...)
		for _, s := range tc.says {
			if code != tc.code || !strings.Contains(out, s) {
				t.Errorf("bookd %s: exit %d %q, want exit %d saying %q", strings.Join(tc.args, " "), code, out, tc.code, s)
			}
		}
	}
}

func TestOrdersParseItem(t *testing.T) {
	tests := []struct {
		in   string
		want string // items as event/category/quantity/seats/best@section
		err  bool
	}{
		{in: "ev_1:adult=2,child=1", want: "ev_1/adult/2/[]/false@ ev_1/child/1/[]/false@"},
		{in: "ev_5:3", want: "ev_5//3/[]/false@"},
		{in: "ev_3:seats=S-A-1+S-A-3..4", want: "ev_3//0/[S-A-1 S-A-3 S-A-4]/false@"},
		{in: "ev_3:best=4@CIRCLE,best=2", want: "ev_3//4/[]/true@CIRCLE ev_3//2/[]/true@"},
		{in: "ev_1", err: true},
		{in: ":adult=1", err: true},
		{in: "ev_1:", err: true},
		{in: "ev_1:adult=1,,child=1", err: true},
		{in: "ev_1:adult=0", err: true},
		{in: "ev_1:=1", err: true},
		{in: "ev_1:seats=", err: true},
		{in: "ev_1:seats=A1++A2", err: true},
		{in: "ev_1:best=x@S", err: true},
	}
	for _, tt := range tests {
		items, err := parseItem(tt.in)
		if (err != nil) != tt.err {
			t.Errorf("parseItem(%q) error = %v, want error %v", tt.in, err, tt.err)
			continue
		}
		var got []string
		for _, it := range items {
			got = append(got, fmt.Sprintf("%s/%s/%d/%v/%v@%s", it.EventId, it.Category, it.Quantity, it.Seats, it.BestAvailable, it.Section))
		}
		if !tt.err && strings.Join(got, " ") != tt.want {
			t.Errorf("parseItem(%q) = %s, want %s", tt.in, strings.Join(got, " "), tt.want)
		}
	}
}

func TestOrdersMoney(t *testing.T) {
	tests := []struct {
		amount int64
		cur    string
		want   string
	}{
		{2500, "EUR", "25.00 EUR"},
		{5, "EUR", "0.05 EUR"},
		{0, "EUR", "0.00 EUR"},
		{-1250, "USD", "-12.50 USD"},
		{1200, "JPY", "1200 JPY"},
		{1250, "KWD", "1.250 KWD"},
		{1234, "", "12.34"},
	}
	for _, tt := range tests {
		if got := moneyText(tt.amount, tt.cur); got != tt.want {
			t.Errorf("moneyText(%d, %q) = %q, want %q", tt.amount, tt.cur, got, tt.want)
		}
	}
}
