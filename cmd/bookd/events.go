package main

import (
	"context"
	"fmt"
	"github.com/bookd/bookd/client"
	"github.com/bookd/bookd/cmd/bookd/money"
	"io"
	"strconv"
	"strings"
	"time"

	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func newEventsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "events", Short: "Create, list, show, close and cancel events"}
	cmd.AddCommand(newEventsCreateCmd(g), newEventsListCmd(g), newEventsGetCmd(g), newEventsCloseCmd(g), newEventsCancelCmd(g))
	return cmd
}

func newEventsCreateCmd(g *globals) *cobra.Command {
	var req bookdv1.CreateEventRequest
	var startsAt, seatList string
	var sections []string
	var prices priceFlags
	var offerTTL time.Duration
	cmd := &cobra.Command{
		Use: "create --name NAME [--capacity N] [--seats A1-A20,B1] [--section NAME:ROW=SEATS;...] [--product ID] [--starts-at TIME]\n" +
			"  [--category NAME:PRICE[:CURRENCY[:CAPACITY]]]... [--tier CATEGORY:QUANTITY:PRICE[:NAME]]... [--section-category CATEGORY:SECTION,...]...\n" +
			"  [--time-zone ZONE] [--quota ID]...",
		Short: "Create an event (a departure) with general-admission capacity, a seat map, named seats, or a mix; with ticket categories and prices",
		Example: `  bookd events create --name "Opening night" --capacity 100 --seats A1-A10
  bookd events create --name "Hamlet" --product pr_3 --starts-at 2026-12-31T20:00:00Z \
    --section 'STALLS:A=20/1,20;B=22' --section 'CIRCLE:A=12' --max-per-customer 6
  bookd events create --name "Harbour tour" --capacity 60 --time-zone Europe/Vienna --quota qt_1 \
    --category 'adult:2500:EUR' --category 'child:1200' --category 'vip:9000::10' --tier 'adult:20:2000:early bird'
  bookd events create --name "Gala" --section 'STALLS:A=20;B=20' --section 'CIRCLE:A=12' \
    --category 'gold:9000:EUR' --category 'silver:4500' --section-category 'gold:STALLS' --section-category 'silver:CIRCLE'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if startsAt != "" {
				t, err := parseTime("--starts-at", startsAt)
				if err != nil {
					return err
				}
				req.StartsAt = timestamppb.New(t)
			}
			s, err := expandSeats(seatList)
			if err != nil {
				return err
			}
			req.Seats = s
			for _, spec := range sections {
				sec, err := parseSection(spec)
				if err != nil {
					return err
				}
				req.Sections = append(req.Sections, sec)
			}
			if req.Categories, err = prices.build(req.Sections); err != nil {
				return err
			}
			if req.WaitlistOfferTtl, err = ttlFlag(cmd, "offer-ttl", offerTTL); err != nil {
				return err
			}
			return call(g, cmd, func(ctx context.Context, c *client.Client) (*bookdv1.Event, error) {
				return c.CreateEvent(ctx, &req)
			}, eventView)
		},
	}
	f := cmd.Flags()
	prices.register(f)
	f.StringVar(&req.TimeZone, "time-zone", "", "the IANA time zone the event takes place in (Europe/Vienna), for showing its times (default UTC)")
	f.StringArrayVar(&req.QuotaIds, "quota", nil, "a quota (bookd quotas create) the event's tickets count against too (repeatable, at most 4)")
	f.StringVar(&req.Name, "name", "", "event name")
	f.Int64Var(&req.Capacity, "capacity", 0, "general-admission tickets")
	f.StringVar(&seatList, "seats", "", "named seats outside any seat map, comma-separated; A1-A20 is A1 to A20")
	f.StringArrayVar(&sections, "section", nil, sectionSyntax)
	f.StringVar(&req.ProductId, "product", "", "the product this event is a departure of (bookd products create)")
	f.StringVar(&startsAt, "starts-at", "", "start time, RFC 3339 (2026-12-31T20:00:00Z) or a date (2026-12-31, UTC)")
	f.Int64Var(&req.MaxTicketsPerCustomer, "max-per-customer", 0, "most tickets one customer may hold and book together (0: no limit)")
	f.Int64Var(&req.MaxTicketsPerHold, "max-per-hold", 0, "most tickets one hold or booking may take (0: the server's limit, 50)")
	f.DurationVar(&offerTTL, "offer-ttl", 0, "how long a waitlist offer's hold lasts (default 10m)")
	f.StringVar(&req.IdempotencyKey, "idempotency-key", "", "retry key (default: a fresh one)")
	return cmd
}

// parseTime reads an RFC 3339 time or a date (midnight UTC).
func parseTime(flag, s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, usagef("%s: %q is not an RFC 3339 time like 2026-12-31T20:00:00Z or a date like 2026-12-31", flag, s)
}

// expandSeats parses "A1-A3,B7,DECK-A-4,DECK-B-1..3" into A1 A2 A3 B7
// DECK-A-4 DECK-B-1 DECK-B-2 DECK-B-3. A part with one dash is a range of
// labels like A1-A20; seat-map labels (SECTION-ROW-N) have two, and
// LABEL..N ranges over a row's seat numbers. An empty list is no seats; an
// empty item in a list is a mistake.
func expandSeats(list string) ([]string, error) {
	return expandSeatList(fmt.Sprintf("--seats %q", list), list, ",")
}

// expandSeatList is expandSeats of a list whose parts sep separates;
// what names the list in errors.
func expandSeatList(what, list, sep string) ([]string, error) {
	if strings.TrimSpace(list) == "" {
		return nil, nil
	}
	var out []string
	for i, part := range strings.Split(list, sep) {
		part = strings.TrimSpace(part)
		from, to := part, ""
		switch {
		case part == "":
			return nil, usagef("%s: item %d is empty (two %q in a row, or one at an end)", what, i+1, sep)
		case strings.Contains(part, ".."):
			from, to, _ = strings.Cut(part, "..")
			p, n1, ok1 := splitLabel(from)
			n2, err := strconv.Atoi(to)
			if !ok1 || err != nil || n2 < n1 || n2-n1 >= 20000 {
				return nil, usagef("%s: %q is not a range like DECK-A-1..8", what, part)
			}
			for n := n1; n <= n2; n++ {
				out = append(out, p+strconv.Itoa(n))
			}
		case strings.Count(part, "-") == 1:
			from, to, _ = strings.Cut(part, "-")
			p1, n1, ok1 := splitLabel(from)
			p2, n2, ok2 := splitLabel(to)
			if !ok1 || !ok2 || p1 != p2 || n2 < n1 || n2-n1 >= 20000 {
				return nil, usagef("%s: %q is not a range like A1-A20", what, part)
			}
			for n := n1; n <= n2; n++ {
				out = append(out, p1+strconv.Itoa(n))
			}
		default:
			out = append(out, part)
		}
	}
	return out, nil
}

// splitLabel splits "AB12" into "AB" and 12, and "DECK-A-12" into "DECK-A-"
// and 12.
func splitLabel(s string) (string, int, bool) {
	i := strings.LastIndexFunc(s, func(r rune) bool { return r < '0' || r > '9' }) + 1
	if i == len(s) {
		return "", 0, false
	}
	n, err := strconv.Atoi(s[i:])
	return s[:i], n, err == nil
}
func newEventsListCmd(g *globals) *cobra.Command {
	var req bookdv1.ListEventsRequest
	var from, to string
	var lf listFlags
	cmd := &cobra.Command{
		Use:   "list [--product ID] [--from TIME] [--to TIME] [--query TEXT] [--min-available N] [--all]",
		Short: "List events by start time, filtered by product, start time, name and availability",
		Example: `  bookd events list --product pr_3 --from 2026-12-01 --to 2027-01-01 --min-available 2
  bookd events list --query hamlet --all -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for _, tf := range []struct {
				flag, value string
				into        **timestamppb.Timestamp
			}{{"--from", from, &req.StartsAfter}, {"--to", to, &req.StartsBefore}} {
				if tf.value != "" {
					t, err := parseTime(tf.flag, tf.value)
					if err != nil {
						return err
					}
					*tf.into = timestamppb.New(t)
				}
			}
			if err := lf.check(); err != nil {
				return err
			}
			req.Read = lf.read()
			return call(g, cmd, func(ctx context.Context, c *client.Client) (*bookdv1.ListEventsResponse, error) {
				return pages(ctx, &lf, c.ListEvents, &req, func(r *bookdv1.ListEventsResponse, more *bookdv1.ListEventsResponse) {
					r.Events = append(r.Events, more.Events...)
					r.NextPageToken = more.NextPageToken
				})
			}, func(w io.Writer, resp *bookdv1.ListEventsResponse) {
				pricedEventTable(w, resp.Events...)
				moreNote(w, resp.NextPageToken)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&req.ProductId, "product", "", "only departures of this product")
	f.StringVar(&from, "from", "", "only events starting at or after this time (RFC 3339 or a date)")
	f.StringVar(&to, "to", "", "only events starting before this time (RFC 3339 or a date)")
	f.StringVar(&req.Query, "query", "", "only events whose name contains this text, ignoring case")
	f.Int64Var(&req.MinAvailable, "min-available", 0, "only events on sale with at least this many tickets or seats free")
	lf.register(f, "events", &req.PageSize, &req.PageToken)
	return cmd
}

func newEventsGetCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "get EVENT_ID",
		Short: "Show an event",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return call(g, cmd, func(ctx context.Context, c *client.Client) (*bookdv1.Event, error) {
				return c.GetEvent(ctx, args[0])
			}, eventView)
		},
	}
}

// priceFlags are events create's ticket categories: --category, --tier
// and --section-category.
type priceFlags struct {
	categories, tiers, sections []string
}

func (p *priceFlags) register(f *pflag.FlagSet) {
	f.StringArrayVar(&p.categories, "category", nil, "a ticket category (repeatable), NAME:PRICE[:CURRENCY[:CAPACITY]]: PRICE in minor units\n"+
		"(2500 is 25.00 EUR), CURRENCY an ISO 4217 code (required on the first, the same on all), CAPACITY its own\n"+
		"limit of tickets; e.g. 'adult:2500:EUR' 'child:1200' 'vip:9000::50'")
	f.StringArrayVar(&p.tiers, "tier", nil, "a price tier of a category, sold before its price, in the order given (repeatable),\n"+
		"CATEGORY:QUANTITY:PRICE[:NAME]; e.g. 'adult:10:2000:early bird' sells adult's first 10 at 2000")
	f.StringArrayVar(&p.sections, "section-category", nil, "the seat-map sections whose seats are of a category (repeatable),\n"+
		"CATEGORY:SECTION,...; e.g. 'gold:STALLS,CIRCLE'")
}

// categories builds the categories the flags describe; sections is the
// event's seat map, which --section-category refers to.
func (p *priceFlags) build(sections []*bookdv1.Section) ([]*bookdv1.Category, error) {
	var cats []*bookdv1.Category
	byName := map[string]*bookdv1.Category{}
	for _, spec := range p.categories {
		c, err := parseCategory(spec)
		if err != nil {
			return nil, err
		}
		cats = append(cats, c)
		byName[c.Name] = c
	}
	named := func(flag, spec, name string) (*bookdv1.Category, error) {
		if c, ok := byName[name]; ok {
			return c, nil
		}
		return nil, usagef("%s %q: no --category named %q", flag, spec, name)
	}
	for _, spec := range p.tiers {
		parts := strings.SplitN(spec, ":", 4)
		if len(parts) < 3 {
			return nil, usagef("--tier %q: want CATEGORY:QUANTITY:PRICE[:NAME], like adult:10:2000:early bird", spec)
		}
		c, err := named("--tier", spec, strings.TrimSpace(parts[0]))
		if err != nil {
			return nil, err
		}
		t := &bookdv1.PriceTier{}
		if t.Quantity, err = wholeNumber("--tier", spec, "quantity", parts[1], 1); err != nil {
			return nil, err
		}
		if t.Price, err = wholeNumber("--tier", spec, "price", parts[2], 0); err != nil {
			return nil, err
		}
		if len(parts) == 4 {
			t.Name = parts[3]
		}
		c.Tiers = append(c.Tiers, t)
	}
	mapped := map[string]bool{}
	for _, s := range sections {
		mapped[s.GetName()] = true
	}
	for _, spec := range p.sections {
		name, list, ok := strings.Cut(spec, ":")
		if !ok || strings.TrimSpace(list) == "" {
			return nil, usagef("--section-category %q: want CATEGORY:SECTION,..., like gold:STALLS,CIRCLE", spec)
		}
		if len(sections) == 0 {
			return nil, usagef("--section-category %q: the event has no seat map (give its sections with --section)", spec)
		}
		c, err := named("--section-category", spec, strings.TrimSpace(name))
		if err != nil {
			return nil, err
		}
		for _, s := range strings.Split(list, ",") {
			s = strings.TrimSpace(s)
			if !mapped[s] {
				return nil, usagef("--section-category %q: the seat map has no section %q", spec, s)
			}
			c.Sections = append(c.Sections, s)
		}
	}
	return cats, nil
}

// parseCategory parses one --category, NAME:PRICE[:CURRENCY[:CAPACITY]].
// Names and currencies are checked by the server; this checks the shape.
func parseCategory(spec string) (*bookdv1.Category, error) {
	parts := strings.Split(spec, ":")
	name := strings.TrimSpace(parts[0])
	if len(parts) < 2 || len(parts) > 4 || name == "" {
		return nil, usagef("--category %q: want NAME:PRICE[:CURRENCY[:CAPACITY]], like adult:2500:EUR or vip:9000::50", spec)
	}
	c := &bookdv1.Category{Name: name}
	var err error
	if c.Price, err = wholeNumber("--category", spec, "price", parts[1], 0); err != nil {
		return nil, err
	}
	if len(parts) > 2 {
		c.Currency = strings.TrimSpace(parts[2])
	}
	if len(parts) > 3 {
		if c.Capacity, err = wholeNumber("--category", spec, "capacity", parts[3], 0); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// wholeNumber parses the part of a flag's value that is a number, at
// least min; an error names the flag, its value and the part.
func wholeNumber(flag, spec, part, s string, min int64) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n < min {
		unit := ""
		if part == "price" {
			unit = " in minor units (2500 is 25.00 EUR)"
		}
		return 0, usagef("%s %q: the %s, %q, is not a whole number >= %d%s", flag, spec, part, s, min, unit)
	}
	return n, nil
}

// pricedEventTable shows events with their time zones and categories'
// prices; an event's start is shown in its own time zone.
func pricedEventTable(w io.Writer, events ...*bookdv1.Event) {
	row(w, "ID", "NAME", "PRODUCT", "STARTS", "TIME ZONE", "STATUS", "CAPACITY", "SEATS", "PRICES")
	for _, e := range events {
		var prices []string
		for _, c := range e.GetCategories() {
			prices = append(prices, c.GetName()+" "+moneyText(c.GetPrice(), categoryCurrency(e, c)))
		}
		row(w, e.GetId(), e.GetName(), orDash(e.GetProductId()), startsIn(e), orDash(e.GetTimeZone()),
			strings.TrimPrefix(e.GetStatus().String(), "EVENT_STATUS_"), e.GetCapacity(), len(e.GetSeats()), orDash(strings.Join(prices, ", ")))
	}
}

// eventView shows one event: its row, then its categories with their
// tiers and sections, and the quotas it counts against.
func eventView(w io.Writer, e *bookdv1.Event) {
	pricedEventTable(w, e)
	if cats := e.GetCategories(); len(cats) > 0 {
		fmt.Fprintln(w)
		row(w, "CATEGORY", "PRICE", "CAPACITY", "TIERS", "SECTIONS")
		for _, c := range cats {
			cur := categoryCurrency(e, c)
			var tiers []string
			for _, t := range c.GetTiers() {
				tier := fmt.Sprintf("%d at %s", t.GetQuantity(), money.Decimal(t.GetPrice(), cur))
				if t.GetName() != "" {
					tier += " (" + t.GetName() + ")"
				}
				tiers = append(tiers, tier)
			}
			capacity := "-"
			if c.GetCapacity() > 0 {
				capacity = strconv.FormatInt(c.GetCapacity(), 10)
			}
			row(w, c.GetName(), moneyText(c.GetPrice(), cur), capacity, orDash(strings.Join(tiers, ", then ")), orDash(strings.Join(c.GetSections(), ",")))
		}
	}
	if q := e.GetQuotaIds(); len(q) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "quotas:", strings.Join(q, ", "))
	}
}

// categoryCurrency is c's currency: its own, else the event's first
// category's.
func categoryCurrency(e *bookdv1.Event, c *bookdv1.Category) string {
	if c.GetCurrency() != "" {
		return c.GetCurrency()
	}
	return e.GetCategories()[0].GetCurrency()
}

// startsIn shows when e starts in its own time zone, or in the local one
// when it has none (or this machine does not know it).
func startsIn(e *bookdv1.Event) string {
	if e.GetStartsAt() == nil || e.GetTimeZone() == "" {
		return ts(e.GetStartsAt())
	}
	loc, err := time.LoadLocation(e.GetTimeZone())
	if err != nil {
		return ts(e.GetStartsAt())
	}
	return e.GetStartsAt().AsTime().In(loc).Format(time.DateTime)
}
