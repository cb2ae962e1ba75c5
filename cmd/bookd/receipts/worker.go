// Package receipts is the receipts worker of `bookd worker receipts`: for
// each booking_confirmed, booking_cancelled and booking_items_cancelled
// message of a queue it renders a receipt e-mail (text and HTML) and
// delivers it over SMTP to the booking's contact_email. A booking of an
// order lists its items with their prices, the discount and the total; a
// partial cancellation gets a short e-mail of the items cancelled and what
// they give back.
//
// Exactly once, as far as SMTP allows. A queue delivers at least once, so
// the worker keeps a Journal of the message keys whose receipt the SMTP
// server accepted (appended and fsynced after the server's 250, before the
// ack) and acks a message whose key is in it without sending. A receipt is
// still sent twice when the worker dies between the server's 250 and the
// journal's fsync, or when the connection breaks after the server took the
// message but before its 250 arrived; every attempt at one receipt carries
// the same Message-ID (made from the message key), so a mailbox or a
// provider that de-duplicates by Message-ID shows it once.
package receipts

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"

	"connectrpc.com/connect"

	"github.com/bookd/bookd/client"
	"github.com/bookd/bookd/cmd/bookd/workerr"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
)

// The change kinds that get a receipt.
const (
	KindConfirmed = "booking_confirmed"
	KindCancelled = "booking_cancelled"
	// KindItemsCancelled is the cancellation of some items of a booking
	// (the change's items).
	KindItemsCancelled = "booking_items_cancelled"
)

// Kinds are the change kinds a receipts queue should take.
var Kinds = []string{KindConfirmed, KindCancelled, KindItemsCancelled}

// Bookings is what the worker reads from the cluster (a *client.Client).
type Bookings interface {
	GetBooking(ctx context.Context, id string, opts ...client.ReadOption) (*bookdv1.Booking, error)
	GetEvent(ctx context.Context, id string, opts ...client.ReadOption) (*bookdv1.Event, error)
}

// Worker handles receipts messages.
type Worker struct {
	Bookings Bookings
	Sender   *Sender
	// Journal, when set, makes delivery exactly once but for the cases
	// the package comment names; without it a message delivered again
	// sends its receipt again.
	Journal *Journal
	// From is the sender's address (envelope and From header).
	From   string
	Logger *slog.Logger
	// Stop, when set, is called with a fault of the worker's own (SMTP
	// credentials the server would see in clear, a login it refuses, a
	// journal it cannot write): the caller should stop consuming until an
	// operator fixes it, rather than burn every message's attempts.
	Stop func(error)

	mu       sync.Mutex
	inFlight map[string]bool
}

// Handle handles one message: nil when the receipt was delivered, or
// needs none (another kind of change, no contact_email, already in the
// journal); an error to try again later; a Permanent error when no retry
// can deliver it (an SMTP 5xx, a booking that does not exist). A fault of
// the worker's own goes to Stop as well.
func (w *Worker) Handle(ctx context.Context, m *bookdv1.QueueMessage) error {
	log := w.logger().With("queue", m.GetQueue(), "message", m.GetId(), "key", m.GetKey(), "attempt", m.GetAttempts())
	ch := m.GetChange()
	if !slices.Contains(Kinds, ch.GetKind()) {
		log.Info("receipts: not a booking confirmation or cancellation; acked", "kind", ch.GetKind())
		return nil
	}
	key := m.GetKey()
	if w.Journal != nil && w.Journal.Has(key) {
		log.Info("receipts: already delivered (in the journal); acked", "booking", ch.GetBookingId())
		return nil
	}
	// A lease that lapsed while this process still sends the receipt
	// may hand the message to another of its handlers: let one send.
	if !w.claim(key) {
		return fmt.Errorf("receipts: the receipt of %s is being sent by another handler", key)
	}
	defer w.unclaim(key)

	bk, err := w.Bookings.GetBooking(ctx, ch.GetBookingId())
	if err != nil {
		return readError("booking", ch.GetBookingId(), err)
	}
	if bk.GetContactEmail() == "" {
		log.Info("receipts: booking has no contact_email; acked without a receipt", "booking", bk.GetId())
		return nil
	}
	events, err := w.events(ctx, bk, ch.GetItems())
	if err != nil {
		return err
	}
	r := Receipt{Key: key, Kind: ch.GetKind(), Time: ch.GetTime().AsTime(), From: w.From, Booking: bk,
		Event: events[bk.GetEventId()], Events: events, Items: ch.GetItems(), Refund: ch.GetRefund()}
	msg, err := Render(r)
	if err != nil {
		return err
	}
	if err := w.Sender.Send(ctx, msg); err != nil {
		if workerr.IsFatal(err) {
			w.stop(err)
		}
		return err
	}
	// The server has the receipt. Killed before the fsync below, the
	// worker sends it again when the message comes back (same Message-ID).
	if w.Journal != nil {
		if err := w.Journal.Add(key); err != nil {
			// The receipt went out: ack it, and stop before another
			// receipt goes out that the journal cannot keep.
			log.Error("receipts: delivered but not journaled", "booking", bk.GetId(), "err", err)
			w.stop(fmt.Errorf("%w (the receipt of %s was delivered)", err, key))
			return nil
		}
	}
	log.Info("receipts: delivered", "booking", bk.GetId(), "message_id", msg.MessageID)
	return nil
}

// events reads the booking's event and those of its items and of the
// change's, by id.
func (w *Worker) events(ctx context.Context, bk *bookdv1.Booking, changed []*bookdv1.OrderItem) (map[string]*bookdv1.Event, error) {
	events := make(map[string]*bookdv1.Event)
	ids := []string{bk.GetEventId()}
	for _, it := range append(slices.Clip(bk.GetItems()), changed...) {
		ids = append(ids, it.GetEventId())
	}
	for _, id := range ids {
		if _, ok := events[id]; ok || id == "" {
			continue
		}
		ev, err := w.Bookings.GetEvent(ctx, id)
		if err != nil {
			return nil, readError("event", id, err)
		}
		events[id] = ev
	}
	return events, nil
}

func (w *Worker) stop(err error) {
	if w.Stop != nil {
		w.Stop(err)
	}
}

func (w *Worker) logger() *slog.Logger {
	if w.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return w.Logger
}

func (w *Worker) claim(key string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.inFlight[key] {
		return false
	}
	if w.inFlight == nil {
		w.inFlight = make(map[string]bool)
	}
	w.inFlight[key] = true
	return true
}

func (w *Worker) unclaim(key string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.inFlight, key)
}

// readError makes a NOT_FOUND Permanent: the message names a booking or
// event the cluster does not have, which no retry brings.
func readError(what, id string, err error) error {
	err = fmt.Errorf("receipts: read %s %s: %w", what, id, err)
	if connect.CodeOf(err) == connect.CodeNotFound {
		return workerr.Permanent(err)
	}
	return err
}
