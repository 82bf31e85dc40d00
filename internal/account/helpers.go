package account

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/errs"
	"github.com/gatehouse-id/gatehouse/internal/mail"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// clock returns the injected now at storage precision (UTC microseconds), so
// records this service returns equal what a later read returns.
func (s *Service) clock() time.Time { return storage.Truncate(s.now()) }

// newSecret returns 32 random bytes as unpadded base64url: the secret part of
// every link and API token.
func newSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("account: read random token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// hashToken is how secrets are stored and looked up: hex SHA-256. Looking up
// by hash means no secret is ever compared byte by byte against input.
func hashToken(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// link builds PublicURL + path + ?token=… (+ extra query).
func (s *Service) link(path, token, extra string) string {
	u := strings.TrimRight(s.cfg.PublicURL, "/") + path + "?token=" + token
	if extra != "" {
		u += "&" + extra
	}
	return u
}

// newOneTimeToken creates a token of purpose for acct in tx and returns the
// secret to put in a link.
func (s *Service) newOneTimeToken(ctx context.Context, tx storage.Store, purpose string, acct storage.Account, ttl time.Duration, ip string, now time.Time) (string, error) {
	secret, err := newSecret()
	if err != nil {
		return "", err
	}
	err = tx.CreateToken(ctx, storage.OneTimeToken{
		TokenHash: hashToken(secret),
		Purpose:   purpose,
		AccountID: acct.ID,
		OrgID:     acct.OrgID,
		CreatedAt: now,
		ExpiresAt: now.Add(ttl),
		RequestIP: ip,
	})
	if err != nil {
		return "", fmt.Errorf("account: create %s token: %w", purpose, err)
	}
	return secret, nil
}

// liveToken returns the stored token secret names if it has one of
// purposes, is unused and unexpired at now; otherwise ErrInvalidLink.
func liveToken(ctx context.Context, st storage.OneTimeTokens, secret string, now time.Time, purposes ...string) (storage.OneTimeToken, error) {
	if secret == "" {
		return storage.OneTimeToken{}, ErrInvalidLink
	}
	t, err := st.GetToken(ctx, hashToken(secret))
	if errors.Is(err, storage.ErrNotFound) {
		return t, ErrInvalidLink
	}
	if err != nil {
		return t, fmt.Errorf("account: read one-time token: %w", err)
	}
	okPurpose := false
	for _, p := range purposes {
		okPurpose = okPurpose || t.Purpose == p
	}
	if !okPurpose || !t.UsedAt.IsZero() || !now.Before(t.ExpiresAt) {
		return t, ErrInvalidLink
	}
	return t, nil
}

// useToken consumes t; a concurrent use that got there first makes this one
// an invalid link.
func useToken(ctx context.Context, tx storage.OneTimeTokens, t storage.OneTimeToken, now time.Time) error {
	err := tx.UseToken(ctx, t.TokenHash, now)
	if errors.Is(err, storage.ErrConflict) || errors.Is(err, storage.ErrNotFound) {
		return ErrInvalidLink
	}
	if err != nil {
		return fmt.Errorf("account: use one-time token: %w", err)
	}
	return nil
}

// record writes an audit event through tx with the service's clock; Outcome
// defaults to success. audit.Record fills actor and request fields from ctx.
func (s *Service) record(ctx context.Context, tx storage.Audit, now time.Time, e storage.AuditEvent) error {
	if e.ID == "" {
		e.ID = uuid.NewString()
	}
	if e.Time.IsZero() {
		e.Time = now
	}
	if e.Outcome == "" {
		e.Outcome = "success"
	}
	if err := audit.Record(ctx, tx, e); err != nil {
		return fmt.Errorf("account: audit %s: %w", e.Action, err)
	}
	return nil
}

// recordOutside writes an audit event in its own transaction, for failures
// that change nothing else.
func (s *Service) recordOutside(ctx context.Context, now time.Time, e storage.AuditEvent) error {
	return s.store.InTx(ctx, func(tx storage.Store) error { return s.record(ctx, tx, now, e) })
}

// sendLater delivers m in the background after the caller's transaction
// has committed (mail.Later): sending never blocks the request, so how long
// a reset request takes says nothing about whether the account exists.
func (s *Service) sendLater(ctx context.Context, m mail.Message) { s.later.Send(ctx, m) }

// MapStoreErr is the one translation of storage errors into service
// answers, used by every service that reads records for callers: a
// storage.ErrNotFound becomes ErrNotFound and a storage.ErrConflict
// ErrExists, each naming what (`account "x"`, `policy "Sales"`) and
// keeping the storage error for logs and errors.Is. An error that already
// carries a kind of its own (errs.Kinded, other than those two storage
// sentinels) is the service's answer and passes unchanged; anything else is
// an internal failure, wrapped as "pkg: what: err".
func MapStoreErr(err error, pkg, what string) error {
	if err == nil {
		return nil
	}
	var k errs.Kinded
	if errors.As(err, &k) && error(k) != storage.ErrNotFound && error(k) != storage.ErrConflict {
		return err
	}
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return errs.NewNamed(ErrNotFound, what, err)
	case errors.Is(err, storage.ErrConflict):
		return errs.NewNamed(ErrExists, what, err)
	}
	return fmt.Errorf("%s: %s: %w", pkg, what, err)
}

func mapErr(err error, what string) error { return MapStoreErr(err, "account", what) }

// mapUpdateErr maps an UpdateAccount error: the account vanished
// (ErrNotFound), fn refused (its error unchanged), or an internal failure. A
// stale version is not "already exists", so it stays an internal error.
func mapUpdateErr(err error, id string) error {
	if err == nil || isOwnErr(err) {
		return err
	}
	if errors.Is(err, storage.ErrNotFound) {
		return errs.NewNamed(ErrNotFound, "account "+strconv.Quote(id), err)
	}
	return fmt.Errorf("account: update account %q: %w", id, err)
}

// isOwnErr reports whether err already is a service's answer: classified,
// and not merely a storage sentinel.
func isOwnErr(err error) bool {
	var k errs.Kinded
	return errors.As(err, &k) && error(k) != storage.ErrNotFound && error(k) != storage.ErrConflict
}

func notFound(what string) error {
	return errs.NewNamed(ErrNotFound, what, storage.ErrNotFound)
}

// cleanText trims s and checks it is valid, printable text of 1..max
// characters (0..max when optional). Control characters are refused: they
// break mails and logs, and PostgreSQL cannot store NUL.
func cleanText(field, label, s string, max int, optional bool) (string, error) {
	if !utf8.ValidString(s) {
		return "", &InvalidInputError{Field: field, Message: label + " contains characters that are not valid text."}
	}
	s = strings.TrimSpace(s)
	n := utf8.RuneCountInString(s)
	if n == 0 && !optional {
		return "", &InvalidInputError{Field: field, Message: "Enter " + strings.ToLower(label[:1]) + label[1:] + "."}
	}
	if n > max {
		return "", &InvalidInputError{Field: field, Message: fmt.Sprintf("%s can be at most %d characters long.", label, max)}
	}
	if strings.ContainsFunc(s, unicode.IsControl) {
		return "", &InvalidInputError{Field: field, Message: label + " cannot contain control characters."}
	}
	return s, nil
}

// checkID validates an identifier argument. Invalid UTF-8 is bad input;
// anything else that cannot be an ID simply names nothing.
func checkID(field, what, id string) error {
	if !utf8.ValidString(id) {
		return &InvalidInputError{Field: field, Message: "The " + what + " ID is not valid text."}
	}
	if id == "" || len(id) > 200 || strings.ContainsFunc(id, unicode.IsControl) {
		return notFound(what + " " + strconv.Quote(id))
	}
	return nil
}

// checkIP vets the client address a caller passes in. It becomes part of a
// throttle key and of audit events, so it must be storable text; a real
// address (IPv6 with zone included) is far shorter than the limit.
func checkIP(ip string) error {
	if !utf8.ValidString(ip) || len(ip) > 100 || strings.ContainsFunc(ip, unicode.IsControl) {
		return &InvalidInputError{Field: "ip", Message: "The client address is not valid."}
	}
	return nil
}

// humanDuration renders a TTL for a mail: "30 minutes", "1 hour", "7 days".
func humanDuration(d time.Duration) string {
	plural := func(n int64, unit string) string {
		if n == 1 {
			return "1 " + unit
		}
		return strconv.FormatInt(n, 10) + " " + unit + "s"
	}
	switch {
	case d >= 24*time.Hour && d%(24*time.Hour) == 0:
		return plural(int64(d/(24*time.Hour)), "day")
	case d >= time.Hour && d%time.Hour == 0:
		return plural(int64(d/time.Hour), "hour")
	case d >= time.Minute:
		return plural(int64(d/time.Minute), "minute")
	}
	return plural(int64(d/time.Second), "second")
}
