package payments

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/stripe/stripe-go/v82"

	"github.com/bookd/bookd/cmd/bookd/workerr"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
)

// settle does what the change ch asks of pi given its status, and says
// what it did. key is the queue message's key: every call that changes
// something at Stripe carries an Idempotency-Key made from it.
func (w *Worker) settle(ctx context.Context, ch *bookdv1.Change, key string, pi *stripe.PaymentIntent) (string, error) {
	s := &settlement{w: w, ctx: ctx, ch: ch, key: key, pi: pi}
	switch kind, st := ch.GetKind(), pi.Status; {
	case st == stripe.PaymentIntentStatusProcessing:
		return "", fmt.Errorf("payments: PaymentIntent %s is still processing; trying again later", pi.ID)
	case kind == KindConfirmed:
		return s.capture()
	case kind == KindExpired || kind == KindReleased:
		switch st {
		case stripe.PaymentIntentStatusCanceled:
			return "already cancelled", nil
		case stripe.PaymentIntentStatusSucceeded:
			return "", workerr.Permanent(fmt.Errorf("payments: PaymentIntent %s was captured, but its hold ended without a booking: refund it by hand", pi.ID))
		}
		return s.cancel()
	case kind == KindItemsCancelled:
		return s.refundItems()
	default: // KindCancelled
		return s.refundRest()
	}
}

// settlement is one change's work on one intent.
type settlement struct {
	w   *Worker
	ctx context.Context
	ch  *bookdv1.Change
	key string
	pi  *stripe.PaymentIntent
}

func (s *settlement) params(action string) stripe.Params {
	return stripe.Params{Context: s.ctx, IdempotencyKey: stripe.String("bookd:" + s.key + ":" + action)}
}

// priced reports whether the change states amounts in a currency (an
// order of ticket categories); a booking without one has no price bookd
// knows.
func (s *settlement) priced() bool { return s.ch.GetCurrency() != "" }

// sameCurrency refuses an intent in another currency than the booking's:
// an amount in one currency's minor units means nothing in another's.
// Stripe writes currencies in lower case, bookd in ISO 4217 capitals.
func (s *settlement) sameCurrency(what string) error {
	if !strings.EqualFold(string(s.pi.Currency), s.ch.GetCurrency()) {
		return workerr.Permanent(fmt.Errorf("payments: cannot %s PaymentIntent %s: it is in %s, but booking %s is in %s: left untouched",
			what, s.pi.ID, strings.ToUpper(string(s.pi.Currency)), s.ch.GetBookingId(), s.ch.GetCurrency()))
	}
	return nil
}

// capture captures the intent of a confirmed booking: exactly the
// booking's total when it is priced (after checking that the intent
// covers it), else the whole authorisation.
func (s *settlement) capture() (string, error) {
	total := s.ch.GetTotal()
	if s.priced() {
		if err := s.sameCurrency("capture"); err != nil {
			return "", err
		}
		if s.pi.Amount < total {
			return "", workerr.Permanent(fmt.Errorf("payments: cannot capture PaymentIntent %s: it authorises %d, less than booking %s's total of %d %s (minor units): left untouched",
				s.pi.ID, s.pi.Amount, s.ch.GetBookingId(), total, s.ch.GetCurrency()))
		}
	}
	switch s.pi.Status {
	case stripe.PaymentIntentStatusRequiresCapture:
		params := &stripe.PaymentIntentCaptureParams{Params: s.params("capture")}
		if s.priced() {
			if total == 0 {
				done, err := s.cancel()
				return done + " (the booking costs nothing)", err
			}
			params.AmountToCapture = stripe.Int64(total)
		}
		if _, err := s.w.Stripe.V1PaymentIntents.Capture(s.ctx, s.pi.ID, params); err != nil {
			return "", s.w.stripeError("capture "+s.pi.ID, err)
		}
		if s.priced() {
			return fmt.Sprintf("captured %d %s", total, s.ch.GetCurrency()), nil
		}
		return "captured", nil
	case stripe.PaymentIntentStatusSucceeded:
		if s.priced() && s.pi.AmountReceived > total {
			// Captured by someone else (an intent that captures on
			// confirmation): more than the booking costs was taken.
			return fmt.Sprintf("already captured, %d, more than the total of %d %s: refund the difference by hand",
				s.pi.AmountReceived, total, s.ch.GetCurrency()), nil
		}
		return "already captured", nil
	}
	return "", workerr.Permanent(fmt.Errorf("payments: PaymentIntent %s is %s: there is no authorisation to capture", s.pi.ID, s.pi.Status))
}

// refundItems refunds what a partial cancellation gives back (never 0:
// Handle acks those without asking Stripe).
func (s *settlement) refundItems() (string, error) {
	if err := s.sameCurrency("refund"); err != nil {
		return "", err
	}
	switch s.pi.Status {
	case stripe.PaymentIntentStatusSucceeded:
		return s.refund(stripe.Int64(s.ch.GetRefund()))
	case stripe.PaymentIntentStatusCanceled:
		return "already cancelled: nothing was paid to refund", nil
	}
	return "", workerr.Permanent(fmt.Errorf("payments: cannot refund %d %s of PaymentIntent %s for the cancelled items of booking %s: it is %s, not captured; settle it by hand",
		s.ch.GetRefund(), s.ch.GetCurrency(), s.pi.ID, s.ch.GetBookingId(), s.pi.Status))
}

// refundRest settles a cancelled booking: a captured intent is refunded,
// by the change's refund when the booking is priced (what its items not
// cancelled before give back), else by whatever Stripe has not refunded
// yet; an intent never captured is cancelled.
func (s *settlement) refundRest() (string, error) {
	switch s.pi.Status {
	case stripe.PaymentIntentStatusSucceeded:
		if !s.priced() {
			return s.refund(nil)
		}
		if err := s.sameCurrency("refund"); err != nil {
			return "", err
		}
		if s.ch.GetRefund() == 0 {
			return "nothing left to refund", nil
		}
		return s.refund(stripe.Int64(s.ch.GetRefund()))
	case stripe.PaymentIntentStatusCanceled:
		return "already cancelled", nil
	}
	return s.cancel() // never captured: release the authorisation
}

// refund refunds amount of the intent, or (nil) all Stripe has not
// refunded yet.
func (s *settlement) refund(amount *int64) (string, error) {
	_, err := s.w.Stripe.V1Refunds.Create(s.ctx, &stripe.RefundCreateParams{Params: s.params("refund"),
		PaymentIntent: stripe.String(s.pi.ID), Amount: amount})
	var se *stripe.Error
	if errors.As(err, &se) && se.Code == stripe.ErrorCodeChargeAlreadyRefunded {
		return "already refunded", nil
	}
	if err != nil {
		return "", s.w.stripeError("refund "+s.pi.ID, err)
	}
	if amount != nil {
		return fmt.Sprintf("refunded %d %s", *amount, s.ch.GetCurrency()), nil
	}
	return "refunded", nil
}

// cancel releases the intent's authorisation.
func (s *settlement) cancel() (string, error) {
	_, err := s.w.Stripe.V1PaymentIntents.Cancel(s.ctx, s.pi.ID, &stripe.PaymentIntentCancelParams{
		Params: s.params("cancel"), CancellationReason: stripe.String(string(stripe.PaymentIntentCancellationReasonAbandoned))})
	if err != nil {
		return "", s.w.stripeError("cancel "+s.pi.ID, err)
	}
	return "cancelled", nil
}
