package payments

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/bookd/bookd/client"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/proto/bookd/v1/bookdv1connect"
	"github.com/bookd/bookd/rpc/clustertest"
)

// The payments worker settles priced orders by their amounts, over a real
// cluster and queue, against stripe-mock or the recorded fake (the log
// says which; only the fake keeps state, so what Stripe ends up holding is
// checked there, and what the worker asks for on both): an intent
// authorised at the list price is captured at the total after the
// voucher's discount; a partial cancellation refunds its item's share,
// once however often it is delivered, and the cancellation of the rest
// refunds the rest under another key; an intent in another currency, or
// for less than the total, is left alone and its message dead-lettered
// with the reason.
func TestPaymentsWorkerOrders(t *testing.T) {
	stripeAPI := startStripe(t)
	c := clustertest.Start(t, 1, clustertest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cl, err := client.New(c.Endpoints())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	qc := bookdv1connect.NewQueueServiceClient(http.DefaultClient, "http://"+c.WaitReady().RPCAddr)
	if _, err := qc.CreateQueue(ctx, &bookdv1.CreateQueueRequest{Queue: &bookdv1.Queue{Name: "payments", Kinds: Kinds,
		Ordering: bookdv1.QueueOrdering_QUEUE_ORDERING_BY_BOOKING, MaxAttempts: 5,
		RetryMin: durationpb.New(100 * time.Millisecond), RetryMax: durationpb.New(time.Second)}}); err != nil {
		t.Fatal(err)
	}
	ev, err := cl.CreateEvent(ctx, &bookdv1.CreateEventRequest{Name: "River cruise", Capacity: 20, Categories: []*bookdv1.Category{
		{Name: "adult", Price: 2500, Currency: "EUR"}, {Name: "child", Price: 1200}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.CreateVoucher(ctx, &bookdv1.CreateVoucherRequest{Voucher: &bookdv1.Voucher{
		Code: "RIVER5", AmountOff: 500, Currency: "EUR", MaxRedemptions: 10}}); err != nil {
		t.Fatal(err)
	}
	w := &Worker{Stripe: NewStripe("sk_test_bookd", stripeAPI.URL, nil)}
	run := &queueRun{t: t, q: qc, queue: "payments", keys: map[string]string{}}
	// Every message is handled twice, as if its first ack were lost: the
	// second must change nothing at Stripe.
	twice := func(ctx context.Context, m *bookdv1.QueueMessage) error {
		if err := w.Handle(ctx, m); err != nil {
			return err
		}
		return w.Handle(ctx, m)
	}

	// Dana orders two adults and a child with the voucher: 6200 at list
	// price, which her intent authorises, 5700 to pay.
	const danaPI = "pi_DanaRiver1"
	dana, err := cl.Hold(ctx, &bookdv1.HoldRequest{CustomerId: "dana", PaymentRef: danaPI, VoucherCode: "RIVER5", Items: []*bookdv1.HoldItem{
		{EventId: ev.GetId(), Category: "adult", Quantity: 2}, {EventId: ev.GetId(), Category: "child", Quantity: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	if dana.GetTotal() != 5700 || dana.GetCurrency() != "EUR" || dana.GetDiscount() != 500 {
		t.Fatalf("Dana's hold: total %d %s, discount %d; want 5700 EUR, 500", dana.GetTotal(), dana.GetCurrency(), dana.GetDiscount())
	}
	stripeAPI.IntentOf(danaPI, "requires_capture", dana.GetId(), 6200, "eur")
	bk, err := cl.Confirm(ctx, &bookdv1.ConfirmRequest{HoldId: dana.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	capturePath := "/v1/payment_intents/" + danaPI + "/capture"
	run.until(ctx, twice, func() bool { return len(stripeAPI.Posts(capturePath)) > 0 && run.stats(ctx).GetDepth() == 0 })
	key := run.key(KindConfirmed, dana.GetId())
	for _, c := range stripeAPI.Posts(capturePath) {
		if c.IdempotencyKey != "bookd:"+key+":capture" || c.Form.Get("amount_to_capture") != "5700" {
			t.Errorf("capture %+v, want amount_to_capture 5700 with Idempotency-Key bookd:%s:capture", c, key)
		}
	}

	// Dana cancels the child's ticket: its price less its share of the
	// discount is refunded, once, though the message was handled twice.
	stripeAPI.IntentOf(danaPI, "succeeded", dana.GetId(), 6200, "eur")
	part, err := cl.CancelBooking(ctx, &bookdv1.CancelBookingRequest{BookingId: bk.GetId(), Items: []int32{1}})
	if err != nil {
		t.Fatal(err)
	}
	child := part.GetItems()[1]
	childRefund := child.GetAmount() - child.GetDiscount()
	if part.GetRefunded() != childRefund || childRefund <= 0 || childRefund >= 1200 {
		t.Fatalf("partial cancellation refunded %d, want the child's 1200 less its share of the discount (%d)", part.GetRefunded(), childRefund)
	}
	run.until(ctx, twice, func() bool { return len(stripeAPI.Posts("/v1/refunds")) > 0 && run.stats(ctx).GetDepth() == 0 })
	partKey := run.key(KindItemsCancelled, dana.GetId())
	partRefunds := stripeAPI.Posts("/v1/refunds")
	for _, c := range partRefunds {
		if c.IdempotencyKey != "bookd:"+partKey+":refund" || c.Form.Get("payment_intent") != danaPI || c.Form.Get("amount") != strconv.FormatInt(childRefund, 10) {
			t.Errorf("refund %+v, want %d of %s with Idempotency-Key bookd:%s:refund", c, childRefund, danaPI, partKey)
		}
	}
	if stripeAPI.Name == "recorded fake" {
		if got := stripeAPI.Refunded(danaPI); len(got) != 1 || got[0] != childRefund {
			t.Errorf("Stripe made refunds %v, want one of %d", got, childRefund)
		}
	}

	// Dana cancels the rest: what is left is refunded, under the new
	// change's key, and the two refunds add up to what she paid.
	rest, err := cl.CancelBooking(ctx, &bookdv1.CancelBookingRequest{BookingId: bk.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	restRefund := rest.GetRefunded() - childRefund
	if childRefund+restRefund != 5700 {
		t.Fatalf("refunds %d + %d, want the 5700 paid", childRefund, restRefund)
	}
	run.until(ctx, twice, func() bool {
		return len(stripeAPI.Posts("/v1/refunds")) > len(partRefunds) && run.stats(ctx).GetDepth() == 0
	})
	restKey := run.key(KindCancelled, dana.GetId())
	if restKey == partKey {
		t.Fatalf("the partial and the full cancellation share the message key %s", restKey)
	}
	for _, c := range stripeAPI.Posts("/v1/refunds")[len(partRefunds):] {
		if c.IdempotencyKey != "bookd:"+restKey+":refund" || c.Form.Get("amount") != strconv.FormatInt(restRefund, 10) {
			t.Errorf("refund %+v, want %d with Idempotency-Key bookd:%s:refund", c, restRefund, restKey)
		}
	}
	if stripeAPI.Name == "recorded fake" {
		if got := stripeAPI.Refunded(danaPI); len(got) != 2 || got[0] != childRefund || got[1] != restRefund {
			t.Errorf("Stripe made refunds %v, want %d then %d", got, childRefund, restRefund)
		}
	}

	// Erin's intent is in dollars, Frank's authorises less than his
	// total: neither is captured, and each message is dead-lettered with
	// the reason.
	for i, tc := range []struct {
		customer, pi   string
		amount         int64
		currency, want string
	}{
		{"erin", "pi_ErinRiver1", 2500, "usd", "it is in USD, but booking"},
		{"frank", "pi_FrankRiver1", 2000, "eur", "authorises 2000, less than booking"},
	} {
		h, err := cl.Hold(ctx, &bookdv1.HoldRequest{EventId: ev.GetId(), Category: "adult", Quantity: 1, CustomerId: tc.customer, PaymentRef: tc.pi})
		if err != nil {
			t.Fatal(err)
		}
		stripeAPI.IntentOf(tc.pi, "requires_capture", h.GetId(), tc.amount, tc.currency)
		b, err := cl.Confirm(ctx, &bookdv1.ConfirmRequest{HoldId: h.GetId()})
		if err != nil {
			t.Fatal(err)
		}
		run.until(ctx, twice, func() bool { return run.stats(ctx).GetDeadLetters() == int64(i+1) })
		if n := len(stripeAPI.Posts("/v1/payment_intents/" + tc.pi + "/capture")); n != 0 {
			t.Errorf("%s's intent was captured %d times, want never", tc.customer, n)
		}
		dead, err := qc.ListDeadLetters(ctx, &bookdv1.ListDeadLettersRequest{Queue: "payments"})
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, m := range dead.GetMessages() {
			if m.GetChange().GetBookingId() == b.GetId() {
				found = strings.Contains(m.GetLastError(), tc.want) && strings.Contains(m.GetLastError(), "EUR")
				if !found {
					t.Errorf("%s's message was dead-lettered with %q, want it to say %q", tc.customer, m.GetLastError(), tc.want)
				}
			}
		}
		if !found && !t.Failed() {
			t.Errorf("%s's booking %s is not among the dead letters %v", tc.customer, b.GetId(), dead.GetMessages())
		}
	}
	t.Logf("ran against %s: %d requests", stripeAPI.Name, len(stripeAPI.Calls()))
}
