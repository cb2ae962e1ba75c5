package receipts

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/emersion/go-smtp"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/bookd/bookd/client"
	"github.com/bookd/bookd/cmd/bookd/mailbox"
	"github.com/bookd/bookd/cmd/bookd/workerr"
	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
)

const from = "receipts@tickets.example"

func booking(email string) *bookdv1.Booking {
	return &bookdv1.Booking{Id: "bk_42", EventId: "ev_7", CustomerId: "alice", Quantity: 2,
		Seats: []string{"A1", "A2"}, PaymentRef: "pi_123", ContactEmail: email}
}

func event() *bookdv1.Event {
	return &bookdv1.Event{Id: "ev_7", Name: "Opening night", StartsAt: timestamppb.New(time.Date(2026, 12, 1, 19, 30, 0, 0, time.UTC))}
}

func receipt(b *bookdv1.Booking, ev *bookdv1.Event) Receipt {
	return Receipt{Key: "receipts:1234-0", Kind: KindConfirmed, Time: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC),
		From: from, Booking: b, Event: ev}
}

// parts parses a rendered message: its header and its decoded text and
// HTML parts.
func parts(t *testing.T, data []byte) (mail.Header, string, string) {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("parse message: %v\n%s", err, data)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type %q: %v", msg.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	got := map[string]string{}
	for {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if p.Header.Get("Content-Transfer-Encoding") != "quoted-printable" {
			t.Fatalf("part %q is not quoted-printable", p.Header.Get("Content-Type"))
		}
		b, err := io.ReadAll(quotedprintable.NewReader(p))
		if err != nil {
			t.Fatal(err)
		}
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		got[ct] = string(b)
	}
	if len(got) != 2 || got["text/plain"] == "" || got["text/html"] == "" {
		t.Fatalf("parts %q, want text/plain and text/html", got)
	}
	return msg.Header, got["text/plain"], got["text/html"]
}

func TestRenderReceipt(t *testing.T) {
	m, err := Render(receipt(booking("alice@example.com"), event()))
	if err != nil {
		t.Fatal(err)
	}
	h, text, html := parts(t, m.Data)
	if m.To != "alice@example.com" || h.Get("To") != "<alice@example.com>" {
		t.Errorf("To %q, header %q", m.To, h.Get("To"))
	}
	if want := "<receipt.receipts.1234-0@tickets.example>"; m.MessageID != want || h.Get("Message-Id") != want {
		t.Errorf("Message-ID %q, header %q, want %q", m.MessageID, h.Get("Message-Id"), want)
	}
	if h.Get("Subject") != "Your booking bk_42: Opening night" {
		t.Errorf("Subject %q", h.Get("Subject"))
	}
	if d, err := h.Date(); err != nil || !d.Equal(time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("Date %v, %v: want the change's time", d, err)
	}
	for _, want := range []string{"Your booking bk_42 is confirmed.", "Opening night", "Tue 1 Dec 2026 19:30 UTC", "A1, A2", "pi_123"} {
		if !strings.Contains(text, want) || !strings.Contains(html, want) {
			t.Errorf("%q missing from text or HTML:\n%s\n%s", want, text, html)
		}
	}
	again, err := Render(receipt(booking("alice@example.com"), event()))
	if err != nil || again.MessageID != m.MessageID {
		t.Errorf("a second rendering has Message-ID %q (%v), want %q", again.MessageID, err, m.MessageID)
	}

	r := receipt(booking("alice@example.com"), event())
	r.Kind = KindCancelled
	m, err = Render(r)
	if err != nil {
		t.Fatal(err)
	}
	h, text, _ = parts(t, m.Data)
	if h.Get("Subject") != "Booking bk_42 cancelled: Opening night" || !strings.Contains(text, "has been cancelled") {
		t.Errorf("cancellation: Subject %q, text %q", h.Get("Subject"), text)
	}
}

// A customer's data is hostile: markup in a name, a seat label or a
// payment reference stays text in the HTML part, and a line end in a value
// that reaches a header (the event's name in the Subject) adds no header.
func TestRenderHostileData(t *testing.T) {
	b := booking("alice@example.com")
	b.CustomerId = `<script>alert("x")</script>`
	b.Seats = []string{`<img src=x onerror=alert(1)>`, `A2"><b>`}
	b.PaymentRef = `</td></tr></table><a href="https://evil.example">pay again</a>`
	ev := event()
	ev.Name = "Gala\r\nBcc: victim@evil.example\r\n\r\n<h1>hi</h1>"
	m, err := Render(receipt(b, ev))
	if err != nil {
		t.Fatal(err)
	}
	h, text, html := parts(t, m.Data)
	if len(h["Bcc"]) != 0 || len(h["To"]) != 1 || h.Get("To") != "<alice@example.com>" {
		t.Fatalf("headers %v: a value added a header or a recipient", h)
	}
	if s := h.Get("Subject"); strings.ContainsAny(s, "\r\n") {
		t.Errorf("Subject %q has a line end", s)
	}
	dec, err := new(mime.WordDecoder).DecodeHeader(h.Get("Subject"))
	if err != nil || !strings.Contains(dec, "Gala  Bcc: victim@evil.example") || strings.ContainsAny(dec, "\r\n") {
		t.Errorf("Subject decodes to %q (%v)", dec, err)
	}
	for _, bad := range []string{"<script>", "<img", `"><b>`, `<a href`, "<h1>hi"} {
		if strings.Contains(html, bad) {
			t.Errorf("HTML part carries %q unescaped:\n%s", bad, html)
		}
	}
	for _, want := range []string{"&lt;script&gt;", "&lt;img src=x onerror=alert(1)&gt;", "&lt;/td&gt;&lt;/tr&gt;"} {
		if !strings.Contains(html, want) {
			t.Errorf("HTML part lacks %q:\n%s", want, html)
		}
	}
	if !strings.Contains(text, `<script>alert("x")</script>`) {
		t.Errorf("the text part should show the name as it is:\n%s", text)
	}
}

// An address that could end the To header or the RCPT command, or name a
// second recipient, is refused before anything is sent; the refusal is
// Permanent (no retry makes it an address).
func TestRenderRefusesHostileAddress(t *testing.T) {
	for _, addr := range []string{
		"alice@example.com\r\nRCPT TO:<victim@evil.example>",
		"alice@example.com\nBcc: victim@evil.example",
		"alice@example.com>\r\nDATA",
		"<alice@example.com>",
		"alice@example.com, victim@evil.example",
		"alice@example.com;victim@evil.example",
		"alice smith@example.com",
		"alice\x00@example.com",
		"alice@example.com@evil.example",
		"alice.example.com",
		"@example.com",
		`"alice"@example.com`,
	} {
		_, err := Render(receipt(booking(addr), event()))
		if err == nil || !workerr.IsPermanent(err) {
			t.Errorf("Render to %q: %v, want a Permanent refusal", addr, err)
		}
	}
}

func TestMessageIDIsSafeForAnyKey(t *testing.T) {
	for key, want := range map[string]string{
		"receipts:12-3":        "<receipt.receipts.12-3@tickets.example>",
		"x>\r\nBcc: a@b.c":     "",
		"order 7 <a@b>":        "",
		"receipts:12-3@x.test": "",
	} {
		id := MessageID(key, from)
		if want != "" && id != want {
			t.Errorf("MessageID(%q) = %q, want %q", key, id, want)
		}
		inner := strings.TrimSuffix(strings.TrimPrefix(id, "<"), ">")
		left, domain, ok := strings.Cut(inner, "@")
		if !ok || !dotAtom(left) || !dotAtom(domain) || len(inner)+2 != len(id) {
			t.Errorf("MessageID(%q) = %q is not a plain <left@domain>", key, id)
		}
	}
	if MessageID("receipts:1-0", from) == MessageID("receipts:1-1", from) {
		t.Error("two keys share a Message-ID")
	}
}

func TestJournal(t *testing.T) {
	path := filepath.Join(t.TempDir(), "receipts.journal")
	j, err := OpenJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"receipts:1-0", "receipts:2-0", "receipts:1-0"} {
		if err := j.Add(k); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.Add("a\nb"); err == nil {
		t.Error("a key with a line end was kept")
	}
	j.Close()
	// A crash in the middle of a write leaves a torn last line.
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("receipts:3-")
	f.Close()

	j, err = OpenJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if !j.Has("receipts:1-0") || !j.Has("receipts:2-0") || j.Has("receipts:3-") || j.Len() != 2 {
		t.Fatalf("reopened journal: 1-0 %v, 2-0 %v, torn 3- %v, %d keys", j.Has("receipts:1-0"), j.Has("receipts:2-0"), j.Has("receipts:3-"), j.Len())
	}
	if err := j.Add("receipts:4-0"); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	if string(data) != "receipts:1-0\nreceipts:2-0\nreceipts:4-0\n" {
		t.Errorf("journal file %q", data)
	}
}

// fakeBookings answers the worker's reads.
type fakeBookings struct {
	booking *bookdv1.Booking
	event   *bookdv1.Event
}

func (f *fakeBookings) GetBooking(_ context.Context, id string, _ ...client.ReadOption) (*bookdv1.Booking, error) {
	if f.booking == nil || f.booking.GetId() != id {
		return nil, connect.NewError(connect.CodeNotFound, errors.New("booking "+id+" not found"))
	}
	return f.booking, nil
}

func (f *fakeBookings) GetEvent(_ context.Context, id string, _ ...client.ReadOption) (*bookdv1.Event, error) {
	return f.event, nil
}

func startMailbox(t *testing.T, opts mailbox.Options) *mailbox.Mailbox {
	t.Helper()
	box, err := mailbox.Listen("127.0.0.1:0", opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { box.Close() })
	return box
}

func message(kind, bookingID string) *bookdv1.QueueMessage {
	return &bookdv1.QueueMessage{Id: "9", Queue: "receipts", Key: "receipts:1234-0", Attempts: 1,
		Change: &bookdv1.Change{Cursor: "1234-0", Kind: kind, BookingId: bookingID, EventId: "ev_7", Time: timestamppb.Now()}}
}

// The worker against a real SMTP server over a real socket: a receipt
// arrives once; the same message again is acked from the journal without
// a second send; a booking without contact_email and other kinds of change
// are acked without a receipt; a hostile address sends nothing at all.
func TestWorkerDelivers(t *testing.T) {
	box := startMailbox(t, mailbox.Options{Dir: t.TempDir()})
	j, err := OpenJournal(filepath.Join(t.TempDir(), "j"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	bks := &fakeBookings{booking: booking("alice@example.com"), event: event()}
	w := &Worker{Bookings: bks, Sender: &Sender{Addr: box.Addr()}, Journal: j, From: from}
	ctx := context.Background()

	if err := w.Handle(ctx, message(KindConfirmed, "bk_42")); err != nil {
		t.Fatal(err)
	}
	if err := w.Handle(ctx, message(KindConfirmed, "bk_42")); err != nil {
		t.Fatal(err)
	}
	got := box.Messages()
	if len(got) != 1 {
		t.Fatalf("mailbox has %d messages, want 1", len(got))
	}
	if m := got[0]; m.From != from || len(m.To) != 1 || m.To[0] != "alice@example.com" ||
		m.MessageID != "<receipt.receipts.1234-0@tickets.example>" || m.Subject != "Your booking bk_42: Opening night" || m.TLS {
		t.Errorf("received %+v", m)
	}
	if data, err := os.ReadFile(got[0].File); err != nil || !bytes.Equal(data, got[0].Data) {
		t.Errorf("mailbox file %s: %v", got[0].File, err)
	}

	for _, m := range []*bookdv1.QueueMessage{message("hold_created", ""), {Id: "10", Queue: "receipts", Key: "put-by-enqueue"}} {
		if err := w.Handle(ctx, m); err != nil {
			t.Errorf("message %v: %v, want an ack", m, err)
		}
	}
	bks.booking = booking("")
	m := message(KindConfirmed, "bk_42")
	m.Key = "receipts:1235-0"
	if err := w.Handle(ctx, m); err != nil {
		t.Errorf("a booking without contact_email: %v, want an ack", err)
	}
	bks.booking = booking("alice@example.com\r\nRCPT TO:<victim@evil.example>")
	m.Key = "receipts:1236-0"
	if err := w.Handle(ctx, m); !workerr.IsPermanent(err) {
		t.Errorf("a hostile address: %v, want a Permanent refusal", err)
	}
	m.Change.BookingId, m.Key = "bk_404", "receipts:1237-0"
	if err := w.Handle(ctx, m); !workerr.IsPermanent(err) || connect.CodeOf(err) != connect.CodeNotFound {
		t.Errorf("a booking that does not exist: %v, want a Permanent NOT_FOUND", err)
	}
	if n := len(box.Messages()); n != 1 {
		t.Errorf("mailbox has %d messages, want still 1", n)
	}
}

// selfSigned is a certificate for 127.0.0.1 and a pool that trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mailbox"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

// A server that offers STARTTLS gets the message over TLS, with the login;
// a server that does not gets no credentials in clear and no message, and
// the worker is told to stop.
func TestSenderTLSAndCredentials(t *testing.T) {
	cert, pool := selfSigned(t)
	secure := startMailbox(t, mailbox.Options{TLS: &tls.Config{Certificates: []tls.Certificate{cert}}})
	m, err := Render(receipt(booking("alice@example.com"), event()))
	if err != nil {
		t.Fatal(err)
	}
	s := &Sender{Addr: secure.Addr(), TLS: &tls.Config{RootCAs: pool}, Username: "bookd", Password: "secret"}
	for range 2 { // the first learns that the server offers STARTTLS
		if err := s.Send(context.Background(), m); err != nil {
			t.Fatalf("send over STARTTLS: %v", err)
		}
	}
	for _, got := range secure.Messages() {
		if !got.TLS || got.User != "bookd" {
			t.Errorf("message arrived with TLS %v, login %q; want TLS and bookd", got.TLS, got.User)
		}
	}
	// Without credentials, TLS is still used when offered.
	if err := (&Sender{Addr: secure.Addr(), TLS: &tls.Config{RootCAs: pool}}).Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if got := secure.Messages(); len(got) != 3 || !got[2].TLS {
		t.Fatalf("mailbox has %d messages (last over TLS: %v), want 3", len(got), len(got) > 0 && got[len(got)-1].TLS)
	}
	// A certificate the worker does not trust: no message, tried again.
	err = (&Sender{Addr: secure.Addr()}).Send(context.Background(), m)
	if err == nil || workerr.IsPermanent(err) || workerr.IsFatal(err) {
		t.Errorf("untrusted certificate: %v, want a temporary error", err)
	}

	plain := startMailbox(t, mailbox.Options{})
	err = (&Sender{Addr: plain.Addr(), Username: "bookd", Password: "secret"}).Send(context.Background(), m)
	if !errors.Is(err, ErrCleartextAuth) || !workerr.IsFatal(err) {
		t.Errorf("credentials to a server without STARTTLS: %v, want ErrCleartextAuth, fatal", err)
	}
	if n := len(plain.Messages()); n != 0 {
		t.Errorf("the server without STARTTLS got %d messages", n)
	}
}

// refusingSession answers RCPT with a fixed error.
type refusingSession struct{ err error }

func (s refusingSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s refusingSession) Rcpt(string, *smtp.RcptOptions) error { return s.err }
func (s refusingSession) Data(r io.Reader) error               { _, err := io.Copy(io.Discard, r); return err }
func (s refusingSession) Reset()                               {}
func (s refusingSession) Logout() error                        { return nil }

func refusingServer(t *testing.T, err error) string {
	t.Helper()
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return refusingSession{err}, nil }))
	srv.Domain = "localhost"
	ln, lerr := net.Listen("tcp", "127.0.0.1:0")
	if lerr != nil {
		t.Fatal(lerr)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// A 5xx is Permanent (the message is dead-lettered), a 4xx or a server
// that does not answer is not (it is tried again).
func TestSenderClassifiesFailures(t *testing.T) {
	m, err := Render(receipt(booking("alice@example.com"), event()))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	err = (&Sender{Addr: refusingServer(t, &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"})}).Send(ctx, m)
	if !workerr.IsPermanent(err) || !strings.Contains(err.Error(), "550") {
		t.Errorf("550: %v, want Permanent", err)
	}
	err = (&Sender{Addr: refusingServer(t, &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try later"})}).Send(ctx, m)
	if err == nil || workerr.IsPermanent(err) || !strings.Contains(err.Error(), "451") {
		t.Errorf("451: %v, want a temporary error", err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	err = (&Sender{Addr: addr}).Send(ctx, m)
	if err == nil || workerr.IsPermanent(err) || workerr.IsFatal(err) {
		t.Errorf("no server: %v, want a temporary error", err)
	}
}
