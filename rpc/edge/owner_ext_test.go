package edge_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/bookd/bookd/client"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/rpc/clustertest"
	"github.com/bookd/bookd/rpc/edge"
)

// number is the Raft index an id like hd_12 or bk_12-3 carries.
func number(t *testing.T, id string) int {
	t.Helper()
	_, rest, _ := strings.Cut(id, "_")
	rest, _, _ = strings.Cut(rest, "-")
	n, err := strconv.Atoi(rest)
	if err != nil {
		t.Fatalf("id %q carries no number", id)
	}
	return n
}

// wantHidden checks that a stranger's call was answered as for an object
// that does not exist: NOT_FOUND, "<what> <id> not found", no reason.
func wantHidden(t *testing.T, call string, err error, what, id string) {
	t.Helper()
	if connect.CodeOf(err) != connect.CodeNotFound || client.Reason(err) != "" {
		t.Fatalf("stranger's %s of %s: %v (reason %q), want NOT_FOUND", call, id, err, client.Reason(err))
	}
	var ce *connect.Error
	if connect.CodeOf(err) == connect.CodeNotFound && errors.As(err, &ce) && ce.Message() != what+" "+id+" not found" {
		t.Fatalf("stranger's %s of %s says %q, want exactly %q", call, id, ce.Message(), what+" "+id+" not found")
	}
}

// TestStrangerCannotReachAnothersObjects plays a stranger at an edge who
// walks every id from hd_1 (bk_1, wl_1) to past the last one, with no
// secret and with a wrong one: every read, confirm, release, extension and
// leave is answered as for an id that does not exist, and nothing of the
// victim's changes. The owner acts by their session, and a third party by
// the object's secret, which shows neither the customer nor the payment.
func TestStrangerCannotReachAnothersObjects(t *testing.T) {
	c := clustertest.Start(t, 3, clustertest.Options{})
	cl := newClient(t, c.Endpoints())
	ev := createEvent(t, cl, &bookdv1.CreateEventRequest{Name: "Harbour tour", Capacity: 10})
	full := createEvent(t, cl, &bookdv1.CreateEventRequest{Name: "Sold out", Capacity: 1})
	run, _ := startEdge(t, c, edge.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	victim := edgeClient(run)
	held, err := victim.Hold(ctx, &bookdv1.HoldRequest{EventId: ev.GetId(), Quantity: 2, Ttl: durationpb.New(30 * time.Minute),
		PaymentRef: "pi_victim_hold", ContactEmail: "victim@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	hold := held.GetHold()
	if hold.GetClientSecret() == "" || hold.GetCustomerId() == "" {
		t.Fatalf("the owner's hold shows no secret or customer: %v", hold)
	}
	toBook, err := victim.Hold(ctx, &bookdv1.HoldRequest{EventId: ev.GetId(), Quantity: 1})
	if err != nil {
		t.Fatal(err)
	}
	confirmed, err := victim.Confirm(ctx, &bookdv1.ConfirmRequest{HoldId: toBook.GetHold().GetId(), PaymentRef: "pay_victim",
		ContactEmail: "victim@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	booking := confirmed.GetBooking()
	if _, err := cl.Book(ctx, &bookdv1.BookRequest{EventId: full.GetId(), CustomerId: "someone", Quantity: 1}); err != nil {
		t.Fatal(err)
	}
	joined, err := victim.JoinWaitlist(ctx, &bookdv1.JoinWaitlistRequest{EventId: full.GetId(), Quantity: 1})
	if err != nil {
		t.Fatal(err)
	}
	entry := joined.GetEntry()

	stranger := edgeClient(run)
	last := number(t, entry.GetId()) + 3
	ttl := durationpb.New(time.Hour)
	for _, secret := range []string{"", "AAAAAAAAAAAAAAAAAAAAAA", booking.GetClientSecret() + "x"} {
		for i := 1; i <= last; i++ {
			hd, bk, wl := fmt.Sprintf("hd_%d", i), fmt.Sprintf("bk_%d", i), fmt.Sprintf("wl_%d", i)
			_, err := stranger.GetHold(ctx, &bookdv1.GetHoldRequest{HoldId: hd, ClientSecret: secret})
			wantHidden(t, "GetHold", err, "hold", hd)
			_, err = stranger.Confirm(ctx, &bookdv1.ConfirmRequest{HoldId: hd, PaymentRef: "fake", ClientSecret: secret})
			wantHidden(t, "Confirm", err, "hold", hd)
			_, err = stranger.ReleaseHold(ctx, &bookdv1.ReleaseHoldRequest{HoldId: hd, ClientSecret: secret})
			wantHidden(t, "ReleaseHold", err, "hold", hd)
			_, err = stranger.ExtendHold(ctx, &bookdv1.ExtendHoldRequest{HoldId: hd, Ttl: ttl, ClientSecret: secret})
			wantHidden(t, "ExtendHold", err, "hold", hd)
			_, err = stranger.GetBooking(ctx, &bookdv1.GetBookingRequest{BookingId: bk, ClientSecret: secret})
			wantHidden(t, "GetBooking", err, "booking", bk)
			_, err = stranger.GetWaitlistEntry(ctx, &bookdv1.GetWaitlistEntryRequest{EntryId: wl, ClientSecret: secret})
			wantHidden(t, "GetWaitlistEntry", err, "waitlist entry", wl)
			_, err = stranger.LeaveWaitlist(ctx, &bookdv1.LeaveWaitlistRequest{EntryId: wl, ClientSecret: secret})
			wantHidden(t, "LeaveWaitlist", err, "waitlist entry", wl)
		}
	}
	// Nothing of the victim's moved.
	if h, err := cl.GetHold(ctx, hold.GetId()); err != nil || h.GetStatus() != bookdv1.HoldStatus_HOLD_STATUS_ACTIVE ||
		!h.GetExpiresAt().AsTime().Equal(hold.GetExpiresAt().AsTime()) {
		t.Fatalf("victim's hold after the stranger: %v, %v", h, err)
	}
	if e, err := cl.GetWaitlistEntry(ctx, entry.GetId()); err != nil || e.GetEntry().GetStatus() != bookdv1.WaitlistStatus_WAITLIST_STATUS_WAITING {
		t.Fatalf("victim's waitlist entry after the stranger: %v, %v", e, err)
	}

	// The owner, by session.
	mine, err := victim.GetBooking(ctx, &bookdv1.GetBookingRequest{BookingId: booking.GetId()})
	if err != nil || mine.GetBooking().GetPaymentRef() != "pay_victim" || mine.GetBooking().GetCustomerId() == "" {
		t.Fatalf("owner's GetBooking: %v, %v", mine, err)
	}
	if _, err := victim.GetWaitlistEntry(ctx, &bookdv1.GetWaitlistEntryRequest{EntryId: entry.GetId()}); err != nil {
		t.Fatalf("owner's GetWaitlistEntry: %v", err)
	}
	// Whoever has the secret (a link in an e-mail), without the customer
	// or the payment.
	link := edgeClient(run)
	byLink, err := link.GetBooking(ctx, &bookdv1.GetBookingRequest{BookingId: booking.GetId(), ClientSecret: booking.GetClientSecret()})
	if err != nil || byLink.GetBooking().GetPaymentRef() != "" || byLink.GetBooking().GetCustomerId() != "" ||
		byLink.GetBooking().GetContactEmail() != "" || byLink.GetBooking().GetQuantity() != 1 {
		t.Fatalf("GetBooking by its secret: %v, %v; want the booking without customer, payment and address", byLink, err)
	}
	if mine.GetBooking().GetContactEmail() != "victim@example.com" {
		t.Fatalf("owner's GetBooking shows address %q, want the one given", mine.GetBooking().GetContactEmail())
	}
	got, err := link.GetHold(ctx, &bookdv1.GetHoldRequest{HoldId: hold.GetId(), ClientSecret: hold.GetClientSecret()})
	if err != nil || got.GetHold().GetCustomerId() != "" || got.GetHold().GetPaymentRef() != "" ||
		got.GetHold().GetContactEmail() != "" || got.GetHold().GetQuantity() != 2 {
		t.Fatalf("GetHold by its secret: %v, %v; want the hold without customer, payment and address", got, err)
	}
	paid, err := link.Confirm(ctx, &bookdv1.ConfirmRequest{HoldId: hold.GetId(), PaymentRef: "pay_link", ClientSecret: hold.GetClientSecret()})
	if err != nil || paid.GetBooking().GetPaymentRef() != "" || paid.GetBooking().GetContactEmail() != "" {
		t.Fatalf("Confirm by the hold's secret: %v, %v", paid, err)
	}
	if left, err := victim.LeaveWaitlist(ctx, &bookdv1.LeaveWaitlistRequest{EntryId: entry.GetId()}); err != nil ||
		left.GetEntry().GetStatus() != bookdv1.WaitlistStatus_WAITLIST_STATUS_LEFT {
		t.Fatalf("owner's LeaveWaitlist: %v, %v", left, err)
	}
}

// TestEdgeActsForTheCallerOnly: a Hold or JoinWaitlist naming another
// customer than the caller is refused, so a shopper who invents customer
// ids stays within the per-customer limit; a portal's customer token names
// the customer; a bad token is refused, never taken for a guest.
func TestEdgeActsForTheCallerOnly(t *testing.T) {
	c := clustertest.Start(t, 3, clustertest.Options{})
	cl := newClient(t, c.Endpoints())
	ev := createEvent(t, cl, &bookdv1.CreateEventRequest{Name: "Limited", Capacity: 100, MaxTicketsPerCustomer: 2})
	portalKey := []byte("the portal's HMAC key, 32 bytes or more")
	run, _ := startEdge(t, c, edge.Config{Identity: testIdentity(t, portalKey)})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	shopper := edgeClient(run)
	if _, err := shopper.Hold(ctx, &bookdv1.HoldRequest{EventId: ev.GetId(), Quantity: 2}); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		_, err := shopper.Hold(ctx, &bookdv1.HoldRequest{EventId: ev.GetId(), CustomerId: fmt.Sprintf("invented-%d", i), Quantity: 2})
		if connect.CodeOf(err) != connect.CodePermissionDenied || !strings.Contains(err.Error(), "customer_id") {
			t.Fatalf("hold for an invented customer: %v, want PERMISSION_DENIED naming customer_id", err)
		}
	}
	_, err := shopper.JoinWaitlist(ctx, &bookdv1.JoinWaitlistRequest{EventId: ev.GetId(), CustomerId: "victim", Quantity: 1})
	if connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Fatalf("waitlist for another customer: %v, want PERMISSION_DENIED", err)
	}
	_, err = shopper.Hold(ctx, &bookdv1.HoldRequest{EventId: ev.GetId(), Quantity: 1})
	if client.Reason(err) != client.ReasonCustomerLimit {
		t.Fatalf("third ticket for the same shopper: %v, want %s", err, client.ReasonCustomerLimit)
	}
	if av, err := cl.Availability(ctx, ev.GetId()); err != nil || av.GetHeldQuantity() != 2 {
		t.Fatalf("held after the shopper's attempts: %v, %v; want 2", av, err)
	}

	// A portal's customer: the token's subject is the customer.
	alice := tokenClient(run, signHS256(t, portalKey, "alice", time.Now().Add(time.Hour)))
	h, err := alice.Hold(ctx, &bookdv1.HoldRequest{EventId: ev.GetId(), CustomerId: "alice", Quantity: 1})
	if err != nil || h.GetHold().GetCustomerId() != "alice" {
		t.Fatalf("alice's hold with her token: %v, %v", h, err)
	}
	if _, err := alice.Hold(ctx, &bookdv1.HoldRequest{EventId: ev.GetId(), CustomerId: "bob", Quantity: 1}); connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Fatalf("alice holding for bob: %v, want PERMISSION_DENIED", err)
	}
	for name, tok := range map[string]string{
		"expired":     signHS256(t, portalKey, "alice", time.Now().Add(-time.Hour)),
		"another key": signHS256(t, []byte("not the portal's key, but 32+ bytes long"), "alice", time.Now().Add(time.Hour)),
		"not a token": "hello",
		"guest's id":  signHS256(t, portalKey, "guest_abc", time.Now().Add(time.Hour)),
	} {
		_, err := tokenClient(run, tok).Hold(ctx, &bookdv1.HoldRequest{EventId: ev.GetId(), Quantity: 1})
		if connect.CodeOf(err) != connect.CodeUnauthenticated {
			t.Errorf("hold with a token (%s): %v, want UNAUTHENTICATED", name, err)
		}
	}
}
