// Package mailbox is a development SMTP server: it accepts every message,
// from anyone to anyone, keeps it (in memory and, given a directory, as an
// .eml file there) and forwards nothing. `bookd mailbox` runs it so a new
// user can watch the receipts worker deliver; the receipts tests run the
// same server in-process over a real socket.
//
// It is not a mail server for production: it has no authentication worth
// the name (with TLS it accepts any AUTH PLAIN login, to let tests check
// that a client authenticates only over TLS) and no limit but a message's
// size.
package mailbox

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// MaxMessageBytes is the largest message the mailbox accepts.
const MaxMessageBytes = 1 << 20

// Options configure a mailbox.
type Options struct {
	// Dir, when set, receives every message as NNNNNN.eml (created if
	// missing; numbering continues after the files already there).
	Dir string
	// Out, when set, gets one line per message: From, To, Subject and
	// Message-ID.
	Out io.Writer
	// TLS, when set, makes the mailbox offer STARTTLS, and AUTH PLAIN
	// (any login) once TLS is on.
	TLS *tls.Config
	// Domain is the name the mailbox greets with (default "localhost").
	Domain string
}

// Message is one message the mailbox accepted.
type Message struct {
	From string   // MAIL FROM
	To   []string // RCPT TO, in order
	// Header fields of the message, decoded (RFC 2047) where encoded.
	Subject, MessageID string
	// User is the AUTH login of the session, if it authenticated.
	User string
	// TLS says the message came over a TLS connection.
	TLS bool
	// Data is the message as received (CRLF line ends).
	Data []byte
	// File is where it was kept, when the mailbox has a Dir.
	File string
}

// Mailbox is a running development SMTP server.
type Mailbox struct {
	opts Options
	srv  *smtp.Server
	ln   net.Listener
	done chan struct{}

	mu       sync.Mutex
	messages []Message
	next     int // number of the next file in Dir
	changed  chan struct{}
}

// Listen starts a mailbox on addr ("127.0.0.1:0" picks a port).
func Listen(addr string, opts Options) (*Mailbox, error) {
	m := &Mailbox{opts: opts, done: make(chan struct{}), changed: make(chan struct{}), next: 1}
	if opts.Dir != "" {
		if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
			return nil, fmt.Errorf("mailbox: %w", err)
		}
		n, err := lastNumber(opts.Dir)
		if err != nil {
			return nil, fmt.Errorf("mailbox: %w", err)
		}
		m.next = n + 1
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("mailbox: %w", err)
	}
	m.ln = ln
	m.srv = smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{box: m, conn: c}, nil
	}))
	m.srv.Domain = opts.Domain
	if m.srv.Domain == "" {
		m.srv.Domain = "localhost"
	}
	m.srv.TLSConfig = opts.TLS
	m.srv.MaxMessageBytes = MaxMessageBytes
	m.srv.MaxRecipients = 100
	m.srv.ReadTimeout = time.Minute
	m.srv.WriteTimeout = time.Minute
	m.srv.ErrorLog = discardLogger{}
	go func() {
		defer close(m.done)
		m.srv.Serve(ln) // returns when closed
	}()
	return m, nil
}

// Addr is the address the mailbox listens on.
func (m *Mailbox) Addr() string { return m.ln.Addr().String() }

// Close stops the mailbox and closes its connections.
func (m *Mailbox) Close() error {
	err := m.srv.Close()
	m.ln.Close() // in case Serve had not taken it yet
	<-m.done
	if errors.Is(err, smtp.ErrServerClosed) {
		return nil
	}
	return err
}

// Messages returns a copy of what the mailbox accepted, in order.
func (m *Mailbox) Messages() []Message {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Message(nil), m.messages...)
}

// Changed returns a channel closed when the next message arrives.
func (m *Mailbox) Changed() <-chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.changed
}

func (m *Mailbox) accept(msg Message) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.opts.Dir != "" {
		msg.File = filepath.Join(m.opts.Dir, fmt.Sprintf("%06d.eml", m.next))
		if err := os.WriteFile(msg.File, msg.Data, 0o644); err != nil {
			// The client hears a temporary failure and sends again.
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "cannot keep the message now"}
		}
		m.next++
	}
	m.messages = append(m.messages, msg)
	close(m.changed)
	m.changed = make(chan struct{})
	if m.opts.Out != nil {
		fmt.Fprintf(m.opts.Out, "From: %s  To: %s  Subject: %s  Message-ID: %s\n",
			printable(msg.From), printable(strings.Join(msg.To, ", ")), printable(msg.Subject), printable(msg.MessageID))
	}
	return nil
}

type session struct {
	box  *Mailbox
	conn *smtp.Conn
	user string
	from string
	to   []string
}

var _ smtp.AuthSession = (*session)(nil)

func (s *session) AuthMechanisms() []string {
	if s.box.opts.TLS == nil {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *session) Auth(mech string) (sasl.Server, error) {
	if _, isTLS := s.conn.TLSConnectionState(); !isTLS {
		return nil, smtp.ErrAuthUnsupported
	}
	return sasl.NewPlainServer(func(_, username, _ string) error {
		s.user = username
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	s.from, s.to = from, nil
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, isTLS := s.conn.TLSConnectionState()
	msg := Message{From: s.from, To: s.to, User: s.user, TLS: isTLS, Data: data}
	if parsed, err := mail.ReadMessage(bytes.NewReader(data)); err == nil {
		msg.Subject = decodeHeader(parsed.Header.Get("Subject"))
		msg.MessageID = parsed.Header.Get("Message-Id")
	}
	return s.box.accept(msg)
}

func (s *session) Reset()        { s.from, s.to = "", nil }
func (s *session) Logout() error { return nil }

func decodeHeader(v string) string {
	d, err := new(mime.WordDecoder).DecodeHeader(v)
	if err != nil {
		return v
	}
	return d
}

// printable replaces control characters, so that what a sender put in a
// header cannot move the terminal's cursor or forge a line.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return '?'
		}
		return r
	}, s)
}

// lastNumber is the highest NNNNNN of dir's NNNNNN.eml files.
func lastNumber(dir string) (int, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.eml"))
	if err != nil {
		return 0, err
	}
	last := 0
	for _, name := range names {
		var n int
		if _, err := fmt.Sscanf(filepath.Base(name), "%d.eml", &n); err == nil && n > last {
			last = n
		}
	}
	return last, nil
}

type discardLogger struct{}

func (discardLogger) Printf(string, ...any) {}
func (discardLogger) Println(...any)        {}
