package receipts

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/textproto"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/bookd/bookd/cmd/bookd/workerr"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
)

// Receipt is what one receipt e-mail reports.
type Receipt struct {
	// Key is the queue message's key: the e-mail's Message-ID is made from
	// it, so every attempt at the same receipt carries the same one.
	Key string
	// Kind is the change's: booking_confirmed, booking_cancelled or
	// booking_items_cancelled.
	Kind string
	// Time is the change's commit time, the e-mail's Date (the same on
	// every attempt).
	Time    time.Time
	From    string
	Booking *bookdv1.Booking
	// Event is the booking's event (its first item's).
	Event *bookdv1.Event
	// Events are the events of the booking's items, by id; an item whose
	// event is not here is shown by its event id.
	Events map[string]*bookdv1.Event
	// Items are the items the e-mail is about, the change's (on
	// booking_items_cancelled, the cancelled ones); nil: the booking's.
	// A booking of one ticket type of an event without prices has none.
	Items []*bookdv1.OrderItem
	// Refund is, on a cancellation, what it gives back, in minor units
	// of the booking's currency.
	Refund int64
}

// Message is a rendered e-mail and its envelope.
type Message struct {
	From, To  string
	MessageID string
	// Data is the whole message, headers and body, with CRLF line ends.
	Data []byte
}

// Render builds the receipt e-mail: multipart/alternative, text and HTML.
// A booking of an order lists its items (on booking_items_cancelled, the
// cancelled ones), with their price lines, the discount and the total in
// the booking's currency.
// Every value from a booking is data, never markup or a header: the HTML
// part escapes them (html/template), header values are encoded (RFC 2047)
// after control characters are removed, and the recipient must be a bare
// address (CheckAddress), so no booking can add a header, a recipient or an
// SMTP command. An address that is not one is a Permanent error.
func Render(r Receipt) (*Message, error) {
	to := r.Booking.GetContactEmail()
	if err := CheckAddress(to); err != nil {
		return nil, workerr.Permanent(fmt.Errorf("receipts: booking %s: contact_email: %w", r.Booking.GetId(), err))
	}
	if err := CheckAddress(r.From); err != nil {
		return nil, fmt.Errorf("receipts: sender: %w", err)
	}
	v := view(r)
	var text, html bytes.Buffer
	if err := textTmpl.Execute(&text, v); err != nil {
		return nil, fmt.Errorf("receipts: render text: %w", err)
	}
	if err := htmlTmpl.Execute(&html, v); err != nil {
		return nil, fmt.Errorf("receipts: render html: %w", err)
	}

	var body bytes.Buffer
	mw := multipart.NewWriter(&body) // a random boundary: no booking can guess it
	for _, part := range []struct {
		ctype string
		data  []byte
	}{{"text/plain; charset=utf-8", text.Bytes()}, {"text/html; charset=utf-8", html.Bytes()}} {
		w, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {part.ctype},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return nil, err
		}
		qp := quotedprintable.NewWriter(w)
		qp.Write(crlf(part.data))
		if err := qp.Close(); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}

	id := MessageID(r.Key, r.From)
	var msg bytes.Buffer
	header := func(name, value string) { fmt.Fprintf(&msg, "%s: %s\r\n", name, value) }
	header("From", "bookd <"+r.From+">")
	header("To", "<"+to+">")
	header("Subject", encodeHeader(v.Subject))
	header("Date", r.Time.UTC().Format(time.RFC1123Z))
	header("Message-ID", id)
	header("MIME-Version", "1.0")
	header("Content-Type", `multipart/alternative; boundary="`+mw.Boundary()+`"`)
	header("Auto-Submitted", "auto-generated")
	msg.WriteString("\r\n")
	msg.Write(body.Bytes())
	return &Message{From: r.From, To: to, MessageID: id, Data: msg.Bytes()}, nil
}

// MessageID is the Message-ID of the receipt for the queue message with
// this key: the same for every attempt, so a mailbox that sees a receipt
// twice (see the package comment for when) can tell it is one receipt.
func MessageID(key, from string) string {
	domain := "bookd.invalid"
	if _, d, ok := strings.Cut(from, "@"); ok && dotAtom(d) {
		domain = d
	}
	left := "receipt." + strings.ReplaceAll(key, ":", ".")
	if !dotAtom(left) {
		sum := sha256.Sum256([]byte(key))
		left = "receipt." + hex.EncodeToString(sum[:16])
	}
	return "<" + left + "@" + domain + ">"
}

// dotAtom reports whether s is letters, digits, '-', '_' and single dots
// (a conservative RFC 5322 dot-atom).
func dotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") || len(s) > 200 {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// CheckAddress accepts a bare address, local@domain, and nothing that
// could end a header or an SMTP command line or name a second recipient:
// no control characters, spaces, or any of <>()[],;:\" and exactly one @.
func CheckAddress(addr string) error {
	if addr == "" {
		return fmt.Errorf("no address")
	}
	if len(addr) > 254 || !utf8.ValidString(addr) {
		return fmt.Errorf("%q is not an e-mail address", clip(addr))
	}
	for _, r := range addr {
		if r <= ' ' || r == 0x7f || (r >= 0x80 && r < 0xa0) || strings.ContainsRune(`<>()[],;:\"`, r) {
			return fmt.Errorf("%q is not an e-mail address: it has %q", clip(addr), r)
		}
	}
	local, domain, ok := strings.Cut(addr, "@")
	if !ok || local == "" || domain == "" || strings.Contains(domain, "@") {
		return fmt.Errorf("%q is not an e-mail address (like name@example.com)", clip(addr))
	}
	return nil
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

// clean removes control characters (line ends among them) from a value
// shown in the receipt, and clips it.
func clean(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == utf8.RuneError {
			return ' '
		}
		return r
	}, s)
	if utf8.RuneCountInString(s) > 200 {
		s = string([]rune(s)[:200]) + "…"
	}
	return s
}

// encodeHeader encodes a header value as RFC 2047 words when it is not
// plain printable ASCII; the value has no control characters (clean).
func encodeHeader(s string) string {
	return mime.QEncoding.Encode("utf-8", clean(s))
}

// crlf turns the templates' LF line ends into CRLF.
func crlf(b []byte) []byte {
	return bytes.ReplaceAll(bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n")), []byte("\n"), []byte("\r\n"))
}
