package receipts

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/bookd/bookd/client"
	"github.com/bookd/bookd/cmd/bookd/mailbox"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/proto/bookd/v1/bookdv1connect"
	"github.com/bookd/bookd/rpc/clustertest"
)

// The worker over a real cluster and queue and a real SMTP server: an
// order of two priced events with a voucher is confirmed, one item is
// cancelled, then the rest. Three e-mails arrive, each once though every
// message is handled twice: the receipt with both items, the tier's price,
// the discount and the total; a short one of the cancelled item and its
// refund; the cancellation with the refund of the rest.
func TestWorkerOrderReceipts(t *testing.T) {
	c := clustertest.Start(t, 1, clustertest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cl, err := client.New(c.Endpoints())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	qc := bookdv1connect.NewQueueServiceClient(http.DefaultClient, "http://"+c.WaitReady().RPCAddr)
	if _, err := qc.CreateQueue(ctx, &bookdv1.CreateQueueRequest{Queue: &bookdv1.Queue{Name: "receipts", Kinds: Kinds,
		Ordering: bookdv1.QueueOrdering_QUEUE_ORDERING_BY_BOOKING, MaxAttempts: 3}}); err != nil {
		t.Fatal(err)
	}
	night := time.Date(2026, 12, 1, 19, 30, 0, 0, time.UTC)
	opening, err := cl.CreateEvent(ctx, &bookdv1.CreateEventRequest{Name: "Opening night", Capacity: 50, StartsAt: timestamppb.New(night),
		TimeZone: "Europe/Vienna", Categories: []*bookdv1.Category{{Name: "adult", Price: 2500, Currency: "EUR",
			Tiers: []*bookdv1.PriceTier{{Quantity: 1, Price: 2000, Name: "early bird"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	matinee, err := cl.CreateEvent(ctx, &bookdv1.CreateEventRequest{Name: "Matinee", Capacity: 50, StartsAt: timestamppb.New(night.Add(-6 * time.Hour)),
		Categories: []*bookdv1.Category{{Name: "child", Price: 1200, Currency: "EUR"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.CreateVoucher(ctx, &bookdv1.CreateVoucherRequest{Voucher: &bookdv1.Voucher{
		Code: "RIVER5", AmountOff: 500, Currency: "EUR", MaxRedemptions: 10}}); err != nil {
		t.Fatal(err)
	}
	hold, err := cl.Hold(ctx, &bookdv1.HoldRequest{CustomerId: "alice", ContactEmail: "alice@example.com", VoucherCode: "RIVER5",
		Items: []*bookdv1.HoldItem{{EventId: opening.GetId(), Category: "adult", Quantity: 2}, {EventId: matinee.GetId(), Category: "child", Quantity: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	bk, err := cl.Confirm(ctx, &bookdv1.ConfirmRequest{HoldId: hold.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	part, err := cl.CancelBooking(ctx, &bookdv1.CancelBookingRequest{BookingId: bk.GetId(), Items: []int32{1}})
	if err != nil {
		t.Fatal(err)
	}
	rest, err := cl.CancelBooking(ctx, &bookdv1.CancelBookingRequest{BookingId: bk.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	if bk.GetTotal() != 5200 || part.GetRefunded() <= 0 || rest.GetRefunded() != bk.GetTotal() {
		t.Fatalf("total %d, refunded %d then %d: want 5200, then part of it, then all", bk.GetTotal(), part.GetRefunded(), rest.GetRefunded())
	}

	box := startMailbox(t, mailbox.Options{})
	j, err := OpenJournal(filepath.Join(t.TempDir(), "j"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	w := &Worker{Bookings: cl, Sender: &Sender{Addr: box.Addr()}, Journal: j, From: from}
	for len(box.Messages()) < 3 {
		if ctx.Err() != nil {
			t.Fatalf("gave up waiting for three receipts: %d arrived", len(box.Messages()))
		}
		resp, err := qc.Receive(ctx, &bookdv1.ReceiveRequest{Queue: "receipts", Max: 10,
			Visibility: durationpb.New(30 * time.Second), WaitTime: durationpb.New(200 * time.Millisecond)})
		if err != nil {
			t.Fatalf("receive: %v", err)
		}
		for _, m := range resp.GetMessages() {
			for range 2 { // as if the first ack were lost
				if err := w.Handle(ctx, m); err != nil {
					t.Fatalf("message %s (%s): %v", m.GetId(), m.GetChange().GetKind(), err)
				}
			}
			if _, err := qc.Ack(ctx, &bookdv1.AckRequest{Queue: "receipts", LeaseIds: []string{m.GetLeaseId()}}); err != nil {
				t.Fatalf("ack: %v", err)
			}
		}
	}

	got := box.Messages()
	eur := func(minor int64) string { return moneyOf(minor, "EUR") }
	for i, want := range []struct {
		subject     string
		text, notIn []string
	}{
		{"Your booking " + bk.GetId() + ": Opening night and 1 more",
			[]string{"1. Opening night, adult", "Tue 1 Dec 2026 20:30 CET", "1 × 20.00 EUR (early bird)", "1 × 25.00 EUR",
				"2. Matinee, child", "1 × 12.00 EUR", "Discount:  -5.00 EUR (voucher RIVER5)", "Total:     " + eur(5200)},
			[]string{"Refund", "cancelled"}},
		{"Part of booking " + bk.GetId() + " cancelled: Matinee",
			[]string{"1. Matinee, child", "Amount:    12.00 EUR", "Refund:    " + eur(part.GetRefunded())},
			[]string{"Opening night", "Total"}},
		{"Booking " + bk.GetId() + " cancelled: Opening night and 1 more",
			[]string{"Your booking " + bk.GetId() + " has been cancelled.", "1. Opening night, adult\r\n", "2. Matinee, child (cancelled earlier)",
				"Total:     " + eur(5200), "Refund:    " + eur(rest.GetRefunded()-part.GetRefunded())},
			nil},
	} {
		if i >= len(got) {
			break
		}
		if got[i].Subject != want.subject {
			t.Errorf("e-mail %d: Subject %q, want %q", i, got[i].Subject, want.subject)
		}
		_, text, _ := parts(t, got[i].Data)
		for _, s := range want.text {
			if !strings.Contains(text, s) {
				t.Errorf("e-mail %d lacks %q:\n%s", i, s, text)
			}
		}
		for _, s := range want.notIn {
			if strings.Contains(text, s) {
				t.Errorf("e-mail %d has %q:\n%s", i, s, text)
			}
		}
	}
	if len(got) != 3 || j.Len() != 3 {
		t.Errorf("%d e-mails arrived and the journal has %d keys, want 3 each", len(got), j.Len())
	}
}
