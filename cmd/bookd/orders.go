package main

import (
	"cmp"
	"errors"
	"fmt"
	"github.com/bookd/bookd/cmd/bookd/money"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"connectrpc.com/connect"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"google.golang.org/protobuf/proto"
)

// Orders on the command line: `bookd hold` and `bookd book` take items as
// arguments (ev_1:adult=2,child=2 ev_7:seats=STALLS-A-1+STALLS-A-2), and
// holds and bookings are shown with their items, prices, discount and
// total.

// itemSyntax is the help text of the ITEM arguments.
const itemSyntax = `An ITEM is EVENT_ID:PART,PART,... and each part is one item of the order:
  CATEGORY=N        N tickets of a GA category                 ev_1:adult=2,child=2
  N                 N tickets of an event without categories   ev_5:3
  seats=L+L+...     named seats (ranges as in --seats)         ev_3:seats=STALLS-A-1+STALLS-A-2, ev_3:seats=STALLS-A-1..4
  best=N[@SECTION]  N seats chosen by the cluster              ev_3:best=4@CIRCLE
Items are numbered from 0 in the order given, as in refusals (items[2].category)
and in bookd bookings cancel --item.`

// order is what hold and book ask for: the single claim of the flags on
// one event, or items.
type order struct {
	eventID string
	claim   claim
	items   []*bookdv1.HoldItem
	// sources[i] is the argument items[i] came from, for refusals.
	sources []string
}

// order reads the arguments: one EVENT_ID with the claim flags, or ITEMs.
func (f *claimFlags) order(args []string) (order, error) {
	if f.customer == "" {
		return order{}, errNoCustomer
	}
	if !strings.Contains(strings.Join(args, " "), ":") {
		if len(args) != 1 {
			return order{}, usagef("give one EVENT_ID with --quantity, --seats or --best-available, or items like ev_1:adult=2 (%d arguments without a colon)", len(args))
		}
		cl, err := f.claim()
		return order{eventID: args[0], claim: cl}, err
	}
	if f.quantity != 0 || f.seatList != "" || f.best != 0 || f.section != "" || f.category != "" {
		return order{}, usagef("items say what to claim: give them without --quantity, --seats, --best-available, --section and --category")
	}
	var o order
	for _, arg := range args {
		items, err := parseItem(arg)
		if err != nil {
			return order{}, err
		}
		o.items = append(o.items, items...)
		for range items {
			o.sources = append(o.sources, arg)
		}
	}
	return o, nil
}

// parseItem parses one ITEM argument into its items.
func parseItem(arg string) ([]*bookdv1.HoldItem, error) {
	ev, parts, ok := strings.Cut(arg, ":")
	ev = strings.TrimSpace(ev)
	if !ok || ev == "" || strings.TrimSpace(parts) == "" {
		return nil, usagef("item %q: want EVENT_ID:PART,..., like ev_1:adult=2,child=2 (see bookd hold --help)", arg)
	}
	var items []*bookdv1.HoldItem
	for i, part := range strings.Split(parts, ",") {
		part = strings.TrimSpace(part)
		key, val, hasValue := strings.Cut(part, "=")
		key = strings.TrimSpace(key)
		it := &bookdv1.HoldItem{EventId: ev}
		var err error
		switch {
		case part == "":
			return nil, usagef("item %q: part %d is empty (two commas in a row, or one at an end)", arg, i+1)
		case !hasValue:
			it.Quantity, err = ticketCount(arg, part, part)
		case key == "seats":
			it.Seats, err = expandSeatList(fmt.Sprintf("item %q", arg), val, "+")
			if err == nil && len(it.Seats) == 0 {
				err = usagef("item %q: seats= names no seat", arg)
			}
		case key == "best":
			n, section, _ := strings.Cut(val, "@")
			it.BestAvailable, it.Section = true, strings.TrimSpace(section)
			it.Quantity, err = ticketCount(arg, part, n)
		case key == "":
			err = usagef("item %q: part %q has no category before the '='", arg, part)
		default:
			it.Category = key
			it.Quantity, err = ticketCount(arg, part, val)
		}
		if err != nil {
			return nil, err
		}
		items = append(items, it)
	}
	return items, nil
}

// ticketCount parses the number of tickets of an item's part.
func ticketCount(arg, part, n string) (int64, error) {
	q, err := strconv.ParseInt(strings.TrimSpace(n), 10, 64)
	if err != nil || q < 1 {
		return 0, usagef("item %q: in %q, %q is not a number of tickets (1 or more)", arg, part, n)
	}
	return q, nil
}

var itemField = regexp.MustCompile(`^items\[(\d+)\]`)

// explain adds to a refusal of items[i] which argument that item came
// from, keeping its code and details.
func (o order) explain(err error) error {
	var ce *connect.Error
	if !errors.As(err, &ce) {
		return err
	}
	m := itemField.FindStringSubmatch(ce.Message())
	if m == nil {
		return err
	}
	i, _ := strconv.Atoi(m[1])
	if i >= len(o.sources) {
		return err
	}
	ne := connect.NewError(ce.Code(), fmt.Errorf("%s (items[%d] is from the argument %s)", ce.Message(), i, o.sources[i]))
	for _, d := range ce.Details() {
		ne.AddDetail(d)
	}
	for k, v := range ce.Meta() {
		ne.Meta()[k] = v
	}
	return ne
}

// holdView shows a hold: its row (an order's events, tickets and seats
// together), then its items and what they cost.
func holdView(w io.Writer, h *bookdv1.Hold) {
	if len(h.GetItems()) > 1 {
		h = proto.Clone(h).(*bookdv1.Hold)
		h.EventId, h.Quantity, h.Seats = orderSummary(h.GetItems())
	}
	holdTable(w, h)
	orderLines(w, h.GetItems(), h.GetVoucherCode(), h.GetDiscount(), h.GetTotal(), h.GetCurrency(), nil)
}

// bookingView shows a booking as holdView shows a hold, with what its
// cancellations refunded.
func bookingView(w io.Writer, b *bookdv1.Booking) {
	bookingRows(w, b)
	refunded := b.GetRefunded()
	orderLines(w, b.GetItems(), b.GetVoucherCode(), b.GetDiscount(), b.GetTotal(), b.GetCurrency(), &refunded)
}

// bookingRows shows bookings a row each, an order's events, tickets and
// seats together.
func bookingRows(w io.Writer, bookings ...*bookdv1.Booking) {
	rows := make([]*bookdv1.Booking, len(bookings))
	for i, b := range bookings {
		if len(b.GetItems()) > 1 {
			b = proto.Clone(b).(*bookdv1.Booking)
			b.EventId, b.Quantity, b.Seats = orderSummary(b.GetItems())
		}
		rows[i] = b
	}
	bookingTable(w, rows...)
}

// orderSummary is an order's events (comma-separated, each once), its
// tickets and its seats.
func orderSummary(items []*bookdv1.OrderItem) (events string, tickets int64, seats []string) {
	var evs []string
	for _, it := range items {
		if !slices.Contains(evs, it.GetEventId()) {
			evs = append(evs, it.GetEventId())
		}
		tickets += it.GetQuantity()
		seats = append(seats, it.GetSeats()...)
	}
	return strings.Join(evs, ","), tickets, seats
}

// orderLines shows an order's items, then its voucher, discount and total
// (and refunded, for a booking). Nothing for a hold or booking without
// items or prices.
func orderLines(w io.Writer, items []*bookdv1.OrderItem, voucher string, discount, total int64, cur string, refunded *int64) {
	if len(items) == 0 && cur == "" && voucher == "" {
		return
	}
	if len(items) > 0 {
		fmt.Fprintln(w)
		row(w, "ITEM", "EVENT", "CATEGORY", "QUANTITY", "SEATS", "PRICES", "AMOUNT", "DISCOUNT", "CANCELLED")
		for i, it := range items {
			var lines []string
			for _, p := range it.GetPrices() {
				lines = append(lines, fmt.Sprintf("%d × %s", p.GetQuantity(), money.Decimal(p.GetUnitPrice(), cur)))
			}
			row(w, i, it.GetEventId(), orDash(it.GetCategory()), it.GetQuantity(), seats(it.GetSeats()),
				orDash(strings.Join(lines, " + ")), moneyText(it.GetAmount(), cur), moneyText(it.GetDiscount(), cur), ts(it.GetCancelledAt()))
		}
	}
	fmt.Fprintln(w)
	head, vals := []any{"VOUCHER", "DISCOUNT", "TOTAL"}, []any{orDash(voucher), moneyText(discount, cur), moneyText(total, cur)}
	if refunded != nil {
		head, vals = append(head, "REFUNDED"), append(vals, moneyText(*refunded, cur))
	}
	row(w, head...)
	row(w, vals...)
}

// categoryAvailabilityTable shows, per category of an event, the price
// the next ticket sells at, its tier and what is left.
func categoryAvailabilityTable(w io.Writer, cats []*bookdv1.CategoryAvailability) {
	if len(cats) == 0 {
		return
	}
	fmt.Fprintln(w)
	row(w, "CATEGORY", "PRICE", "TIER", "TIER LEFT", "AVAILABLE", "HELD", "BOOKED")
	for _, c := range cats {
		tier, left := "-", "-"
		if c.GetTierLeft() > 0 {
			tier, left = cmp.Or(c.GetTierName(), strconv.Itoa(int(c.GetTier()))), strconv.FormatInt(c.GetTierLeft(), 10)
		}
		row(w, c.GetName(), moneyText(c.GetPrice(), c.GetCurrency()), tier, left, c.GetAvailable(), c.GetHeld(), c.GetBooked())
	}
}

// money shows an amount in minor units of cur as major units with the
// currency: 2500 EUR is "25.00 EUR", 1200 JPY "1200 JPY".
func moneyText(amount int64, cur string) string {
	if cur == "" {
		return money.Decimal(amount, cur)
	}
	return money.Decimal(amount, cur) + " " + cur
}
