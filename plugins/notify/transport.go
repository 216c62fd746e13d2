package notify

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Transport delivers a message.
type Transport interface {
	Send(ctx context.Context, m *Message) error
	// Describe names the transport for logs ("smtp mail.example:587").
	Describe() string
}

// PermanentError is a delivery failure that a retry will not fix (the
// server rejected sender, recipient or message with a 5xx reply).
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// SMTPConfig configures the SMTP transport.
type SMTPConfig struct {
	Addr     string // host:port
	Security string // "starttls", "tls" or "none"
	Username string
	Password string
	RootCAs  *x509.CertPool // nil: the system's
	Timeout  time.Duration
}

// SMTP sends through an SMTP server.
type SMTP struct{ cfg SMTPConfig }

// NewSMTP checks cfg and returns the transport.
func NewSMTP(cfg SMTPConfig) (*SMTP, error) {
	if cfg.Addr == "" {
		return nil, errors.New("SMTP server address is not set: set AMTSWEG_SMTP_ADDR to host:port")
	}
	if _, _, err := net.SplitHostPort(cfg.Addr); err != nil {
		return nil, fmt.Errorf("SMTP server address %q: %w (want host:port)", cfg.Addr, err)
	}
	switch cfg.Security {
	case "":
		cfg.Security = "starttls"
	case "starttls", "tls", "none":
	default:
		return nil, fmt.Errorf("AMTSWEG_SMTP_SECURITY %q: use starttls, tls or none", cfg.Security)
	}
	if cfg.Security == "none" && cfg.Username != "" {
		return nil, errors.New("refusing to send SMTP credentials without TLS: set AMTSWEG_SMTP_SECURITY to starttls or tls")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 60 * time.Second
	}
	return &SMTP{cfg: cfg}, nil
}

// Describe names the transport.
func (s *SMTP) Describe() string { return "smtp " + s.cfg.Addr + " (" + s.cfg.Security + ")" }

// Send delivers m. 5xx replies are PermanentError; other failures
// (connection, 4xx) may succeed on retry.
func (s *SMTP) Send(ctx context.Context, m *Message) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	host, _, _ := net.SplitHostPort(s.cfg.Addr)
	tlsCfg := &tls.Config{ServerName: host, RootCAs: s.cfg.RootCAs, MinVersion: tls.VersionTLS12}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("connect to SMTP server %s: %w", s.cfg.Addr, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()
	var c *smtp.Client
	switch s.cfg.Security {
	case "tls":
		c = smtp.NewClient(tls.Client(conn, tlsCfg))
	case "starttls":
		c, err = smtp.NewClientStartTLS(conn, tlsCfg)
		if err != nil {
			conn.Close()
			return fmt.Errorf("STARTTLS with %s: %w", s.cfg.Addr, err)
		}
	default:
		c = smtp.NewClient(conn)
	}
	defer c.Close()
	if s.cfg.Username != "" {
		if err := c.Auth(sasl.NewPlainClient("", s.cfg.Username, s.cfg.Password)); err != nil {
			return classifySMTP("authenticate", err)
		}
	}
	rcpts := make([]string, len(m.To))
	for i, a := range m.To {
		rcpts[i] = a.Address
	}
	if err := c.SendMail(m.From.Address, rcpts, strings.NewReader(string(m.Bytes()))); err != nil {
		return classifySMTP("send", err)
	}
	if err := c.Quit(); err != nil {
		// The message was accepted; a failing QUIT does not undo that.
		return nil
	}
	return nil
}

func classifySMTP(what string, err error) error {
	var se *smtp.SMTPError
	if errors.As(err, &se) && se.Code >= 500 {
		return &PermanentError{Err: fmt.Errorf("SMTP %s: %w", what, err)}
	}
	return fmt.Errorf("SMTP %s: %w", what, err)
}

// FileSink writes each message as <dir>/<time>-<message id>.eml. It is the
// development transport: tests and developers read what would have been
// sent.
type FileSink struct{ dir string }

// NewFileSink returns a sink writing into dir (created if needed).
func NewFileSink(dir string) (*FileSink, error) {
	if dir == "" {
		return nil, errors.New("outbox directory is not set: set AMTSWEG_NOTIFY_OUTBOX or AMTSWEG_DATA_DIR")
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("create outbox: %w", err)
	}
	return &FileSink{dir: dir}, nil
}

// Describe names the transport.
func (f *FileSink) Describe() string { return "file sink " + f.dir }

// Send writes m atomically, once per message ID: a message whose ID the
// outbox already holds is not written again. The ID derives from the
// idempotency key, so a call retried after its worker died between writing
// the message and recording it in the ledger does not deliver it twice.
func (f *FileSink) Send(_ context.Context, m *Message) error {
	id := strings.SplitN(m.ID, "@", 2)[0]
	if sent, err := filepath.Glob(filepath.Join(f.dir, "*-"+id+".eml")); err != nil {
		return fmt.Errorf("look for message %s in the outbox: %w", m.ID, err)
	} else if len(sent) > 0 {
		return nil
	}
	name := m.Date.UTC().Format("20060102T150405.000000000Z") + "-" + id + ".eml"
	tmp := filepath.Join(f.dir, "."+name+".tmp")
	if err := os.WriteFile(tmp, m.Bytes(), 0o640); err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, filepath.Join(f.dir, name)); err != nil {
		return fmt.Errorf("write message: %w", err)
	}
	return nil
}
