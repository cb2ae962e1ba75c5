// Package payments is the payments worker of `bookd worker payments`: it
// settles the Stripe PaymentIntent a hold or booking names in payment_ref,
// as a portal would. booking_confirmed captures it; hold_expired and
// hold_released cancel it (the authorisation is released); booking_cancelled
// refunds it (or cancels it, if it was never captured);
// booking_items_cancelled refunds part of it.
//
// A priced booking (one whose change has a currency: an order of ticket
// categories) settles its own amounts, in the currency's minor units as
// bookd and Stripe both count them. The intent must be in the booking's
// currency and authorise at least its total, else the capture is refused
// for good (dead-lettered with the reason); the worker captures exactly
// the total, so an intent authorised at the list price pays the price
// after a voucher's discount, and the rest of the authorisation is
// released. A partial cancellation refunds its items' amount less their
// share of the discount (the change's refund), and the cancellation of
// what is left refunds exactly what is left. A booking without a price
// (no currency) is settled as before prices existed: the whole
// authorisation is captured, and its cancellation refunds whatever Stripe
// has not refunded yet; its partial cancellations carry no amount, so they
// refund nothing (whoever set the price settles them).
//
// payment_ref is not to be trusted: whoever places a hold chooses it, and
// the public edge lets a shopper set it, so a shopper could name someone
// else's PaymentIntent and have it captured, cancelled or refunded. The
// worker therefore retrieves the PaymentIntent first and acts only when its
// metadata names the change's hold, metadata["bookd_hold_id"] == hold_id;
// the portal must set that key when it creates the intent (after the hold,
// or by updating the intent before it confirms). Any other intent, or a
// payment_ref that is not a PaymentIntent id, is refused for good: the
// message is dead-lettered with the reason, and nothing is changed at
// Stripe. A booking made by Book (no hold) has no hold id to match and is
// refused the same way; back ends that Book directly settle their own
// payments.
//
// Every call that changes something at Stripe carries an Idempotency-Key
// made from the queue message's key and the action, so a message delivered
// again (a lost ack, a lapsed lease, a killed worker) never captures,
// cancels or refunds twice: Stripe answers a repeated key with the first
// answer. The message key carries the change's cursor, so two partial
// cancellations of one booking are two refunds, and a second delivery of
// either is none. (Stripe keeps keys for at least 24 hours: a message
// redriven from the dead letters after that is protected by the status
// check instead: an intent already captured is not captured again, one
// already cancelled is not cancelled again; a refund is not, so redrive
// refunds with care.)
package payments

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/stripe/stripe-go/v82"

	"github.com/bookd/bookd/cmd/bookd/workerr"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
)

// MetadataHoldID is the PaymentIntent metadata key that must name the
// hold the intent pays for.
const MetadataHoldID = "bookd_hold_id"

// The change kinds the worker acts on.
const (
	KindConfirmed = "booking_confirmed"
	KindCancelled = "booking_cancelled"
	KindExpired   = "hold_expired"
	KindReleased  = "hold_released"
	// KindItemsCancelled is the cancellation of some items of a booking:
	// the change's items are the cancelled ones, its refund what they
	// give back.
	KindItemsCancelled = "booking_items_cancelled"
)

// Kinds are the change kinds a payments queue should take.
var Kinds = []string{KindConfirmed, KindExpired, KindReleased, KindCancelled, KindItemsCancelled}

// isIntentID reports whether ref looks like a PaymentIntent id: "pi_" and
// 1-250 ASCII letters or digits. Anything else is never put in a Stripe
// URL. (A regexp with {1,250} compiled to a 250-state program at every
// process start: about 4 ms of the ~20 ms a bookd start spends in package
// init on an idle core, GODEBUG=inittrace=1.)
func isIntentID(ref string) bool {
	body, ok := strings.CutPrefix(ref, "pi_")
	if !ok || len(body) < 1 || len(body) > 250 {
		return false
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// NewStripe is a Stripe client for key; url, when set, replaces Stripe's
// API address (stripe-mock, a recorded fake, a proxy).
func NewStripe(key, url string, hc *http.Client) *stripe.Client {
	cfg := &stripe.BackendConfig{
		HTTPClient:        hc,
		MaxNetworkRetries: stripe.Int64(1), // the queue retries too
		LeveledLogger:     &stripe.LeveledLogger{Level: stripe.LevelNull},
	}
	if url != "" {
		cfg.URL = stripe.String(url)
	}
	return stripe.NewClient(key, stripe.WithBackends(stripe.NewBackendsWithConfig(cfg)))
}

// Worker handles payments messages.
type Worker struct {
	Stripe *stripe.Client
	Logger *slog.Logger
	// Stop, when set, is called when Stripe refuses the worker itself
	// (a wrong or revoked key): the caller should stop consuming.
	Stop func(error)
}

// Handle handles one message: nil when the payment is settled or needs
// nothing (no payment_ref, another kind of change); an error to try again
// later; a workerr.Permanent error when no retry can settle it (the
// intent is not this hold's, Stripe refused the request).
func (w *Worker) Handle(ctx context.Context, m *bookdv1.QueueMessage) error {
	ch := m.GetChange()
	log := w.logger().With("queue", m.GetQueue(), "message", m.GetId(), "key", m.GetKey(), "attempt", m.GetAttempts(),
		"kind", ch.GetKind(), "hold", ch.GetHoldId(), "booking", ch.GetBookingId(), "payment_ref", ch.GetPaymentRef(),
		"currency", ch.GetCurrency(), "total", ch.GetTotal(), "refund", ch.GetRefund())
	switch ch.GetKind() {
	case KindConfirmed, KindCancelled, KindExpired, KindReleased, KindItemsCancelled:
	default:
		log.Info("payments: nothing to do for this kind of change; acked")
		return nil
	}
	ref := ch.GetPaymentRef()
	if ref == "" {
		log.Info("payments: no payment_ref; acked")
		return nil
	}
	if ch.GetKind() == KindItemsCancelled && ch.GetRefund() == 0 {
		log.Info("payments: the cancelled items give nothing back; acked", "currency", ch.GetCurrency())
		return nil
	}
	subject := "hold " + ch.GetHoldId()
	if ch.GetBookingId() != "" {
		subject = "booking " + ch.GetBookingId()
	}
	if !isIntentID(ref) {
		return workerr.Permanent(fmt.Errorf("payments: %s: payment_ref %q is not a PaymentIntent id (pi_...)", subject, ref))
	}
	if ch.GetHoldId() == "" {
		return workerr.Permanent(fmt.Errorf("payments: %s was booked without a hold, so PaymentIntent %s cannot be matched to it (metadata %s); settle it by hand", subject, ref, MetadataHoldID))
	}
	pi, err := w.Stripe.V1PaymentIntents.Retrieve(ctx, ref, &stripe.PaymentIntentRetrieveParams{Params: stripe.Params{Context: ctx}})
	if err != nil {
		return w.stripeError("retrieve "+ref, err)
	}
	if owner := pi.Metadata[MetadataHoldID]; owner != ch.GetHoldId() {
		return workerr.Permanent(fmt.Errorf("payments: %s names PaymentIntent %s, whose metadata %s is %q, not %s: left untouched",
			subject, ref, MetadataHoldID, owner, ch.GetHoldId()))
	}
	done, err := w.settle(ctx, ch, m.GetKey(), pi)
	if err != nil {
		return err
	}
	log.Info("payments: "+done, "status", pi.Status)
	return nil
}

// stripeError sorts Stripe's answers: a refused request (4xx) is
// Permanent, but for a wrong key (401, 403: the worker stops), a busy
// idempotency key or a rate limit (409, 429: tried again); a 5xx or a
// network failure is tried again.
func (w *Worker) stripeError(what string, err error) error {
	var se *stripe.Error
	if !errors.As(err, &se) {
		return fmt.Errorf("payments: %s: %w", what, err)
	}
	err = fmt.Errorf("payments: %s: Stripe answered %d %s: %s (request %s)", what, se.HTTPStatusCode, se.Code, se.Msg, se.RequestID)
	switch c := se.HTTPStatusCode; {
	case c == http.StatusUnauthorized || c == http.StatusForbidden:
		err = workerr.Fatal(err)
		if w.Stop != nil {
			w.Stop(err)
		}
		return err
	case c == http.StatusConflict || c == http.StatusTooManyRequests || c >= 500:
		return err
	case c >= 400:
		return workerr.Permanent(err)
	}
	return err
}

func (w *Worker) logger() *slog.Logger {
	if w.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return w.Logger
}
