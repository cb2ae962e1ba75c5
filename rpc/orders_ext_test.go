package rpc_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/proto/bookd/v1/bookdv1connect"
	"github.com/bookd/bookd/rpc/clustertest"
)

// TestOrders: orders, prices, quotas and vouchers through a secure 3-node
// cluster, as callers with tokens of each role reach it: the time zone of
// an event, orders placed all or nothing, a quota shared by two events,
// bad input answered with the field at fault and nothing held, partial
// cancellation with its refund, and who may manage vouchers and quotas.
// One cluster serves every subtest; each makes its own events.
func TestOrders(t *testing.T) {
	c := clustertest.Start(t, 3, clustertest.Options{Secure: true})
	leader := c.WaitReady()
	o := newOrderTest(c, leader)
	t.Run("time zone", o.timeZone)
	t.Run("all or nothing", o.allOrNothing)
	t.Run("quota shared by two events", o.sharedQuota)
	t.Run("bad input", o.badInput)
	t.Run("partial cancellation", o.partialCancellation)
	t.Run("roles", o.roles)
}

// orderTest holds a secure cluster's clients: per role, one client of
// each node, the leader's first.
type orderTest struct {
	admin, booker, reader, stranger []bookdv1connect.BookingServiceClient
}

func newOrderTest(c *clustertest.Cluster, leader *clustertest.Node) *orderTest {
	nodes := []*clustertest.Node{leader}
	for _, nd := range c.Nodes {
		if nd != leader {
			nodes = append(nodes, nd)
		}
	}
	o := &orderTest{}
	for _, nd := range nodes {
		sc := secureClients{base: "https://" + nd.RPCAddr, tls: c.Security.ClientTLS()}
		o.admin = append(o.admin, sc.booking(c.Security.Tokens["admin"]))
		o.booker = append(o.booker, sc.booking(c.Security.Tokens["booker"]))
		o.reader = append(o.reader, sc.booking(c.Security.Tokens["reader"]))
		o.stranger = append(o.stranger, sc.booking(""))
	}
	return o
}

// An event's time_zone must name a zone of the IANA database: the node
// refuses one Go cannot load (the state machine checks only its form),
// on the leader and on a follower that would forward it, and creates
// nothing.
func (o *orderTest) timeZone(t *testing.T) {
	ctx := context.Background()
	for i, tc := range []struct {
		zone string
		ok   bool
	}{
		{"Europe/Vienna", true},
		{"America/Argentina/Buenos_Aires", true},
		{"Etc/GMT+3", true},
		{"UTC", true},
		{"", true},
		{"Mars/Olympus_Mons", false},
		{"Europe/Viena", false},
		{"Local", false},          // Go's name for the host's own zone
		{"europe/vienna", false},  // names are matched exactly
		{"Europe/Vienna!", false}, // not even the form of one (the state machine's check)
	} {
		for n, bc := range o.admin[:2] {
			name := fmt.Sprintf("Zoned %d-%d", i, n)
			resp, err := retry(ctx, func(ctx context.Context) (*bookdv1.CreateEventResponse, error) {
				return bc.CreateEvent(ctx, &bookdv1.CreateEventRequest{Name: name, Capacity: 5, TimeZone: tc.zone, IdempotencyKey: name})
			})
			if tc.ok {
				if err != nil {
					t.Errorf("time_zone %q on node %d: %v", tc.zone, n, err)
				} else if resp.GetEvent().GetTimeZone() != tc.zone {
					t.Errorf("time_zone %q on node %d: event has %q", tc.zone, n, resp.GetEvent().GetTimeZone())
				}
				continue
			}
			wantField(t, err, connect.CodeInvalidArgument, "", "time_zone")
			list, err := o.reader[0].ListEvents(ctx, &bookdv1.ListEventsRequest{Query: name})
			if err != nil {
				t.Fatal(err)
			}
			if len(list.GetEvents()) != 0 {
				t.Errorf("time_zone %q on node %d refused, yet the event was created: %v", tc.zone, n, list.GetEvents())
			}
		}
	}
}

// An order whose second item is sold out (its category is) is refused
// naming items[1], in its message and its ErrorInfo, and leaves nothing held: both events'
// availability, the voucher's redemptions and the quota as they were.
// Hold and Book alike, sent to a follower (which forwards the write and
// the refusal's metadata) and to the leader.
func (o *orderTest) allOrNothing(t *testing.T) {
	ctx := context.Background()
	q := o.quota(t, "all-or-nothing bus", 100)
	open := o.event(t, &bookdv1.CreateEventRequest{Name: "Open", Capacity: 50, QuotaIds: []string{q},
		Categories: []*bookdv1.Category{{Name: "adult", Price: 3000, Currency: "EUR"}}})
	// Its VIP category, 2 tickets of its own, sold out; the rest on sale.
	full := o.event(t, &bookdv1.CreateEventRequest{Name: "Full", Capacity: 20, QuotaIds: []string{q},
		Categories: []*bookdv1.Category{{Name: "standard", Price: 2000, Currency: "EUR"}, {Name: "vip", Price: 9000, Capacity: 2}}})
	code := o.voucher(t, &bookdv1.Voucher{Code: "ALL-OR-NOTHING", AmountOff: 500, Currency: "EUR", MaxRedemptions: 10})
	o.hold(t, &bookdv1.HoldRequest{EventId: full, Category: "vip", CustomerId: "early", Quantity: 2})
	before := o.stateOf(t, []string{open, full}, []string{code}, []string{q})

	items := []*bookdv1.HoldItem{{EventId: open, Category: "adult", Quantity: 2}, {EventId: full, Category: "vip", Quantity: 1}}
	for n, bc := range []bookdv1connect.BookingServiceClient{o.booker[1], o.booker[0]} {
		_, err := bc.Hold(ctx, &bookdv1.HoldRequest{CustomerId: "late", Items: items, VoucherCode: code, IdempotencyKey: "aon-hold-" + itoa(n)})
		md := wantField(t, err, connect.CodeFailedPrecondition, "SOLD_OUT", "items[1]")
		if md["item"] != "1" || md["eventId"] != full || md["category"] != "vip" {
			t.Errorf("hold on node %d: metadata %v, want item 1, category vip of event %s", n, md, full)
		}
		_, err = bc.Book(ctx, &bookdv1.BookRequest{CustomerId: "late", Items: items, VoucherCode: code, IdempotencyKey: "aon-book-" + itoa(n)})
		md = wantField(t, err, connect.CodeFailedPrecondition, "SOLD_OUT", "items[1]")
		if md["item"] != "1" {
			t.Errorf("book on node %d: metadata %v, want item 1", n, md)
		}
	}
	if after := o.stateOf(t, []string{open, full}, []string{code}, []string{q}); after != before {
		t.Errorf("refused orders changed the state:\nbefore %s\nafter  %s", before, after)
	}
}

// A quota shared by two events caps the sum of their tickets, single
// holds and the items of one order alike, and gives back what a release
// frees.
func (o *orderTest) sharedQuota(t *testing.T) {
	ctx := context.Background()
	q := o.quota(t, "one bus, two tours", 5)
	morning := o.event(t, &bookdv1.CreateEventRequest{Name: "Morning tour", Capacity: 10, QuotaIds: []string{q}})
	evening := o.event(t, &bookdv1.CreateEventRequest{Name: "Evening tour", Capacity: 10, QuotaIds: []string{q}})
	first := o.hold(t, &bookdv1.HoldRequest{EventId: morning, CustomerId: "q1", Quantity: 3})
	o.hold(t, &bookdv1.HoldRequest{EventId: evening, CustomerId: "q2", Quantity: 2})
	if taken := o.quotaTaken(t, q); taken != 5 {
		t.Fatalf("quota taken %d after 3 + 2 tickets, want 5", taken)
	}
	for _, ev := range []string{morning, evening} {
		if av := o.availability(t, ev); av.GetAvailableQuantity() != 0 {
			t.Errorf("event %s: %d available with its quota used up, want 0", ev, av.GetAvailableQuantity())
		}
	}
	_, err := o.booker[1].Hold(ctx, &bookdv1.HoldRequest{EventId: evening, CustomerId: "q3", Quantity: 1, IdempotencyKey: "quota-over"})
	if md := wantField(t, err, connect.CodeFailedPrecondition, "SOLD_OUT", ""); md["quotaId"] != q {
		t.Errorf("metadata %v, want quotaId %s", md, q)
	}

	o.release(t, first.GetId())
	if taken := o.quotaTaken(t, q); taken != 2 {
		t.Fatalf("quota taken %d after releasing 3 of 5, want 2", taken)
	}
	// 3 left: an order of 2 + 2 across the two events does not fit...
	_, err = o.booker[2].Hold(ctx, &bookdv1.HoldRequest{CustomerId: "q4", IdempotencyKey: "quota-order-over",
		Items: []*bookdv1.HoldItem{{EventId: morning, Quantity: 2}, {EventId: evening, Quantity: 2}}})
	if md := wantField(t, err, connect.CodeFailedPrecondition, "SOLD_OUT", "items[1]"); md["quotaId"] != q || md["item"] != "1" {
		t.Errorf("metadata %v, want quotaId %s, item 1", md, q)
	}
	if taken := o.quotaTaken(t, q); taken != 2 {
		t.Errorf("quota taken %d after a refused order, want 2", taken)
	}
	// ...2 + 1 does.
	o.hold(t, &bookdv1.HoldRequest{CustomerId: "q4", Items: []*bookdv1.HoldItem{{EventId: morning, Quantity: 2}, {EventId: evening, Quantity: 1}}})
	if taken := o.quotaTaken(t, q); taken != 5 {
		t.Errorf("quota taken %d, want 5", taken)
	}
}

// Bad input through Connect: each is answered INVALID_ARGUMENT or
// FAILED_PRECONDITION naming the field (in the message; an
// INVALID_ARGUMENT in a BadRequest too), and nothing is held or created.
func (o *orderTest) badInput(t *testing.T) {
	ctx := context.Background()
	tour := o.event(t, &bookdv1.CreateEventRequest{Name: "Bad input tour", Capacity: 30, Categories: tourCategories()})
	other := o.event(t, &bookdv1.CreateEventRequest{Name: "Another tour", Capacity: 30, Categories: tourCategories()})
	seated := o.event(t, &bookdv1.CreateEventRequest{Name: "Seated", Seats: []string{"A1", "A2", "A3"}})
	now := time.Now()
	expired := o.voucher(t, &bookdv1.Voucher{Code: "BAD-EXPIRED", PercentOff: 10, MaxRedemptions: 5, ValidUntil: timestamppb.New(now.Add(-time.Hour))})
	future := o.voucher(t, &bookdv1.Voucher{Code: "BAD-FUTURE", PercentOff: 10, MaxRedemptions: 5, ValidFrom: timestamppb.New(now.Add(24 * time.Hour))})
	elsewhere := o.voucher(t, &bookdv1.Voucher{Code: "BAD-ELSEWHERE", PercentOff: 10, MaxRedemptions: 5, EventIds: []string{other}})
	events, vouchers := []string{tour, other, seated}, []string{expired, future, elsewhere}

	adult := func(n int64) *bookdv1.HoldItem {
		return &bookdv1.HoldItem{EventId: tour, Category: "adult", Quantity: n}
	}
	var many []*bookdv1.HoldItem
	for range 21 {
		many = append(many, adult(1))
	}
	hold := func(r *bookdv1.HoldRequest) func(context.Context) error {
		return func(ctx context.Context) error {
			r.CustomerId = "mallory"
			_, err := o.booker[1].Hold(ctx, r)
			return err
		}
	}
	price := func(p int64, currency string) func(context.Context) error {
		return func(ctx context.Context) error {
			_, err := o.admin[1].CreateEvent(ctx, &bookdv1.CreateEventRequest{Name: "Mispriced", Capacity: 10,
				Categories: []*bookdv1.Category{{Name: "adult", Price: p, Currency: currency}}})
			return err
		}
	}
	for _, tc := range []struct {
		name   string
		call   func(context.Context) error
		code   connect.Code
		reason string
		field  string
	}{
		{"unknown category", hold(&bookdv1.HoldRequest{EventId: tour, Category: "senior", Quantity: 1}),
			connect.CodeInvalidArgument, "UNKNOWN_CATEGORY", "category"},
		{"unknown category of an item", hold(&bookdv1.HoldRequest{Items: []*bookdv1.HoldItem{adult(1), {EventId: other, Category: "senior", Quantity: 1}}}),
			connect.CodeInvalidArgument, "UNKNOWN_CATEGORY", "items[1].category"},
		{"no category on an event sold by category", hold(&bookdv1.HoldRequest{EventId: tour, Quantity: 1}),
			connect.CodeInvalidArgument, "UNKNOWN_CATEGORY", "category"},
		{"unknown voucher", hold(&bookdv1.HoldRequest{Items: []*bookdv1.HoldItem{adult(1)}, VoucherCode: "NO-SUCH-CODE"}),
			connect.CodeFailedPrecondition, "VOUCHER_UNKNOWN", "voucher_code"},
		{"voucher past its window", hold(&bookdv1.HoldRequest{Items: []*bookdv1.HoldItem{adult(1)}, VoucherCode: expired}),
			connect.CodeFailedPrecondition, "VOUCHER_NOT_VALID", "voucher_code"},
		{"voucher before its window", hold(&bookdv1.HoldRequest{Items: []*bookdv1.HoldItem{adult(1)}, VoucherCode: future}),
			connect.CodeFailedPrecondition, "VOUCHER_NOT_VALID", "voucher_code"},
		{"voucher for another event", hold(&bookdv1.HoldRequest{Items: []*bookdv1.HoldItem{adult(2)}, VoucherCode: elsewhere}),
			connect.CodeFailedPrecondition, "VOUCHER_NOT_VALID", "voucher_code"},
		{"malformed voucher code", hold(&bookdv1.HoldRequest{Items: []*bookdv1.HoldItem{adult(1)}, VoucherCode: "no"}),
			connect.CodeInvalidArgument, "", "voucher_code"},
		{"two items naming one seat", hold(&bookdv1.HoldRequest{Items: []*bookdv1.HoldItem{
			{EventId: seated, Seats: []string{"A1"}}, {EventId: seated, Seats: []string{"A2", "A1"}}}}),
			connect.CodeInvalidArgument, "", "items[1].seats[1]"},
		{"21 items", hold(&bookdv1.HoldRequest{Items: many}), connect.CodeInvalidArgument, "", "items"},
		{"items and event_id together", hold(&bookdv1.HoldRequest{EventId: tour, Items: []*bookdv1.HoldItem{adult(1)}}),
			connect.CodeInvalidArgument, "", "items"},
		{"negative price", price(-1, "EUR"), connect.CodeInvalidArgument, "", "categories[0].price"},
		{"price over the limit", price(1_000_000_000_001, "EUR"), connect.CodeInvalidArgument, "", "categories[0].price"},
		{"currency EURO", price(100, "EURO"), connect.CodeInvalidArgument, "", "categories[0].currency"},
		{"currency eur", price(100, "eur"), connect.CodeInvalidArgument, "", "categories[0].currency"},
		{"currency XYZ", price(100, "XYZ"), connect.CodeInvalidArgument, "", "categories[0].currency"},
		{"voucher currency eur", func(ctx context.Context) error {
			_, err := o.admin[1].CreateVoucher(ctx, &bookdv1.CreateVoucherRequest{Voucher: &bookdv1.Voucher{
				Code: "BAD-CURRENCY", AmountOff: 100, Currency: "eur", MaxRedemptions: 1}})
			return err
		}, connect.CodeInvalidArgument, "", "voucher.currency"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := o.stateOf(t, events, vouchers, nil)
			wantField(t, tc.call(ctx), tc.code, tc.reason, tc.field)
			if after := o.stateOf(t, events, vouchers, nil); after != before {
				t.Errorf("a refused call changed the state:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
	list, err := o.reader[0].ListEvents(ctx, &bookdv1.ListEventsRequest{Query: "Mispriced"})
	if err != nil || len(list.GetEvents()) != 0 {
		t.Errorf("refused CreateEvent calls created %v (%v)", list.GetEvents(), err)
	}
	if _, err := o.reader[0].GetVoucher(ctx, &bookdv1.GetVoucherRequest{Code: "BAD-CURRENCY"}); connect.CodeOf(err) != connect.CodeNotFound {
		t.Errorf("GetVoucher of a refused voucher: %v, want NOT_FOUND", err)
	}
}

// Cancelling item 1 of a 3-item booking returns its tickets and refunds
// its amount less its share of the discount; the booking stays CONFIRMED
// until every item is cancelled; cancelling the item again is refused
// (ITEM_CANCELLED).
func (o *orderTest) partialCancellation(t *testing.T) {
	ctx := context.Background()
	day1 := o.event(t, &bookdv1.CreateEventRequest{Name: "Cancellable day 1", Capacity: 20, Categories: tourCategories()})
	day2 := o.event(t, &bookdv1.CreateEventRequest{Name: "Cancellable day 2", Capacity: 20, Categories: tourCategories()})
	// 10% off the items on day 1 only.
	code := o.voucher(t, &bookdv1.Voucher{Code: "DAY1-TEN", PercentOff: 10, MaxRedemptions: 5, EventIds: []string{day1}})
	resp, err := retry(ctx, func(ctx context.Context) (*bookdv1.BookResponse, error) {
		return o.booker[1].Book(ctx, &bookdv1.BookRequest{CustomerId: "family", VoucherCode: code, IdempotencyKey: "family-book",
			Items: []*bookdv1.HoldItem{
				{EventId: day1, Category: "adult", Quantity: 2},
				{EventId: day1, Category: "child", Quantity: 1},
				{EventId: day2, Category: "adult", Quantity: 1},
			}})
	})
	if err != nil {
		t.Fatalf("book: %v", err)
	}
	b := resp.GetBooking()
	// Adults 2 x 3000 (early bird), a child 2500, an adult 3000 on day 2:
	// 10% of day 1's 8500 shared in proportion (600 and 250), none on day 2.
	wantItems := []struct{ amount, discount int64 }{{6000, 600}, {2500, 250}, {3000, 0}}
	if len(b.GetItems()) != len(wantItems) {
		t.Fatalf("booking has %d items, want 3: %v", len(b.GetItems()), b)
	}
	for i, w := range wantItems {
		if it := b.GetItems()[i]; it.GetAmount() != w.amount || it.GetDiscount() != w.discount {
			t.Errorf("item %d: amount %d discount %d, want %d and %d", i, it.GetAmount(), it.GetDiscount(), w.amount, w.discount)
		}
	}
	if b.GetTotal() != 10650 || b.GetDiscount() != 850 || b.GetCurrency() != "EUR" {
		t.Errorf("total %d discount %d %s, want 10650, 850 EUR", b.GetTotal(), b.GetDiscount(), b.GetCurrency())
	}
	child := func() *bookdv1.CategoryAvailability { return categoryOf(t, o.availability(t, day1), "child") }
	if c := child(); c.GetBooked() != 1 {
		t.Fatalf("child booked %d, want 1", c.GetBooked())
	}

	cancel := func(key string, items ...int32) (*bookdv1.CancelBookingResponse, error) {
		return retry(ctx, func(ctx context.Context) (*bookdv1.CancelBookingResponse, error) {
			return o.booker[2].CancelBooking(ctx, &bookdv1.CancelBookingRequest{BookingId: b.GetId(), Items: items, IdempotencyKey: key})
		})
	}
	one, err := cancel("cancel-child", 1)
	if err != nil {
		t.Fatalf("cancel item 1: %v", err)
	}
	if one.GetRefund() != 2250 || one.GetBooking().GetRefunded() != 2250 {
		t.Errorf("refund %d, refunded %d, want 2250 (2500 less 250)", one.GetRefund(), one.GetBooking().GetRefunded())
	}
	if st := one.GetBooking().GetStatus(); st != bookdv1.BookingStatus_BOOKING_STATUS_CONFIRMED {
		t.Errorf("booking %v with 2 items left, want CONFIRMED", st)
	}
	for i, it := range one.GetBooking().GetItems() {
		if cancelled := it.GetCancelledAt() != nil; cancelled != (i == 1) {
			t.Errorf("item %d cancelled_at %v", i, it.GetCancelledAt())
		}
	}
	if c := child(); c.GetBooked() != 0 || c.GetAvailable() != 20-2 {
		t.Errorf("child after its cancellation: booked %d available %d, want 0 and 18", c.GetBooked(), c.GetAvailable())
	}
	if a := categoryOf(t, o.availability(t, day1), "adult"); a.GetBooked() != 2 {
		t.Errorf("adults of day 1 booked %d, want 2 still", a.GetBooked())
	}

	_, err = cancel("cancel-child-again", 1)
	if md := wantField(t, err, connect.CodeFailedPrecondition, "ITEM_CANCELLED", "items[0]"); md["item"] != "1" || md["bookingId"] != b.GetId() {
		t.Errorf("metadata %v, want item 1 of booking %s", md, b.GetId())
	}
	_, err = cancel("cancel-no-such-item", 3)
	wantField(t, err, connect.CodeInvalidArgument, "", "items[0]")

	rest, err := cancel("cancel-rest", 0, 2)
	if err != nil {
		t.Fatalf("cancel items 0 and 2: %v", err)
	}
	if rest.GetRefund() != 5400+3000 || rest.GetBooking().GetRefunded() != b.GetTotal() {
		t.Errorf("refund %d, refunded %d, want 8400 and the total %d", rest.GetRefund(), rest.GetBooking().GetRefunded(), b.GetTotal())
	}
	if st := rest.GetBooking().GetStatus(); st != bookdv1.BookingStatus_BOOKING_STATUS_CANCELLED {
		t.Errorf("booking %v with every item cancelled, want CANCELLED", st)
	}
	for _, ev := range []string{day1, day2} {
		if av := o.availability(t, ev); av.GetBookedQuantity() != 0 || av.GetAvailableQuantity() != 20 {
			t.Errorf("event %s after the cancellation: booked %d available %d, want 0 and 20", ev, av.GetBookedQuantity(), av.GetAvailableQuantity())
		}
	}
	// The adults went back to the early-bird tier they were sold from.
	if a := categoryOf(t, o.availability(t, day1), "adult"); a.GetTier() != 0 || a.GetTierLeft() != 10 {
		t.Errorf("day 1 adults at tier %d with %d left, want tier 0 with 10", a.GetTier(), a.GetTierLeft())
	}
}

// Vouchers and quotas are the admin's: a booker or a reader may not make
// them, a stranger may not read them; a reader may.
func (o *orderTest) roles(t *testing.T) {
	ctx := context.Background()
	o.voucher(t, &bookdv1.Voucher{Code: "ROLES-READ", PercentOff: 5, MaxRedemptions: 3})
	createVoucher := func(bc bookdv1connect.BookingServiceClient) error {
		_, err := bc.CreateVoucher(ctx, &bookdv1.CreateVoucherRequest{Voucher: &bookdv1.Voucher{Code: "ROLES-MINE", PercentOff: 100, MaxRedemptions: 1000}})
		return err
	}
	createQuota := func(bc bookdv1connect.BookingServiceClient) error {
		_, err := bc.CreateQuota(ctx, &bookdv1.CreateQuotaRequest{Name: "mine", Capacity: 1})
		return err
	}
	getVoucher := func(bc bookdv1connect.BookingServiceClient) error {
		resp, err := bc.GetVoucher(ctx, &bookdv1.GetVoucherRequest{Code: "ROLES-READ"})
		if err == nil && resp.GetVoucher().GetMaxRedemptions() != 3 {
			t.Errorf("GetVoucher: %v, want ROLES-READ good for 3", resp.GetVoucher())
		}
		return err
	}
	listVouchers := func(bc bookdv1connect.BookingServiceClient) error {
		_, err := bc.ListVouchers(ctx, &bookdv1.ListVouchersRequest{})
		return err
	}
	for _, tc := range []struct {
		name   string
		caller []bookdv1connect.BookingServiceClient
		call   func(bookdv1connect.BookingServiceClient) error
		want   connect.Code // 0: success
	}{
		{"booker creates a voucher", o.booker, createVoucher, connect.CodePermissionDenied},
		{"reader creates a voucher", o.reader, createVoucher, connect.CodePermissionDenied},
		{"stranger creates a voucher", o.stranger, createVoucher, connect.CodeUnauthenticated},
		{"booker creates a quota", o.booker, createQuota, connect.CodePermissionDenied},
		{"stranger creates a quota", o.stranger, createQuota, connect.CodeUnauthenticated},
		{"stranger reads a voucher", o.stranger, getVoucher, connect.CodeUnauthenticated},
		{"stranger lists vouchers", o.stranger, listVouchers, connect.CodeUnauthenticated},
		{"reader reads a voucher", o.reader, getVoucher, 0},
		{"reader lists vouchers", o.reader, listVouchers, 0},
	} {
		for n, bc := range tc.caller {
			err := tc.call(bc)
			for i := 0; tc.want == 0 && err != nil && outcomeUnknown(err) && i < 20; i++ {
				time.Sleep(100 * time.Millisecond) // a leader change: retry
				err = tc.call(bc)
			}
			if got := connect.CodeOf(err); (tc.want == 0 && err != nil) || (tc.want != 0 && got != tc.want) {
				t.Errorf("%s on node %d: %v, want code %v", tc.name, n, err, tc.want)
			}
		}
	}
	if _, err := o.admin[0].GetVoucher(ctx, &bookdv1.GetVoucherRequest{Code: "ROLES-MINE"}); connect.CodeOf(err) != connect.CodeNotFound {
		t.Errorf("GetVoucher of the voucher others were refused: %v, want NOT_FOUND", err)
	}
}

// tourCategories are a tour's prices in EUR: adults at 5000, the first 10
// at 3000 (early bird, tier 0), children at 2500.
func tourCategories() []*bookdv1.Category {
	return []*bookdv1.Category{
		{Name: "adult", Price: 5000, Currency: "EUR", Tiers: []*bookdv1.PriceTier{{Quantity: 10, Price: 3000, Name: "early bird"}}},
		{Name: "child", Price: 2500},
	}
}

// wantField checks that err is a refusal with code and, in its ErrorInfo,
// reason ("" for none: the code's name) whose message starts with field
// (unless field is ""), which an INVALID_ARGUMENT's BadRequest names too.
// It returns the ErrorInfo's metadata.
func wantField(t *testing.T, err error, code connect.Code, reason, field string) map[string]string {
	t.Helper()
	if reason == "" {
		reason = strings.ToUpper(code.String())
	}
	info := wantInfo(t, err, code, reason)
	if field == "" {
		return info.GetMetadata()
	}
	if msg := err.(*connect.Error).Message(); !strings.HasPrefix(msg, field+": ") {
		t.Errorf("message %q does not start with %q", msg, field+": ")
	}
	if code == connect.CodeInvalidArgument {
		if fv := fieldViolations(err); len(fv) != 1 || fv[0].GetField() != field {
			t.Errorf("field violations %v, want one for %s", fv, field)
		}
	}
	return info.GetMetadata()
}

// event creates an event as the admin (on a follower) and returns its id.
func (o *orderTest) event(t *testing.T, r *bookdv1.CreateEventRequest) string {
	t.Helper()
	r.IdempotencyKey = "event-" + r.GetName()
	resp, err := retry(context.Background(), func(ctx context.Context) (*bookdv1.CreateEventResponse, error) {
		return o.admin[1].CreateEvent(ctx, r)
	})
	if err != nil {
		t.Fatalf("create event %s: %v", r.GetName(), err)
	}
	return resp.GetEvent().GetId()
}

// quota creates a quota as the admin and returns its id.
func (o *orderTest) quota(t *testing.T, name string, capacity int64) string {
	t.Helper()
	resp, err := retry(context.Background(), func(ctx context.Context) (*bookdv1.CreateQuotaResponse, error) {
		return o.admin[2].CreateQuota(ctx, &bookdv1.CreateQuotaRequest{Name: name, Capacity: capacity, IdempotencyKey: "quota-" + name})
	})
	if err != nil {
		t.Fatalf("create quota %s: %v", name, err)
	}
	return resp.GetQuota().GetId()
}

// voucher creates a voucher as the admin and returns its code.
func (o *orderTest) voucher(t *testing.T, v *bookdv1.Voucher) string {
	t.Helper()
	_, err := retry(context.Background(), func(ctx context.Context) (*bookdv1.CreateVoucherResponse, error) {
		return o.admin[0].CreateVoucher(ctx, &bookdv1.CreateVoucherRequest{Voucher: v, IdempotencyKey: "voucher-" + v.GetCode()})
	})
	if err != nil {
		t.Fatalf("create voucher %s: %v", v.GetCode(), err)
	}
	return v.GetCode()
}

// hold places a hold as a booker and returns it.
func (o *orderTest) hold(t *testing.T, r *bookdv1.HoldRequest) *bookdv1.Hold {
	t.Helper()
	r.IdempotencyKey = "hold-" + t.Name() + "-" + r.GetCustomerId()
	resp, err := retry(context.Background(), func(ctx context.Context) (*bookdv1.HoldResponse, error) {
		return o.booker[1].Hold(ctx, r)
	})
	if err != nil {
		t.Fatalf("hold for %s: %v", r.GetCustomerId(), err)
	}
	return resp.GetHold()
}

func (o *orderTest) release(t *testing.T, hold string) {
	t.Helper()
	if _, err := retry(context.Background(), func(ctx context.Context) (*bookdv1.ReleaseHoldResponse, error) {
		return o.booker[2].ReleaseHold(ctx, &bookdv1.ReleaseHoldRequest{HoldId: hold, IdempotencyKey: "release-" + hold})
	}); err != nil {
		t.Fatalf("release %s: %v", hold, err)
	}
}

func (o *orderTest) availability(t *testing.T, ev string) *bookdv1.GetAvailabilityResponse {
	t.Helper()
	av, err := o.reader[2].GetAvailability(context.Background(), &bookdv1.GetAvailabilityRequest{EventId: ev})
	if err != nil {
		t.Fatalf("availability of %s: %v", ev, err)
	}
	return av
}

func (o *orderTest) quotaTaken(t *testing.T, id string) int64 {
	t.Helper()
	resp, err := o.reader[1].GetQuota(context.Background(), &bookdv1.GetQuotaRequest{QuotaId: id})
	if err != nil {
		t.Fatalf("quota %s: %v", id, err)
	}
	return resp.GetQuota().GetTaken()
}

// stateOf describes what an order may change: each event's tickets held,
// booked and available, in all and per category with its tier; each
// voucher's redemptions; each quota's tickets taken.
func (o *orderTest) stateOf(t *testing.T, events, vouchers, quotas []string) string {
	t.Helper()
	var b strings.Builder
	for _, ev := range events {
		av := o.availability(t, ev)
		fmt.Fprintf(&b, "%s: %d held %d booked %d available %d seats held;", ev,
			av.GetHeldQuantity(), av.GetBookedQuantity(), av.GetAvailableQuantity(), av.GetHeldSeats())
		for _, c := range av.GetCategories() {
			fmt.Fprintf(&b, " %s %d/%d/%d at tier %d (%d left);", c.GetName(), c.GetHeld(), c.GetBooked(), c.GetAvailable(), c.GetTier(), c.GetTierLeft())
		}
	}
	for _, code := range vouchers {
		resp, err := o.reader[0].GetVoucher(context.Background(), &bookdv1.GetVoucherRequest{Code: code})
		if err != nil {
			t.Fatalf("voucher %s: %v", code, err)
		}
		fmt.Fprintf(&b, " voucher %s redeemed %d;", code, resp.GetVoucher().GetRedeemed())
	}
	for _, q := range quotas {
		fmt.Fprintf(&b, " quota %s taken %d;", q, o.quotaTaken(t, q))
	}
	return b.String()
}

// categoryOf is a category's availability.
func categoryOf(t *testing.T, av *bookdv1.GetAvailabilityResponse, name string) *bookdv1.CategoryAvailability {
	t.Helper()
	for _, c := range av.GetCategories() {
		if c.GetName() == name {
			return c
		}
	}
	t.Fatalf("event %s has no category %s: %v", av.GetEventId(), name, av.GetCategories())
	return nil
}
