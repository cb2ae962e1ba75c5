package edge_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/bookd/bookd/client"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/proto/bookd/v1/bookdv1connect"
	"github.com/bookd/bookd/rpc/clustertest"
	"github.com/bookd/bookd/rpc/edge"
	"github.com/bookd/bookd/rpc/waitroom"
)

// pricedTour is an event of GA tickets in two categories, the first with
// an early-bird tier of two tickets.
func pricedTour(name string) *bookdv1.CreateEventRequest {
	return &bookdv1.CreateEventRequest{Name: name, Capacity: 50, TimeZone: "Europe/Berlin", Categories: []*bookdv1.Category{
		{Name: "adult", Price: 2000, Currency: "EUR", Tiers: []*bookdv1.PriceTier{{Quantity: 2, Price: 1500, Name: "early bird"}}},
		{Name: "child", Price: 1000},
	}}
}

// category is the availability of a's category name.
func category(a *bookdv1.GetAvailabilityResponse, name string) *bookdv1.CategoryAvailability {
	for _, c := range a.GetCategories() {
		if c.GetName() == name {
			return c
		}
	}
	return nil
}

// TestOrderThroughEdgeRefreshesEveryEvent: an order through the edge acts
// for its caller and, held or confirmed, drops the cached availability of
// each of its events, so the shopper sees it on every event at once though
// the cache may otherwise be an hour old. Events and availability keep
// their categories, prices and time zone on the way through.
func TestOrderThroughEdgeRefreshesEveryEvent(t *testing.T) {
	c := clustertest.Start(t, 1, clustertest.Options{})
	c.WaitReady()
	cl := newClient(t, c.Endpoints())
	tour := createEvent(t, cl, pricedTour("Harbour tour")).GetId()
	show := createEvent(t, cl, &bookdv1.CreateEventRequest{Name: "Evening show", Seats: []string{"A1", "A2", "A3"}}).GetId()
	run, _ := startEdge(t, c, edge.Config{Staleness: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	shop := edgeClient(run)
	avail := func(ev string) *bookdv1.GetAvailabilityResponse {
		t.Helper()
		res, err := shop.GetAvailability(ctx, &bookdv1.GetAvailabilityRequest{EventId: ev})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}

	got, err := shop.GetEvent(ctx, &bookdv1.GetEventRequest{EventId: tour})
	if err != nil {
		t.Fatal(err)
	}
	if ev := got.GetEvent(); len(ev.GetCategories()) != 2 || ev.GetTimeZone() != "Europe/Berlin" || len(ev.GetCategories()[0].GetTiers()) != 1 {
		t.Fatalf("event through the edge: %v, want its two categories, tiers and time zone", ev)
	}
	if adult := category(avail(tour), "adult"); adult.GetPrice() != 1500 || adult.GetTierLeft() != 2 || adult.GetCurrency() != "EUR" {
		t.Fatalf("adult availability before the order: %v, want 2 left at the early-bird 1500 EUR", adult)
	}
	if free := avail(show).GetFreeSeats(); len(free) != 3 {
		t.Fatalf("show's free seats before the order: %v", free)
	}

	order := []*bookdv1.HoldItem{
		{EventId: tour, Category: "adult", Quantity: 3},
		{EventId: show, Seats: []string{"A1", "A2"}},
		{EventId: tour, Category: "child", Quantity: 1},
	}
	if _, err := shop.Hold(ctx, &bookdv1.HoldRequest{Items: order, CustomerId: "someone-else"}); connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Fatalf("an order for another customer: %v, want PERMISSION_DENIED", err)
	}
	res, err := shop.Hold(ctx, &bookdv1.HoldRequest{Items: order})
	if err != nil {
		t.Fatal(err)
	}
	h := res.GetHold()
	if h.GetCustomerId() == "" || len(h.GetItems()) != 3 || h.GetTotal() != 2*1500+2000+1000 || h.GetCurrency() != "EUR" {
		t.Fatalf("the order's hold: %v, want the caller's, 3 items, 6000 EUR", h)
	}
	if adult := category(avail(tour), "adult"); adult.GetHeld() != 3 || adult.GetPrice() != 2000 {
		t.Fatalf("adult availability right after the order: %v, want 3 held and the 2000 price", adult)
	}
	if a := avail(show); !slices.Equal(a.GetFreeSeats(), []string{"A3"}) {
		t.Fatalf("show's free seats right after the order: %v, want [A3] (the edge dropped only the first event's cache?)", a.GetFreeSeats())
	}

	if _, err := shop.Confirm(ctx, &bookdv1.ConfirmRequest{HoldId: h.GetId()}); err != nil {
		t.Fatal(err)
	}
	if child := category(avail(tour), "child"); child.GetBooked() != 1 || child.GetHeld() != 0 {
		t.Fatalf("child availability right after confirming: %v, want 1 booked", child)
	}
	if a := avail(show); a.GetBookedSeats() != 2 || a.GetHeldSeats() != 0 {
		t.Fatalf("show right after confirming: %v, want 2 seats booked", a)
	}
}

// TestOrderWaitingRooms: an order goes through the waiting room of the one
// event of it that has one (an admission is for one event), which is told
// when the shopper confirms, whichever item the event is; an order of two
// events with rooms is refused naming the item.
func TestOrderWaitingRooms(t *testing.T) {
	c := clustertest.Start(t, 1, clustertest.Options{})
	c.WaitReady()
	cl := newClient(t, c.Endpoints())
	calm := createEvent(t, cl, &bookdv1.CreateEventRequest{Name: "Calm", Capacity: 10}).GetId()
	busy := createEvent(t, cl, &bookdv1.CreateEventRequest{Name: "Busy", Capacity: 10}).GetId()
	hot := createEvent(t, cl, &bookdv1.CreateEventRequest{Name: "Hot", Capacity: 10}).GetId()
	run := startRoomsEdge(t, c, "order rooms secret, 16+ bytes", edge.Config{},
		waitroom.Config{EventID: busy, Rate: 1000, MaxActive: 1}, waitroom.Config{EventID: hot, Rate: 1000})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	roomURL := fmt.Sprintf("http://%s/waitroom/v1/events/%s", run.Addr(), busy)
	ann, bob := newJar(), newJar()
	one := func(ev string) *bookdv1.HoldItem { return &bookdv1.HoldItem{EventId: ev, Quantity: 1} }

	_, err := shopperClient(ann, run).Hold(ctx, &bookdv1.HoldRequest{Items: []*bookdv1.HoldItem{one(calm), one(busy)}})
	if md := client.ErrorMetadata(err); connect.CodeOf(err) != connect.CodePermissionDenied || client.Reason(err) != edge.ReasonAdmissionRequired ||
		md["eventId"] != busy || md["item"] != "1" {
		t.Fatalf("an order with a roomed event and no admission: %v %v, want PERMISSION_DENIED %s naming %s, item 1",
			err, md, edge.ReasonAdmissionRequired, busy)
	}
	st := roomCall(t, ann, "POST", roomURL+"/join")
	if st.State != waitroom.StateAdmitted {
		t.Fatalf("ann in an idle room: %+v", st)
	}
	_, err = shopperClient(ann, run).Hold(ctx, &bookdv1.HoldRequest{Items: []*bookdv1.HoldItem{one(calm), one(busy), one(hot)}, AdmissionToken: st.Token})
	if fv := client.FieldViolations(err); connect.CodeOf(err) != connect.CodeInvalidArgument || len(fv) != 1 || fv[0].Field != "items[2].event_id" {
		t.Fatalf("an order of two roomed events: %v %v, want INVALID_ARGUMENT naming items[2].event_id", err, fv)
	}
	res, err := shopperClient(ann, run).Hold(ctx, &bookdv1.HoldRequest{Items: []*bookdv1.HoldItem{one(calm), one(busy)}, AdmissionToken: st.Token})
	if err != nil {
		t.Fatalf("ann's order with her admission: %v", err)
	}

	bobSt := roomCall(t, bob, "POST", roomURL+"/join")
	if bobSt.State != waitroom.StateWaiting {
		t.Fatalf("bob while ann shops: %+v, want waiting", bobSt)
	}
	if _, err := shopperClient(ann, run).Confirm(ctx, &bookdv1.ConfirmRequest{HoldId: res.GetHold().GetId()}); err != nil {
		t.Fatal(err)
	}
	if bobSt = roomCall(t, bob, "GET", roomURL+"/tickets/"+bobSt.Ticket); bobSt.State != waitroom.StateAdmitted {
		t.Fatalf("bob right after ann confirmed an order whose second item is the roomed event: %+v, want admitted", bobSt)
	}
}

// TestOrderTakesEveryEventsHoldLimit: an order counts against the
// per-event hold limit of each of its events, all or none: one refused for
// one event's limit takes nothing from the others'.
func TestOrderTakesEveryEventsHoldLimit(t *testing.T) {
	c := clustertest.Start(t, 1, clustertest.Options{})
	c.WaitReady()
	cl := newClient(t, c.Endpoints())
	var ev [3]string
	for i := range ev {
		ev[i] = createEvent(t, cl, &bookdv1.CreateEventRequest{Name: fmt.Sprint("limited ", i), Capacity: 10}).GetId()
	}
	run, _ := startEdge(t, c, edge.Config{EventRate: 0.001, EventBurst: 1})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	shop := edgeClient(run)
	order := func(events ...string) error {
		var items []*bookdv1.HoldItem
		for _, e := range events {
			items = append(items, &bookdv1.HoldItem{EventId: e, Quantity: 1})
		}
		_, err := shop.Hold(ctx, &bookdv1.HoldRequest{Items: items})
		return err
	}
	if err := order(ev[0], ev[1], ev[0]); err != nil {
		t.Fatalf("first order of events 0 and 1: %v", err)
	}
	if err := order(ev[1]); connect.CodeOf(err) != connect.CodeResourceExhausted || client.RetryAfter(err) <= 0 {
		t.Fatalf("hold on event 1 after the order took its one hold: %v, want RESOURCE_EXHAUSTED with a retry-after", err)
	}
	if err := order(ev[2], ev[0]); connect.CodeOf(err) != connect.CodeResourceExhausted {
		t.Fatalf("order of events 2 and 0 after event 0's one hold: %v, want RESOURCE_EXHAUSTED", err)
	}
	if _, err := shop.Hold(ctx, &bookdv1.HoldRequest{EventId: ev[2], Quantity: 1}); err != nil {
		t.Fatalf("hold on event 2 after a refused order named it: %v, want its one hold still there", err)
	}
}

// TestEdgeDoesNotServeQuotasOrVouchers: quotas and vouchers are the
// operator's: a stranger at the edge can neither read nor make them (the
// calls are not served), and the cluster's vouchers are as they were.
func TestEdgeDoesNotServeQuotasOrVouchers(t *testing.T) {
	c := clustertest.Start(t, 1, clustertest.Options{})
	c.WaitReady()
	cl := newClient(t, c.Endpoints())
	run, _ := startEdge(t, c, edge.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	q, err := cl.CreateQuota(ctx, &bookdv1.CreateQuotaRequest{Name: "bus", Capacity: 40})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.CreateVoucher(ctx, &bookdv1.CreateVoucherRequest{Voucher: &bookdv1.Voucher{Code: "STAFF-ONLY", PercentOff: 100, MaxRedemptions: 5}}); err != nil {
		t.Fatal(err)
	}

	stranger := edgeClient(run)
	calls := map[string]func() error{
		"CreateQuota": func() error {
			_, err := stranger.CreateQuota(ctx, &bookdv1.CreateQuotaRequest{Name: "mine", Capacity: 1})
			return err
		},
		"GetQuota": func() error {
			_, err := stranger.GetQuota(ctx, &bookdv1.GetQuotaRequest{QuotaId: q.GetId()})
			return err
		},
		"CreateVoucher": func() error {
			_, err := stranger.CreateVoucher(ctx, &bookdv1.CreateVoucherRequest{Voucher: &bookdv1.Voucher{Code: "FREE-4-ME", PercentOff: 100, MaxRedemptions: 1000}})
			return err
		},
		"GetVoucher": func() error {
			_, err := stranger.GetVoucher(ctx, &bookdv1.GetVoucherRequest{Code: "STAFF-ONLY"})
			return err
		},
		"ListVouchers": func() error {
			_, err := stranger.ListVouchers(ctx, &bookdv1.ListVouchersRequest{})
			return err
		},
	}
	for name, call := range calls {
		if err := call(); connect.CodeOf(err) != connect.CodeUnimplemented {
			t.Errorf("%s at the edge: %v, want UNIMPLEMENTED (not served)", name, err)
		}
	}
	res, err := http.Post("http://"+run.Addr()+bookdv1connect.BookingServiceListVouchersProcedure, "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusNotImplemented || strings.Contains(string(body), "STAFF-ONLY") {
		t.Errorf("plain POST of ListVouchers at the edge: HTTP %d %q, want 501 (Connect's unimplemented) without the vouchers", res.StatusCode, body)
	}
	list, err := cl.ListVouchers(ctx, &bookdv1.ListVouchersRequest{})
	if err != nil || len(list.GetVouchers()) != 1 || list.GetVouchers()[0].GetCode() != "STAFF-ONLY" {
		t.Fatalf("vouchers after the stranger: %v, %v; want STAFF-ONLY only", list, err)
	}
}

// TestEdgeDoesNotCancelItems: cancelling a booking, wholly or some of its
// items, is a back end's call (it refunds): at the edge nobody may, owner,
// holder of the secret or stranger, and a stranger's answer is the same
// for a booking that exists and one that does not. The booking is as it
// was.
func TestEdgeDoesNotCancelItems(t *testing.T) {
	c := clustertest.Start(t, 1, clustertest.Options{})
	c.WaitReady()
	cl := newClient(t, c.Endpoints())
	tour := createEvent(t, cl, pricedTour("Cancellable tour")).GetId()
	show := createEvent(t, cl, &bookdv1.CreateEventRequest{Name: "Cancellable show", Capacity: 10}).GetId()
	run, _ := startEdge(t, c, edge.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	owner := edgeClient(run)
	held, err := owner.Hold(ctx, &bookdv1.HoldRequest{Items: []*bookdv1.HoldItem{
		{EventId: tour, Category: "adult", Quantity: 1}, {EventId: show, Quantity: 2}}})
	if err != nil {
		t.Fatal(err)
	}
	booked, err := owner.Confirm(ctx, &bookdv1.ConfirmRequest{HoldId: held.GetHold().GetId()})
	if err != nil {
		t.Fatal(err)
	}
	bk := booked.GetBooking()
	missing := fmt.Sprintf("bk_%d", number(t, bk.GetId())+1000)

	stranger := edgeClient(run)
	cancelAs := func(who bookdv1connect.BookingServiceClient, id, secret string) error {
		_, err := who.CancelBooking(ctx, &bookdv1.CancelBookingRequest{BookingId: id, Items: []int32{1}, IdempotencyKey: secret + id})
		return err
	}
	answers := map[string]error{
		"owner":                     cancelAs(owner, bk.GetId(), ""),
		"secret holder":             cancelAs(stranger, bk.GetId(), bk.GetClientSecret()),
		"stranger":                  cancelAs(stranger, bk.GetId(), ""),
		"stranger, missing booking": cancelAs(stranger, missing, ""),
	}
	want := answers["stranger, missing booking"]
	for who, err := range answers {
		if connect.CodeOf(err) != connect.CodePermissionDenied || err.Error() != want.Error() {
			t.Errorf("%s cancelling an item at the edge: %v, want PERMISSION_DENIED as for a missing booking (%v)", who, err, want)
		}
	}
	now, err := cl.GetBooking(ctx, bk.GetId())
	if err != nil {
		t.Fatal(err)
	}
	if now.GetStatus() != bookdv1.BookingStatus_BOOKING_STATUS_CONFIRMED || now.GetRefunded() != 0 ||
		slices.ContainsFunc(now.GetItems(), func(it *bookdv1.OrderItem) bool { return it.GetCancelledAt() != nil }) {
		t.Fatalf("booking after the edge's refusals: %v, want it confirmed with no item cancelled", now)
	}
}

// TestWatcherSeesOnlyItsEventsItems: a change of an order reaches the
// watchers of each event it has items on, each shown that event's tickets
// and seats only, with no one's ids, payment, prices or totals; a partial
// cancellation reaches the watchers of the events it frees tickets on,
// and the booking's final cancellation shows only what it frees then.
func TestWatcherSeesOnlyItsEventsItems(t *testing.T) {
	c := clustertest.Start(t, 1, clustertest.Options{})
	c.WaitReady()
	cl := newClient(t, c.Endpoints())
	tour := createEvent(t, cl, pricedTour("Watched tour")).GetId()
	show := createEvent(t, cl, &bookdv1.CreateEventRequest{Name: "Watched show", Seats: []string{"A1", "A2", "A3"}}).GetId()
	run, _ := startEdge(t, c, edge.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	watch := func(ev string) *connect.ServerStreamForClient[bookdv1.WatchChangesResponse] {
		s, err := edgeClient(run).WatchChanges(ctx, &bookdv1.WatchChangesRequest{EventId: ev})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		if !s.Receive() { // the empty first message: watching
			t.Fatalf("watch of %s ended before it started: %v", ev, s.Err())
		}
		return s
	}
	tourWatch, showWatch := watch(tour), watch(show)

	buyer := edgeClient(run)
	held, err := buyer.Hold(ctx, &bookdv1.HoldRequest{PaymentRef: "pi_buyer", Items: []*bookdv1.HoldItem{
		{EventId: tour, Category: "adult", Quantity: 2}, {EventId: show, Seats: []string{"A1", "A2"}}}})
	if err != nil {
		t.Fatal(err)
	}
	booked, err := buyer.Confirm(ctx, &bookdv1.ConfirmRequest{HoldId: held.GetHold().GetId()})
	if err != nil {
		t.Fatal(err)
	}
	bk := booked.GetBooking()
	showItem := int32(slices.IndexFunc(bk.GetItems(), func(it *bookdv1.OrderItem) bool { return it.GetEventId() == show }))
	if _, err := cl.CancelBooking(ctx, &bookdv1.CancelBookingRequest{BookingId: bk.GetId(), Items: []int32{showItem}}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.CancelBooking(ctx, &bookdv1.CancelBookingRequest{BookingId: bk.GetId()}); err != nil {
		t.Fatal(err)
	}
	// A last change of the show: its watcher's next change after the
	// partial cancellation must be this one, not the final cancellation,
	// which frees nothing of the show.
	if _, err := cl.Hold(ctx, &bookdv1.HoldRequest{EventId: show, CustomerId: "late", Seats: []string{"A3"}}); err != nil {
		t.Fatal(err)
	}

	type seen struct {
		kind     bookdv1.ChangeKind
		quantity int64
		seats    string
	}
	next := func(s *connect.ServerStreamForClient[bookdv1.WatchChangesResponse], ev string, n int) []seen {
		t.Helper()
		var got []*bookdv1.Change
		for len(got) < n && s.Receive() {
			got = append(got, s.Msg().GetChanges()...)
		}
		var out []seen
		for _, ch := range got {
			out = append(out, seen{ch.GetType(), ch.GetQuantity(), strings.Join(ch.GetSeats(), ",")})
			if ch.GetEventId() != ev || ch.GetCustomerId() != "" || ch.GetHoldId() != "" || ch.GetBookingId() != "" ||
				ch.GetPaymentRef() != "" || ch.GetTotal() != 0 || ch.GetCurrency() != "" || ch.GetRefund() != 0 {
				t.Errorf("watcher of %s shown %v, want the event's tickets and no one's ids, payment or totals", ev, ch)
			}
			for _, it := range ch.GetItems() {
				if it.GetEventId() != ev || len(it.GetPrices()) != 0 || it.GetAmount() != 0 || it.GetDiscount() != 0 {
					t.Errorf("watcher of %s shown item %v, want only %s's items, with no prices", ev, it, ev)
				}
			}
		}
		return out
	}
	const (
		created   = bookdv1.ChangeKind_CHANGE_KIND_HOLD_CREATED
		confirmed = bookdv1.ChangeKind_CHANGE_KIND_BOOKING_CONFIRMED
		partly    = bookdv1.ChangeKind_CHANGE_KIND_BOOKING_ITEMS_CANCELLED
		cancelled = bookdv1.ChangeKind_CHANGE_KIND_BOOKING_CANCELLED
	)
	wantShow := []seen{{created, 2, "A1,A2"}, {confirmed, 2, "A1,A2"}, {partly, 2, "A1,A2"}, {created, 1, "A3"}}
	if got := next(showWatch, show, len(wantShow)); !slices.Equal(got, wantShow) {
		t.Errorf("the show's watcher saw %v, want %v", got, wantShow)
	}
	wantTour := []seen{{created, 2, ""}, {confirmed, 2, ""}, {cancelled, 2, ""}}
	if got := next(tourWatch, tour, len(wantTour)); !slices.Equal(got, wantTour) {
		t.Errorf("the tour's watcher saw %v, want %v", got, wantTour)
	}
}
