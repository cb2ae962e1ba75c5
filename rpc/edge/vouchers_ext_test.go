package edge_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/bookd/bookd/client"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/bookd/bookd/proto/bookd/v1/bookdv1connect"
	"github.com/bookd/bookd/rpc/clustertest"
	"github.com/bookd/bookd/rpc/edge"
)

// createVouchers makes vouchers on the cluster.
func createVouchers(t *testing.T, cl *client.Client, vs ...*bookdv1.Voucher) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, v := range vs {
		if _, err := cl.CreateVoucher(ctx, &bookdv1.CreateVoucherRequest{Voucher: v}); err != nil {
			t.Fatalf("create voucher %s: %v", v.GetCode(), err)
		}
	}
}

// answer is all a caller is told by a refusal.
func answer(err error) string {
	var ce *connect.Error
	if !errors.As(err, &ce) {
		return fmt.Sprint("not a Connect error: ", err)
	}
	return fmt.Sprintf("code=%v message=%q reason=%q metadata=%v fields=%v retry=%v details=%d",
		ce.Code(), ce.Message(), client.Reason(err), client.ErrorMetadata(err), client.FieldViolations(err),
		client.RetryAfter(err), len(ce.Details()))
}

// TestStrangerTryingVoucherCodesLearnsNothing plays a stranger who types
// codes into an order at the edge: an unknown code, one used up, one not
// valid yet, one for another event and one in another currency are all
// answered alike, for a shopper, naming voucher_code and nothing of the
// voucher; none is redeemed. A good code works, and whoever holds the
// hold's secret sees the discount but not the code.
func TestStrangerTryingVoucherCodesLearnsNothing(t *testing.T) {
	c := clustertest.Start(t, 1, clustertest.Options{})
	c.WaitReady()
	cl := newClient(t, c.Endpoints())
	tour := createEvent(t, cl, pricedTour("Voucher tour")).GetId()
	other := createEvent(t, cl, &bookdv1.CreateEventRequest{Name: "Other", Capacity: 5}).GetId()
	createVouchers(t, cl,
		&bookdv1.Voucher{Code: "SPRING-25", PercentOff: 25, MaxRedemptions: 100},
		&bookdv1.Voucher{Code: "ONCE-ONLY", AmountOff: 500, Currency: "EUR", MaxRedemptions: 1},
		&bookdv1.Voucher{Code: "NEXT-YEAR", PercentOff: 10, MaxRedemptions: 100, ValidFrom: timestamppb.New(time.Now().Add(365 * 24 * time.Hour))},
		&bookdv1.Voucher{Code: "OTHER-EVENT", PercentOff: 10, MaxRedemptions: 100, EventIds: []string{other}},
		&bookdv1.Voucher{Code: "DOLLARS", AmountOff: 500, Currency: "USD", MaxRedemptions: 100},
	)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := cl.Hold(ctx, &bookdv1.HoldRequest{CustomerId: "insider", VoucherCode: "ONCE-ONLY",
		Items: []*bookdv1.HoldItem{{EventId: tour, Category: "adult", Quantity: 1}}}); err != nil {
		t.Fatal(err)
	}
	run, _ := startEdge(t, c, edge.Config{})
	stranger := edgeClient(run)
	try := func(code string) (*bookdv1.Hold, error) {
		res, err := stranger.Hold(ctx, &bookdv1.HoldRequest{VoucherCode: code,
			Items: []*bookdv1.HoldItem{{EventId: tour, Category: "adult", Quantity: 1}}})
		return res.GetHold(), err
	}

	_, want := try("NO-SUCH-CODE")
	if connect.CodeOf(want) != connect.CodeFailedPrecondition || client.Reason(want) != client.ReasonVoucherNotValid {
		t.Fatalf("an unknown code: %v (reason %q), want FAILED_PRECONDITION %s", want, client.Reason(want), client.ReasonVoucherNotValid)
	}
	if ce := new(connect.Error); !errors.As(want, &ce) || ce.Message() != "voucher_code: This code can't be used for this order." {
		t.Errorf("an unknown code says %q, want the shopper's words naming voucher_code", want)
	}
	if fv := client.FieldViolations(want); len(fv) != 1 || fv[0].Field != "voucher_code" {
		t.Errorf("an unknown code's field violations: %v, want voucher_code", fv)
	}
	if info := detail[*errdetails.ErrorInfo](want); info.GetReason() != client.ReasonVoucherNotValid || len(info.GetMetadata()) != 0 {
		t.Errorf("an unknown code's ErrorInfo: %v, want VOUCHER_NOT_VALID and no metadata", info)
	}
	for _, code := range []string{"ONCE-ONLY", "NEXT-YEAR", "OTHER-EVENT", "DOLLARS"} {
		if _, err := try(code); answer(err) != answer(want) {
			t.Errorf("code %s, which exists: %s\nwant as for an unknown code: %s", code, answer(err), answer(want))
		}
	}
	for code, redeemed := range map[string]int64{"ONCE-ONLY": 1, "NEXT-YEAR": 0, "OTHER-EVENT": 0, "DOLLARS": 0} {
		if v, err := cl.GetVoucher(ctx, code); err != nil || v.GetRedeemed() != redeemed {
			t.Errorf("voucher %s after the stranger: %v, %v; want %d redemptions", code, v, err, redeemed)
		}
	}

	h, err := try("SPRING-25")
	if err != nil {
		t.Fatalf("a good code: %v", err)
	}
	// The insider took the first early-bird ticket, the refusals none.
	if h.GetDiscount() != 375 || h.GetTotal() != 1125 || h.GetVoucherCode() != "SPRING-25" {
		t.Fatalf("hold with 25%% off the second early-bird ticket (1500): %v, want 375 off, 1125 total, the code shown to its owner", h)
	}
	seen, err := edgeClient(run).GetHold(ctx, &bookdv1.GetHoldRequest{HoldId: h.GetId(), ClientSecret: h.GetClientSecret()})
	if err != nil {
		t.Fatal(err)
	}
	if v := seen.GetHold(); v.GetVoucherCode() != "" || v.GetDiscount() != 375 {
		t.Errorf("the hold as its secret's holder sees it: %v, want the discount and no code", v)
	}
}

// TestVoucherGuessingIsLimited: a client that had VoucherRefusals codes
// refused is refused further codes for a while (RESOURCE_EXHAUSTED, with
// when to retry), even with a fresh session; it still holds without a
// code, other clients still use codes, and good codes never count.
func TestVoucherGuessingIsLimited(t *testing.T) {
	c := clustertest.Start(t, 1, clustertest.Options{})
	c.WaitReady()
	cl := newClient(t, c.Endpoints())
	tour := createEvent(t, cl, pricedTour("Guessed tour")).GetId()
	createVouchers(t, cl, &bookdv1.Voucher{Code: "FRIENDS-10", PercentOff: 10, MaxRedemptions: 100})
	const limit = 3
	run, _ := startEdge(t, c, edge.Config{VoucherRefusals: limit, TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	guesser := forwardedFor(run, "203.0.113.7")
	hold := func(from bookdv1connect.BookingServiceClient, code string) error {
		_, err := from.Hold(ctx, &bookdv1.HoldRequest{VoucherCode: code,
			Items: []*bookdv1.HoldItem{{EventId: tour, Category: "child", Quantity: 1}}})
		return err
	}
	for i := range limit + 1 {
		if err := hold(guesser, "FRIENDS-10"); err != nil {
			t.Fatalf("good code, use %d: %v", i, err)
		}
	}
	for i := range limit {
		if err := hold(guesser, fmt.Sprintf("GUESS-%04d", i)); client.Reason(err) != client.ReasonVoucherNotValid {
			t.Fatalf("guess %d: %v, want %s", i, err, client.ReasonVoucherNotValid)
		}
	}
	for who, from := range map[string]bookdv1connect.BookingServiceClient{
		"the guesser":              guesser,
		"the guesser, new session": forwardedFor(run, "203.0.113.7"),
	} {
		err := hold(from, "FRIENDS-10")
		if connect.CodeOf(err) != connect.CodeResourceExhausted || client.Reason(err) != edge.ReasonVoucherAttempts {
			t.Fatalf("%s, a code after %d refused: %v, want RESOURCE_EXHAUSTED %s", who, limit, err, edge.ReasonVoucherAttempts)
		}
		if ri := detail[*errdetails.RetryInfo](err); ri.GetRetryDelay().AsDuration() <= 0 || ri.GetRetryDelay().AsDuration() > edge.DefaultVoucherWindow {
			t.Errorf("%s refused with RetryInfo %v, want a delay within the window", who, ri)
		}
	}
	if err := hold(guesser, ""); err != nil {
		t.Errorf("the guesser holding without a code: %v", err)
	}
	if err := hold(forwardedFor(run, "198.51.100.9"), "FRIENDS-10"); err != nil {
		t.Errorf("another client with a good code: %v", err)
	}
	if v, err := cl.GetVoucher(ctx, "FRIENDS-10"); err != nil || v.GetRedeemed() != limit+2 {
		t.Errorf("FRIENDS-10 after all that: %v, %v; want %d redemptions (the refused tries never reached the cluster)", v, err, limit+2)
	}
}

// TestVoucherLimitConfigIsChecked: the voucher limit's settings are
// range-checked when the edge is made.
func TestVoucherLimitConfigIsChecked(t *testing.T) {
	cl := newClient(t, []string{"127.0.0.1:1"})
	for _, cfg := range []edge.Config{
		{VoucherRefusals: -1},
		{VoucherRefusals: edge.MaxVoucherRefusals + 1},
		{VoucherWindow: -time.Minute},
		{VoucherWindow: 30 * time.Second},
		{VoucherWindow: 25 * time.Hour},
	} {
		cfg.Cluster = cl
		if _, err := edge.New(cfg, ""); err == nil {
			t.Errorf("edge with %d refusals per %v: made, want refused", cfg.VoucherRefusals, cfg.VoucherWindow)
		}
	}
	if _, err := edge.New(edge.Config{Cluster: cl, VoucherRefusals: edge.MaxVoucherRefusals, VoucherWindow: 24 * time.Hour}, ""); err != nil {
		t.Errorf("edge at the limits' bounds: %v", err)
	}
}
