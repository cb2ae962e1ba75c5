package receipts

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/bookd/bookd/cmd/bookd/workerr"
)

// ErrCleartextAuth is returned when the worker has SMTP credentials and the
// server does not offer STARTTLS: they are never sent in clear.
var ErrCleartextAuth = errors.New("receipts: the SMTP server offers no STARTTLS; refusing to send the credentials in clear")

// Sender delivers messages to one SMTP server (a relay or submission
// server), one connection per message. It is safe for concurrent use.
type Sender struct {
	// Addr is the server's host:port.
	Addr string
	// TLS is the base TLS configuration for STARTTLS (its RootCAs, say);
	// ServerName defaults to Addr's host. Nil: the system's roots.
	TLS *tls.Config
	// Username and Password, when Username is set, log in with AUTH PLAIN,
	// only ever over TLS.
	Username, Password string
	// LocalName is the EHLO name (default "localhost").
	LocalName string
	// Timeout bounds one delivery (default 1 minute).
	Timeout time.Duration

	// offers is what the server's last EHLO said of STARTTLS: 0 not
	// known, offersTLS or offersPlain.
	offers atomic.Int32
}

const (
	offersTLS   = 1
	offersPlain = 2
)

// connect dials the server and says EHLO, over TLS whenever the server
// offers STARTTLS. go-smtp upgrades a connection only as it opens it, so
// the first connection learns whether the server offers STARTTLS, and one
// that finds it offered is dropped, before any command but EHLO, for a
// new one that starts TLS. Nothing is sent in clear to a server whose
// EHLO offers STARTTLS.
func (s *Sender) connect(ctx context.Context, host string, timeout time.Duration) (*smtp.Client, error) {
	local := s.LocalName
	if local == "" {
		local = "localhost"
	}
	for range 3 {
		conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", s.Addr)
		if err != nil {
			return nil, fmt.Errorf("receipts: connect to %s: %w", s.Addr, err)
		}
		deadline, _ := ctx.Deadline()
		conn.SetDeadline(deadline)
		context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
		if s.offers.Load() == offersTLS {
			cfg := &tls.Config{MinVersion: tls.VersionTLS12}
			if s.TLS != nil {
				cfg = s.TLS.Clone()
			}
			if cfg.ServerName == "" {
				cfg.ServerName = host
			}
			c, err := smtp.NewClientStartTLS(conn, cfg)
			if err != nil {
				s.offers.Store(0) // ask again next time
				return nil, classifyConn("STARTTLS", err)
			}
			c.CommandTimeout, c.SubmissionTimeout = timeout, timeout
			if err := c.Hello(local); err != nil { // the EHLO after TLS
				c.Close()
				return nil, classifyConn("EHLO", err)
			}
			return c, nil
		}
		c := smtp.NewClient(conn)
		c.CommandTimeout, c.SubmissionTimeout = timeout, timeout
		if err := c.Hello(local); err != nil {
			c.Close()
			return nil, classifyConn("EHLO", err)
		}
		if ok, _ := c.Extension("STARTTLS"); ok {
			s.offers.Store(offersTLS)
			c.Close()
			continue
		}
		s.offers.Store(offersPlain)
		return c, nil
	}
	return nil, fmt.Errorf("receipts: %s keeps changing its mind about STARTTLS", s.Addr)
}

// Send delivers m. It upgrades the connection with STARTTLS whenever the
// server offers it (and then verifies the server's certificate). A 5xx to
// the message's own commands (MAIL, RCPT, DATA) is workerr.Permanent; a
// 4xx, a broken connection or a failed handshake is not, and the message
// is tried again; a 5xx to EHLO, STARTTLS or AUTH, and ErrCleartextAuth,
// are workerr.Fatal: the server refuses the worker, not the message.
func (s *Sender) Send(ctx context.Context, m *Message) error {
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	host, _, err := net.SplitHostPort(s.Addr)
	if err != nil {
		return workerr.Fatal(fmt.Errorf("receipts: --smtp-addr %q: %w", s.Addr, err))
	}
	c, err := s.connect(ctx, host, timeout)
	if err != nil {
		return err
	}
	defer c.Close()
	if s.Username != "" {
		if _, isTLS := c.TLSConnectionState(); !isTLS {
			return workerr.Fatal(ErrCleartextAuth)
		}
		if err := c.Auth(sasl.NewPlainClient("", s.Username, s.Password)); err != nil {
			return classifyConn("AUTH", err)
		}
	}
	var opts *smtp.MailOptions
	if !ascii(m.From) || !ascii(m.To) {
		if ok, _ := c.Extension("SMTPUTF8"); !ok {
			return workerr.Permanent(fmt.Errorf("receipts: %s needs SMTPUTF8, which %s does not offer", m.To, s.Addr))
		}
		opts = &smtp.MailOptions{UTF8: true}
	}
	if err := c.Mail(m.From, opts); err != nil {
		return classify("MAIL FROM", err)
	}
	if err := c.Rcpt(m.To, nil); err != nil {
		return classify("RCPT TO", err)
	}
	w, err := c.Data()
	if err != nil {
		return classify("DATA", err)
	}
	if _, err := w.Write(m.Data); err != nil {
		return classify("DATA", err)
	}
	// The server's 250 to the end of the data is the moment it took the
	// message: from here a failure of ours (a kill before the journal's
	// fsync) can no longer take it back.
	if err := w.Close(); err != nil {
		return classify("end of DATA", err)
	}
	c.Quit() // the message is the server's; a failed QUIT changes nothing
	return nil
}

// classifyConn is classify for the steps before a message's own (EHLO,
// STARTTLS, AUTH): a 5xx there refuses the worker, not the message, so it
// stops the worker rather than dead-letter every receipt.
func classifyConn(step string, err error) error {
	err = classify(step, err)
	if workerr.IsPermanent(err) {
		return workerr.Fatal(err)
	}
	return err
}

// classify makes an SMTP 5xx Permanent and says which step failed.
func classify(step string, err error) error {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		err = fmt.Errorf("receipts: SMTP %s: %d %s", step, se.Code, se.Message)
		if se.Code >= 500 && se.Code < 600 {
			return workerr.Permanent(err)
		}
		return err
	}
	return fmt.Errorf("receipts: SMTP %s: %w", step, err)
}

func ascii(s string) bool {
	return bytes.IndexFunc([]byte(s), func(r rune) bool { return r >= 0x80 }) < 0
}
