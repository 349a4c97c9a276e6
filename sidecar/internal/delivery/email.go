package delivery

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"time"
)

// Mailer sends pay links over SMTP: STARTTLS (required unless turned off
// for a relay on the same host), then AUTH PLAIN when a username is set.
type Mailer struct {
	Addr     string // HOST:PORT
	From     string
	Username string
	Password string
	StartTLS bool
	Roots    *x509.CertPool // nil: the system's
	Timeout  time.Duration
	Now      func() time.Time // the Date header's clock; nil: time.Now
}

var _ Sender = (*Mailer)(nil)

// Send e-mails msg to msg.To.
func (m *Mailer) Send(ctx context.Context, msg Message) error {
	to, err := mail.ParseAddress(msg.To)
	if err != nil {
		return fmt.Errorf("e-mail: recipient: %w", err)
	}
	from, err := mail.ParseAddress(m.From)
	if err != nil {
		return fmt.Errorf("e-mail: Sender: %w", err)
	}
	now := time.Now
	if m.Now != nil {
		now = m.Now
	}
	body, err := mailBody(from, to, msg, now())
	if err != nil {
		return err
	}
	host, _, err := net.SplitHostPort(m.Addr)
	if err != nil {
		return fmt.Errorf("e-mail: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, m.Timeout)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", m.Addr)
	if err != nil {
		return fmt.Errorf("e-mail: %w", err)
	}
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		return fmt.Errorf("e-mail: %w", err)
	}
	defer c.Close()
	if m.StartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return fmt.Errorf("e-mail: %s does not offer STARTTLS", m.Addr)
		}
		if err := c.StartTLS(&tls.Config{ServerName: host, RootCAs: m.Roots, MinVersion: tls.VersionTLS12}); err != nil {
			return fmt.Errorf("e-mail: STARTTLS: %w", err)
		}
	}
	if m.Username != "" {
		// net/smtp refuses PLAIN over an unencrypted connection to
		// anything but localhost.
		if err := c.Auth(smtp.PlainAuth("", m.Username, m.Password, host)); err != nil {
			return fmt.Errorf("e-mail: AUTH: %w", err)
		}
	}
	if err := c.Mail(from.Address); err != nil {
		return fmt.Errorf("e-mail: MAIL FROM: %w", err)
	}
	if err := c.Rcpt(to.Address); err != nil {
		return fmt.Errorf("e-mail: RCPT TO: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("e-mail: DATA: %w", err)
	}
	if _, err := w.Write(body); err != nil {
		return fmt.Errorf("e-mail: DATA: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("e-mail: DATA: %w", err)
	}
	if err := c.Quit(); err != nil {
		return fmt.Errorf("e-mail: QUIT: %w", err)
	}
	return nil
}

// mailBody is the RFC 5322 message: UTF-8 text, quoted-printable, every
// header value either an address or Q-encoded (so no CR/LF gets through).
func mailBody(from, to *mail.Address, msg Message, date time.Time) ([]byte, error) {
	var id [12]byte
	_, _ = rand.Read(id[:])
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%s@trustly-sidecar>\r\n",
		from.String(), to.String(), mime.QEncoding.Encode("utf-8", msg.Subject), date.UTC().Format(time.RFC1123Z), hex.EncodeToString(id[:]))
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
	qp := quotedprintable.NewWriter(&b)
	if _, err := qp.Write(bytes.ReplaceAll([]byte(msg.Email), []byte("\n"), []byte("\r\n"))); err != nil {
		return nil, fmt.Errorf("e-mail: encode: %w", err)
	}
	if err := qp.Close(); err != nil {
		return nil, fmt.Errorf("e-mail: encode: %w", err)
	}
	return b.Bytes(), nil
}
