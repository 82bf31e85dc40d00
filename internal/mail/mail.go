// Package mail sends Gatehouse's messages (password reset, invitations) by
// SMTP, or, when no SMTP server is configured, into a development outbox the
// operator can read: logged, and written as .eml files.
package mail

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/quotedprintable"
	netmail "net/mail"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
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

// ErrInvalidMessage is wrapped by every error about a message that cannot
// be sent as given (a malformed address, a line break in a header). Nothing
// is sent or written for such a message.
var ErrInvalidMessage = errors.New("mail: invalid message")

// maxSubject bounds the subject so the encoded header stays far below the
// 998-octet line limit of RFC 5322 without folding.
const maxSubject = 250

// outboxFrom is the sender shown in development .eml files.
const outboxFrom = "Gatehouse <gatehouse@localhost>"

// checkHeader refuses values that could end a header early and start a new
// one (or a body): CR, LF and NUL, whatever their position.
func checkHeader(field, v string) error {
	if strings.ContainsAny(v, "\r\n\x00") {
		return fmt.Errorf("%w: %s contains a line break or NUL", ErrInvalidMessage, field)
	}
	if !utf8.ValidString(v) {
		return fmt.Errorf("%w: %s is not valid UTF-8", ErrInvalidMessage, field)
	}
	return nil
}

// parseAddress parses one RFC 5322 address ("a@b.example" or
// "Name <a@b.example>") after refusing header-injection characters.
func parseAddress(field, v string) (*netmail.Address, error) {
	if err := checkHeader(field, v); err != nil {
		return nil, err
	}
	a, err := netmail.ParseAddress(strings.TrimSpace(v))
	if err != nil {
		return nil, fmt.Errorf("%w: %s %q is not one email address", ErrInvalidMessage, field, v)
	}
	// The envelope carries the bare address: non-ASCII there would need
	// SMTPUTF8, which Gatehouse does not rely on.
	for _, r := range a.Address {
		if r >= utf8.RuneSelf || r <= ' ' {
			return nil, fmt.Errorf("%w: %s address %q must be ASCII without spaces", ErrInvalidMessage, field, a.Address)
		}
	}
	return a, nil
}

// composed is a message ready for the wire: envelope addresses and the full
// RFC 5322 text with CRLF line endings.
type composed struct {
	from, to string // envelope (bare addresses)
	data     []byte
}

// compose validates m and renders it. from is a header-form address.
// readable writes the body as plain 8-bit text instead of
// quoted-printable: the development outbox is read by people, who must be
// able to copy a link out of the file (quoted-printable breaks long lines
// and escapes "=" in query strings).
func compose(from string, m Message, now time.Time, readable bool) (composed, error) {
	fromAddr, err := parseAddress("From", from)
	if err != nil {
		return composed{}, err
	}
	toAddr, err := parseAddress("To", m.To)
	if err != nil {
		return composed{}, err
	}
	if err := checkHeader("Subject", m.Subject); err != nil {
		return composed{}, err
	}
	if utf8.RuneCountInString(m.Subject) > maxSubject {
		return composed{}, fmt.Errorf("%w: Subject is longer than %d characters", ErrInvalidMessage, maxSubject)
	}
	if !utf8.ValidString(m.Text) {
		return composed{}, fmt.Errorf("%w: the text is not valid UTF-8", ErrInvalidMessage)
	}
	msgID, err := messageID(fromAddr.Address)
	if err != nil {
		return composed{}, err
	}

	var b bytes.Buffer
	header := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	// mail.Address.String encodes a non-ASCII display name per RFC 2047.
	header("From", fromAddr.String())
	header("To", toAddr.String())
	header("Subject", mime.QEncoding.Encode("utf-8", m.Subject))
	header("Date", now.Format(time.RFC1123Z))
	header("Message-ID", msgID)
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")
	text := strings.ReplaceAll(m.Text, "\r\n", "\n")
	if readable {
		header("Content-Transfer-Encoding", "8bit")
		b.WriteString("\r\n")
		b.WriteString(strings.ReplaceAll(text, "\n", "\r\n"))
		if !bytes.HasSuffix(b.Bytes(), []byte("\r\n")) {
			b.WriteString("\r\n")
		}
		return composed{from: fromAddr.Address, to: toAddr.Address, data: b.Bytes()}, nil
	}
	header("Content-Transfer-Encoding", "quoted-printable")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	// The quoted-printable writer turns every line break into CRLF and
	// keeps lines under 76 characters, so long links survive every relay.
	if _, err := qp.Write([]byte(text)); err != nil {
		return composed{}, err
	}
	if err := qp.Close(); err != nil {
		return composed{}, err
	}
	if !bytes.HasSuffix(b.Bytes(), []byte("\r\n")) {
		b.WriteString("\r\n")
	}
	return composed{from: fromAddr.Address, to: toAddr.Address, data: b.Bytes()}, nil
}

func messageID(fromAddr string) (string, error) {
	var r [16]byte
	if _, err := rand.Read(r[:]); err != nil {
		return "", fmt.Errorf("mail: message ID: %w", err)
	}
	domain := "gatehouse.invalid"
	if i := strings.LastIndexByte(fromAddr, '@'); i >= 0 && i+1 < len(fromAddr) {
		domain = fromAddr[i+1:]
	}
	return "<" + hex.EncodeToString(r[:]) + "@" + domain + ">", nil
}

func discardIfNil(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}

// Outbox is the development sender: every message is logged and written to
// Dir as <time>-<random>.eml.
type Outbox struct {
	Dir string
	Log *slog.Logger
}

// Send implements Sender. The whole text is logged at info level on
// purpose: the outbox exists for development, where reading the reset link
// from the log is the point. With Dir empty the message is only logged.
func (o *Outbox) Send(ctx context.Context, m Message) error {
	now := time.Now()
	c, err := compose(outboxFrom, m, now, true)
	if err != nil {
		return err
	}
	log := discardIfNil(o.Log)
	if o.Dir == "" {
		log.InfoContext(ctx, "mail: outbox message", "to", c.to, "subject", m.Subject, "text", m.Text)
		return nil
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return fmt.Errorf("mail: outbox directory: %w", err)
	}
	var r [6]byte
	if _, err := rand.Read(r[:]); err != nil {
		return fmt.Errorf("mail: outbox file name: %w", err)
	}
	// The time prefix sorts files in sending order; the random part keeps
	// two messages of the same nanosecond apart.
	name := now.UTC().Format("20060102T150405.000000000Z") + "-" + hex.EncodeToString(r[:]) + ".eml"
	path := filepath.Join(o.Dir, name)
	// Written under a temporary name and renamed, so a reader polling the
	// directory never sees half a message.
	tmp, err := os.OpenFile(path+".tmp", os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("mail: outbox: %w", err)
	}
	_, werr := tmp.Write(c.data)
	cerr := tmp.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(path+".tmp", path)
	}
	if werr != nil {
		os.Remove(path + ".tmp")
		return fmt.Errorf("mail: outbox: %w", werr)
	}
	log.InfoContext(ctx, "mail: outbox message", "to", c.to, "subject", m.Subject, "file", path, "text", m.Text)
	return nil
}

// ReadOutbox returns the messages of an outbox directory, oldest first, with
// the subject and text decoded. It lets tests and operators follow a link a
// message carries.
func ReadOutbox(dir string) ([]Message, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if e.Type().IsRegular() && strings.HasSuffix(e.Name(), ".eml") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	out := make([]Message, 0, len(names))
	for _, n := range names {
		m, err := readEML(filepath.Join(dir, n))
		if err != nil {
			return nil, fmt.Errorf("mail: %s: %w", n, err)
		}
		out = append(out, m)
	}
	return out, nil
}

func readEML(path string) (Message, error) {
	f, err := os.Open(path)
	if err != nil {
		return Message{}, err
	}
	defer f.Close()
	pm, err := netmail.ReadMessage(f)
	if err != nil {
		return Message{}, err
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(pm.Header.Get("Subject"))
	if err != nil {
		return Message{}, err
	}
	to := pm.Header.Get("To")
	if a, err := netmail.ParseAddress(to); err == nil {
		to = a.Address
	}
	var body io.Reader = pm.Body
	if strings.EqualFold(pm.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
		body = quotedprintable.NewReader(pm.Body)
	}
	text, err := io.ReadAll(body)
	if err != nil {
		return Message{}, err
	}
	return Message{To: to, Subject: subject, Text: strings.ReplaceAll(string(text), "\r\n", "\n")}, nil
}
