// Package mail sends Gatehouse's messages (password reset, invitations) by
// SMTP, or, when no SMTP server is configured, into a development outbox the
// operator can read: logged, and written as .eml files.
package mail

import (
	"context"
	"log/slog"
)

// Message is a plain-text mail.
type Message struct {
	To      string
	Subject string
	Text    string
}

// Sender delivers messages.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

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

// NewSMTP returns a Sender that delivers through the configured server.
func NewSMTP(cfg SMTPConfig, log *slog.Logger) (Sender, error) {
	panic("unimplemented")
}

// Outbox is the development sender: every message is logged and written to
// Dir as <time>-<random>.eml.
type Outbox struct {
	Dir string
	Log *slog.Logger
}

// Send implements Sender.
func (o *Outbox) Send(ctx context.Context, m Message) error {
	panic("unimplemented")
}
