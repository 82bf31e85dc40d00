package mail

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/smtp"
	"os"
	"strconv"
	"time"
)

// SMTPConfig configures delivery through an SMTP server.
type SMTPConfig struct {
	Host     string
	Port     int
	Username string // empty: no AUTH
	Password string
	From     string // envelope and header sender, e.g. "Gatehouse <no-reply@corp.example>"
	// Security is "starttls" (required STARTTLS, default), "tls" (implicit
	// TLS, usually port 465) or "none" (only for a relay on localhost).
	Security string
	// RootCAs, when set, is a PEM file of CAs to trust instead of the
	// system pool (private relays, tests).
	RootCAsFile string
	// ServerName overrides the TLS server name (default Host).
	ServerName string
}

// Security modes of SMTPConfig.
const (
	SecurityStartTLS = "starttls"
	SecurityTLS      = "tls"
	SecurityNone     = "none"
)

// sendTimeout bounds one whole delivery (dial, TLS, dialogue) when the
// caller's context has no earlier deadline: a stuck relay must not hold a
// request forever.
const sendTimeout = 30 * time.Second

type smtpSender struct {
	cfg  SMTPConfig
	addr string
	tls  *tls.Config
	log  *slog.Logger
	now  func() time.Time
}

// NewSMTP returns a Sender that delivers through the configured server.
// It checks the configuration (and reads RootCAsFile) up front, so a typo
// fails at start-up rather than at the first password reset.
func NewSMTP(cfg SMTPConfig, log *slog.Logger) (Sender, error) {
	if cfg.Host == "" {
		return nil, errors.New("mail: SMTP host is required")
	}
	if cfg.Security == "" {
		cfg.Security = SecurityStartTLS
	}
	if cfg.Port == 0 {
		switch cfg.Security {
		case SecurityTLS:
			cfg.Port = 465
		case SecurityNone:
			cfg.Port = 25
		default:
			cfg.Port = 587
		}
	}
	if cfg.Port < 1 || cfg.Port > 65535 {
		return nil, fmt.Errorf("mail: SMTP port %d is out of range", cfg.Port)
	}
	if _, err := parseAddress("From", cfg.From); err != nil {
		return nil, fmt.Errorf("mail: SMTP from address: %w", err)
	}
	switch cfg.Security {
	case SecurityStartTLS, SecurityTLS:
	case SecurityNone:
		// Credentials in clear text only to a relay on this machine.
		if cfg.Username != "" && !isLocalhost(cfg.Host) {
			return nil, errors.New(`mail: SMTP credentials need security "starttls" or "tls" unless the server is localhost`)
		}
	default:
		return nil, fmt.Errorf(`mail: SMTP security %q is not one of "starttls", "tls", "none"`, cfg.Security)
	}
	s := &smtpSender{
		cfg:  cfg,
		addr: net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port)),
		log:  discardIfNil(log),
		now:  time.Now,
	}
	if cfg.Security != SecurityNone {
		s.tls = &tls.Config{ServerName: cfg.Host, MinVersion: tls.VersionTLS12}
		if cfg.ServerName != "" {
			s.tls.ServerName = cfg.ServerName
		}
		if cfg.RootCAsFile != "" {
			pem, err := os.ReadFile(cfg.RootCAsFile)
			if err != nil {
				return nil, fmt.Errorf("mail: SMTP root CAs: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("mail: SMTP root CAs: no PEM certificate in %s", cfg.RootCAsFile)
			}
			s.tls.RootCAs = pool
		}
	}
	return s, nil
}

func isLocalhost(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}

// Send implements Sender: one connection per message, which is plenty for
// password resets and invitations and leaves no idle connection to manage.
func (s *smtpSender) Send(ctx context.Context, m Message) error {
	c, err := compose(s.cfg.From, m, s.now(), false)
	if err != nil {
		return err
	}
	deadline := s.now().Add(sendTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()

	if err := s.deliver(ctx, deadline, c); err != nil {
		// The connection's deadline is the context's, so a read may time
		// out a moment before the context notices; either way the caller
		// should be able to match context.DeadlineExceeded.
		var netErr net.Error
		if ctxErr := ctx.Err(); ctxErr != nil {
			err = fmt.Errorf("%w (%w)", err, ctxErr)
		} else if errors.As(err, &netErr) && netErr.Timeout() {
			err = fmt.Errorf("%w (%w)", err, context.DeadlineExceeded)
		}
		return fmt.Errorf("mail: sending to %s via %s: %w", c.to, s.addr, err)
	}
	s.log.InfoContext(ctx, "mail: sent", "to", c.to, "subject", m.Subject, "server", s.addr)
	return nil
}

func (s *smtpSender) deliver(ctx context.Context, deadline time.Time, c composed) error {
	dialer := &net.Dialer{}
	var conn net.Conn
	var err error
	if s.cfg.Security == SecurityTLS {
		conn, err = (&tls.Dialer{NetDialer: dialer, Config: s.tls}).DialContext(ctx, "tcp", s.addr)
	} else {
		conn, err = dialer.DialContext(ctx, "tcp", s.addr)
	}
	if err != nil {
		return err
	}
	defer conn.Close()
	// net/smtp has no context support: the deadline bounds every read and
	// write, and cancelling ctx moves it to now so a blocked call returns.
	if err := conn.SetDeadline(deadline); err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	client, err := smtp.NewClient(conn, s.cfg.Host)
	if err != nil {
		return err
	}
	defer client.Close()
	if err := client.Hello(localName()); err != nil {
		return err
	}
	if s.cfg.Security == SecurityStartTLS {
		// Required, never opportunistic: a relay that stops offering
		// STARTTLS (or an attacker stripping it) must not get the message
		// or the password in clear text.
		if ok, _ := client.Extension("STARTTLS"); !ok {
			return errors.New("the server does not offer STARTTLS, which security \"starttls\" requires")
		}
		if err := client.StartTLS(s.tls); err != nil {
			return fmt.Errorf("STARTTLS: %w", err)
		}
	}
	if s.cfg.Username != "" {
		if ok, _ := client.Extension("AUTH"); !ok {
			return errors.New("the server does not offer AUTH but a username is configured")
		}
		// PlainAuth itself refuses to send credentials without TLS unless
		// the server is localhost.
		if err := client.Auth(smtp.PlainAuth("", s.cfg.Username, s.cfg.Password, s.cfg.Host)); err != nil {
			return fmt.Errorf("AUTH: %w", err)
		}
	}
	if err := client.Mail(c.from); err != nil {
		return fmt.Errorf("MAIL FROM: %w", err)
	}
	if err := client.Rcpt(c.to); err != nil {
		return fmt.Errorf("RCPT TO: %w", err)
	}
	w, err := client.Data()
	if err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	if _, err := w.Write(c.data); err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	// The message is accepted once DATA completes; a failing QUIT changes
	// nothing for the recipient.
	_ = client.Quit()
	return nil
}

// localName is the EHLO name: the machine's host name when it is usable,
// else "localhost" (what net/smtp would send).
func localName() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "localhost"
	}
	for _, r := range h {
		if !(r == '-' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return "localhost"
		}
	}
	return h
}
