package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/bookd/bookd/client"
	"github.com/bookd/bookd/cmd/bookd/payments"
	"github.com/bookd/bookd/cmd/bookd/receipts"
	"github.com/bookd/bookd/cmd/bookd/workerr"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
)

func newWorkerCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Run a reference worker on a queue: receipts (e-mail over SMTP) or payments (Stripe)",
		Long: `bookd worker runs one of two reference workers on a work queue (bookd
queues create): receipts e-mails a receipt for every confirmed and cancelled
booking; payments captures, cancels and refunds the Stripe PaymentIntents
that holds and bookings name. Each runs until interrupted; OPERATIONS.md
("Receipts and payments workers") says how to run them.`,
	}
	cmd.AddCommand(newWorkerReceiptsCmd(g), newWorkerPaymentsCmd(g))
	return cmd
}

// workerFlags are the flags both workers share.
type workerFlags struct {
	queue               string
	concurrency         int
	visibility          time.Duration
	logLevel, logFormat string
}

func (o *workerFlags) register(f *pflag.FlagSet, queue string) {
	f.StringVar(&o.queue, "queue", queue, "the queue to work on")
	f.IntVar(&o.concurrency, "concurrency", 4, "messages handled at once")
	f.DurationVar(&o.visibility, "visibility", 30*time.Second, "lease of a delivery, extended while its handler runs (1s to 12h)")
	f.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	f.StringVar(&o.logFormat, "log-format", "text", "text or json")
}

// check checks the shared flags and returns the logger they ask for.
func (o *workerFlags) check() (*slog.Logger, error) {
	if o.concurrency < 1 {
		return nil, usagef("--concurrency must be at least 1")
	}
	if o.visibility < time.Second || o.visibility > 12*time.Hour {
		return nil, usagef("--visibility must be between 1s and 12h")
	}
	return newLogger(o.logLevel, o.logFormat)
}

// consume runs handle on the queue until SIGINT or SIGTERM, or until the
// handler calls stop with a fault of the worker's own, which it returns.
// A workerr.Permanent error dead-letters the message (client.GiveUp).
func (o *workerFlags) consume(cmd *cobra.Command, c *client.Client, logger *slog.Logger,
	handle func(context.Context, *bookdv1.QueueMessage) error, stop *func(error)) error {
	ctx, cancelSignals := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
	defer cancelSignals()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	*stop = func(err error) {
		logger.Error("worker: stopping: an operator must fix this", "err", err)
		cancel(err)
	}
	logger.Info("worker: consuming", "queue", o.queue, "concurrency", o.concurrency)
	err := c.Consume(ctx, o.queue, func(ctx context.Context, m *bookdv1.QueueMessage) error {
		err := handle(ctx, m)
		if workerr.IsPermanent(err) {
			return client.GiveUp(err)
		}
		return err
	}, client.ConsumeOptions{Concurrency: o.concurrency, Visibility: o.visibility})
	if err != nil {
		return err
	}
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return cause
	}
	return nil
}

// readSecret reads a secret from a file: its first line, trimmed.
func readSecret(flag, path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", usagef("%s: %v", flag, err)
	}
	s, _, _ := strings.Cut(string(data), "\n")
	if s = strings.TrimSpace(s); s == "" {
		return "", usagef("%s: %s is empty", flag, path)
	}
	return s, nil
}

func newWorkerReceiptsCmd(g *globals) *cobra.Command {
	var o workerFlags
	var smtpAddr, from, journal, user, passwordFile, caFile string
	cmd := &cobra.Command{
		Use:   "receipts --smtp-addr HOST:PORT [--queue receipts] [--smtp-from ADDR] [--journal FILE] [--concurrency N]",
		Short: "E-mail a receipt for every confirmed and cancelled booking of a queue",
		Long: `bookd worker receipts takes the booking_confirmed, booking_cancelled and
booking_items_cancelled messages of --queue, reads each booking and its
events, and e-mails a receipt (an order's items, prices, discount and total;
for a cancellation, the refund)
(text and HTML) to the booking's contact_email through the SMTP server at
--smtp-addr, over STARTTLS whenever the server offers it. A booking without
contact_email is acked without a receipt.

Exactly once as far as SMTP allows: the key of every message whose receipt
the server accepted is appended to --journal (and fsynced) before the ack,
and a message whose key is there is acked without sending. A receipt is
still sent twice if the worker is killed between the server's acceptance
and the fsync, or if the connection breaks before the server's answer
arrives; both copies carry the same Message-ID (made from the message key),
so a mailbox that de-duplicates by Message-ID shows one. A 5xx from the
server dead-letters the message; a 4xx or a lost connection tries it again.

With --smtp-user the worker logs in (AUTH PLAIN), only over TLS: it stops
rather than send the password to a server that offers no STARTTLS.`,
		Example: `  bookd queues create receipts --kinds booking_confirmed,booking_cancelled,booking_items_cancelled
  bookd mailbox --listen 127.0.0.1:2525 &
  bookd worker receipts --smtp-addr 127.0.0.1:2525 --smtp-from tickets@example.com`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			logger, err := o.check()
			if err != nil {
				return err
			}
			if smtpAddr == "" {
				return usagef("--smtp-addr is required")
			}
			if err := receipts.CheckAddress(from); err != nil {
				return usagef("--smtp-from: %v", err)
			}
			sender := &receipts.Sender{Addr: smtpAddr, Username: user}
			if user != "" {
				if passwordFile == "" {
					return usagef("--smtp-user needs --smtp-password-file")
				}
				if sender.Password, err = readSecret("--smtp-password-file", passwordFile); err != nil {
					return err
				}
			}
			if caFile != "" {
				pem, err := os.ReadFile(caFile)
				if err != nil {
					return usagef("--smtp-ca-file: %v", err)
				}
				pool := x509.NewCertPool()
				if !pool.AppendCertsFromPEM(pem) {
					return usagef("--smtp-ca-file: no PEM certificate in %s", caFile)
				}
				sender.TLS = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
			}
			if journal == "" {
				journal = "bookd-" + o.queue + ".journal"
			}
			j, err := receipts.OpenJournal(journal)
			if err != nil {
				return err
			}
			defer j.Close()
			c, err := g.newClient(client.WithLogger(logger))
			if err != nil {
				return err
			}
			defer c.Close()
			w := &receipts.Worker{Bookings: c, Sender: sender, Journal: j, From: from, Logger: logger}
			logger.Info("receipts: journal", "file", journal, "keys", j.Len(), "smtp", smtpAddr)
			return o.consume(cmd, c, logger, w.Handle, &w.Stop)
		},
	}
	f := cmd.Flags()
	o.register(f, "receipts")
	f.StringVar(&smtpAddr, "smtp-addr", "", "the SMTP server (relay or submission) as HOST:PORT")
	f.StringVar(&from, "smtp-from", "bookd@localhost", "the receipts' sender address")
	f.StringVar(&journal, "journal", "", "file of delivered message keys (default bookd-QUEUE.journal in the working directory)")
	f.StringVar(&user, "smtp-user", "", "log in to the SMTP server as this user (only over TLS)")
	f.StringVar(&passwordFile, "smtp-password-file", "", "file holding the SMTP password")
	f.StringVar(&caFile, "smtp-ca-file", "", "CA certificate (PEM) to trust for the SMTP server's STARTTLS (default: the system's)")
	return cmd
}

func newWorkerPaymentsCmd(g *globals) *cobra.Command {
	var o workerFlags
	var keyFile, stripeURL string
	cmd := &cobra.Command{
		Use:   "payments --stripe-key-file FILE [--queue payments] [--stripe-url URL] [--concurrency N]",
		Short: "Capture, cancel and refund the Stripe PaymentIntents of a queue's holds and bookings",
		Long: `bookd worker payments takes the messages of --queue and settles the Stripe
PaymentIntent named in each change's payment_ref: booking_confirmed captures
it (a priced booking's total, the rest of the authorisation released),
hold_expired and hold_released cancel it, booking_items_cancelled refunds
the cancelled items' share, booking_cancelled refunds the rest (or cancels
the intent if it was never captured). Create the queue with those five
kinds, ordered by booking, so a booking's capture comes before its refunds.

payment_ref is chosen by whoever places the hold, a shopper on the public
edge included, so it is never trusted: the worker retrieves the intent and
acts only when its metadata bookd_hold_id names the change's hold. The
portal must set that metadata when it creates the intent. Any other intent
is left alone and the message dead-lettered with the reason. Every capture,
cancel and refund carries an Idempotency-Key made from the message key, so
a message delivered again never settles twice.`,
		Example: `  bookd queues create payments --kinds booking_confirmed,hold_expired,hold_released,booking_cancelled,booking_items_cancelled --ordered-by booking
  bookd worker payments --stripe-key-file /etc/bookd/stripe.key`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			logger, err := o.check()
			if err != nil {
				return err
			}
			if keyFile == "" {
				return usagef("--stripe-key-file is required")
			}
			key, err := readSecret("--stripe-key-file", keyFile)
			if err != nil {
				return err
			}
			c, err := g.newClient(client.WithLogger(logger))
			if err != nil {
				return err
			}
			defer c.Close()
			w := &payments.Worker{Stripe: payments.NewStripe(key, stripeURL, nil), Logger: logger}
			if stripeURL != "" {
				logger.Info("payments: Stripe API at " + stripeURL)
			}
			return o.consume(cmd, c, logger, w.Handle, &w.Stop)
		},
	}
	f := cmd.Flags()
	o.register(f, "payments")
	f.StringVar(&keyFile, "stripe-key-file", "", "file holding the Stripe secret key (sk_...)")
	f.StringVar(&stripeURL, "stripe-url", "", "the Stripe API's address, for stripe-mock or a proxy (default Stripe's)")
	return cmd
}
