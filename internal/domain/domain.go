// Package domain lets an organization prove that it owns an email domain, by
// publishing a DNS TXT record, and answers which organization manages an
// email address.
//
// The flow: Add claims a name and issues a random token; the admin publishes
// TXTRecord(d) as a TXT record at the domain itself (RecordName(d), e.g.
// corp.example — not a _gatehouse.corp.example subdomain: one place to look,
// and the convention admins know from Google and Microsoft); Verify looks the
// record up and marks the domain verified. Several organizations may claim
// the same name, each with its own token, but only the first to verify holds
// it; the others are told it is taken. Verification is never withdrawn by a
// failed re-check — only Remove ends it — so a DNS hiccup cannot silently end
// SSO enforcement for a whole domain.
//
// Every change writes an audit event in the same transaction as the change.
package domain

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/lockout"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/errs"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// TXTPrefix starts the value of the verification TXT record.
const TXTPrefix = "gatehouse-verification="

// tokenBytes is the verification token's entropy (192 bits); the token is
// its hex text, 48 characters.
const tokenBytes = 24

// lookupTimeout bounds one Verify's DNS lookup, retries included.
const lookupTimeout = 5 * time.Second

// Errors callers match with errors.Is. Their texts, and those of the errors
// that wrap them, are safe to show people.
var (
	// ErrNotFound: no such domain in this organization (another
	// organization's domain is not found either).
	ErrNotFound error = errs.New(errs.NotFound, "", "Domain not found.")
	// ErrInvalidDomain: the name is not a plausible email domain; the
	// *InvalidInputError that matches it says why.
	ErrInvalidDomain error = errs.New(errs.Invalid, "", "That is not a valid domain name.")
	// ErrAlreadyAdded: the organization already claims the name.
	ErrAlreadyAdded error = errs.New(errs.Conflict, "", "This organization has already added that domain.")
	// ErrTakenByOtherOrg: another organization has verified the name.
	ErrTakenByOtherOrg error = errs.New(errs.Conflict, "domain_taken", "That domain is already verified by another organization.")
	// ErrNotVerified: the DNS check failed (record missing or wrong, or DNS
	// did not answer); the error's text says which, and is also stored as
	// the domain's LastError.
	ErrNotVerified error = errs.New(errs.PreconditionFailed, "verification_failed", "The domain could not be verified.")
)

// InvalidInputError describes a bad domain name in a sentence a person can
// act on. It matches ErrInvalidDomain.
type InvalidInputError struct {
	Field   string
	Message string
}

func (e *InvalidInputError) Error() string { return e.Message }

// Kind reports Invalid.
func (e *InvalidInputError) Kind() errs.Kind { return errs.Invalid }

// InputField returns Field.
func (e *InvalidInputError) InputField() string { return e.Field }

// Is makes errors.Is(err, ErrInvalidDomain) true.
func (e *InvalidInputError) Is(target error) bool { return target == ErrInvalidDomain }

// Error is a specific, shown-to-people message standing for one of the
// sentinels above (Sentinel), with the underlying cause kept for logs. It
// has its sentinel's errs kind and code.
type Error struct {
	Sentinel error
	Message  string
	cause    error
}

func (e *Error) Error() string { return e.Message }

// Kind returns the kind of the sentinel the error stands for.
func (e *Error) Kind() errs.Kind { return errs.KindOf(e.Sentinel) }

// Code returns the code of the sentinel the error stands for, "" if none.
func (e *Error) Code() string {
	if c, ok := e.Sentinel.(errs.Coded); ok {
		return c.Code()
	}
	return ""
}

// Unwrap lets errors.Is match Sentinel and, where there is one, the cause.
func (e *Error) Unwrap() []error {
	if e.cause == nil {
		return []error{e.Sentinel}
	}
	return []error{e.Sentinel, e.cause}
}

// Service manages an organization's domains.
type Service struct {
	store    storage.Store
	resolver *net.Resolver
	log      *slog.Logger
	now      func() time.Time
	// secondFactor proves break-glass owners to lockout.Check; see
	// SetSecondFactor.
	secondFactor lockout.SecondFactorFunc
}

// SetSecondFactor installs the second-factor lookup lockout.Check uses to
// prove a break-glass owner (at wiring). Without it nobody is proven, so a
// change that needs a break-glass owner is refused unless forced.
func (s *Service) SetSecondFactor(f lockout.SecondFactorFunc) { s.secondFactor = f }

// New returns the service. resolverAddr is "" for the system resolver, or
// host:port of the DNS server to ask instead (UDP, with TCP for truncated
// answers) — for tests and for deployments whose resolver hides public TXT
// records.
func New(store storage.Store, resolverAddr string, log *slog.Logger, now func() time.Time) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	r := net.DefaultResolver
	if resolverAddr != "" {
		r = &net.Resolver{
			PreferGo: true,
			Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, network, resolverAddr)
			},
		}
	}
	return &Service{store: store, resolver: r, log: log, now: now}
}

// TXTRecord returns the value the admin publishes as a TXT record at
// RecordName(d): "gatehouse-verification=<token>".
func (s *Service) TXTRecord(d storage.Domain) string { return TXTPrefix + d.VerificationToken }

// RecordName returns where the TXT record goes: the domain itself.
func (s *Service) RecordName(d storage.Domain) string { return d.Name }

// Add claims name for the organization and issues its verification token.
// Claiming a name another organization has verified is allowed (the claim
// waits, and verifies if that organization removes it); Verify refuses it
// while it is taken.
func (s *Service) Add(ctx context.Context, orgID, name string) (storage.Domain, error) {
	norm, err := Normalize(name)
	if err != nil {
		return storage.Domain{}, err
	}
	token, err := newToken()
	if err != nil {
		return storage.Domain{}, err
	}
	now := s.now()
	d := storage.Domain{
		ID:                uuid.NewString(),
		OrgID:             orgID,
		Name:              norm,
		VerificationToken: token,
		CreatedAt:         storage.Truncate(now),
	}
	err = s.store.InTx(ctx, func(tx storage.Store) error {
		if _, err := authz.RequireAdmin(ctx, tx, orgID); err != nil {
			return err
		}
		if err := tx.CreateDomain(ctx, d); err != nil {
			return err
		}
		return s.record(ctx, tx, now, d, "domain.add", audit.OutcomeSuccess, "")
	})
	switch {
	case errors.Is(err, storage.ErrConflict):
		return storage.Domain{}, &Error{ErrAlreadyAdded, fmt.Sprintf("This organization has already added %s.", norm), err}
	case errors.Is(err, storage.ErrNotFound):
		// The only reference CreateDomain makes is to the organization.
		return storage.Domain{}, &Error{ErrNotFound, "The organization does not exist.", err}
	case err != nil:
		return storage.Domain{}, fmt.Errorf("domain: add %s: %w", norm, err)
	}
	return d, nil
}

// List returns the organization's domains, verified or not, by name.
func (s *Service) List(ctx context.Context, orgID string) ([]storage.Domain, error) {
	ds, err := s.store.ListDomains(ctx, orgID)
	if err != nil {
		return nil, fmt.Errorf("domain: list: %w", err)
	}
	return ds, nil
}

// Get returns one of the organization's domains.
func (s *Service) Get(ctx context.Context, orgID, id string) (storage.Domain, error) {
	d, err := s.store.GetDomain(ctx, orgID, id)
	return d, mapNotFound(err, "get")
}

// Find resolves ref, a domain ID or a domain name (any case, with or
// without a trailing dot), within the organization. Another organization's
// domain is ErrNotFound, like one that does not exist.
func (s *Service) Find(ctx context.Context, orgID, ref string) (storage.Domain, error) {
	d, err := s.Get(ctx, orgID, ref)
	if err == nil || !errors.Is(err, ErrNotFound) {
		return d, err
	}
	name, nerr := Normalize(ref)
	if nerr != nil {
		return storage.Domain{}, err
	}
	ds, lerr := s.List(ctx, orgID)
	if lerr != nil {
		return storage.Domain{}, lerr
	}
	for _, d := range ds {
		if d.Name == name {
			return d, nil
		}
	}
	return storage.Domain{}, err
}

// Remove deletes the organization's domain and with it any verification:
// accounts of that domain are no longer managed by the organization.
func (s *Service) Remove(ctx context.Context, orgID, id string) error {
	now := s.now()
	err := s.store.InTx(ctx, func(tx storage.Store) error {
		if _, err := authz.RequireAdmin(ctx, tx, orgID); err != nil {
			return err
		}
		d, err := tx.GetDomain(ctx, orgID, id)
		if err != nil {
			return err
		}
		if err := tx.DeleteDomain(ctx, orgID, id); err != nil {
			return err
		}
		return s.record(ctx, tx, now, d, "domain.remove", audit.OutcomeSuccess, "")
	})
	return mapNotFound(err, "remove")
}

// ManagedBy returns the organization that has verified the domain of email.
// Only an exact match counts: a verified corp.example does not cover
// eu.corp.example, which its owner verifies separately (a subdomain may be
// delegated to someone else, and TXT proof for the parent says nothing about
// who controls it). An email without a plausible domain is managed by nobody.
func (s *Service) ManagedBy(ctx context.Context, email string) (orgID string, ok bool, err error) {
	at := strings.LastIndexByte(email, '@')
	if at < 0 {
		return "", false, nil
	}
	name, err := Normalize(email[at+1:])
	if err != nil {
		return "", false, nil
	}
	d, err := s.store.GetVerifiedDomain(ctx, name)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return "", false, nil
	case err != nil:
		return "", false, fmt.Errorf("domain: find the organization managing %s: %w", name, err)
	}
	return d.OrgID, true, nil
}

// record writes one audit event about d through tx.
func (s *Service) record(ctx context.Context, tx storage.Audit, now time.Time, d storage.Domain, action, outcome, reason string) error {
	details := map[string]string{"name": d.Name}
	if err := audit.Record(ctx, tx, storage.AuditEvent{
		OrgID:      d.OrgID,
		Time:       now,
		Action:     action,
		TargetType: "domain",
		TargetID:   d.ID,
		Outcome:    outcome,
		Reason:     reason,
		Details:    details,
	}); err != nil {
		return fmt.Errorf("domain: %w", err)
	}
	return nil
}

func newToken() (string, error) {
	b := make([]byte, tokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("domain: generate verification token: %w", err)
	}
	// Hex, not base64url: the value is pasted into DNS consoles and
	// command lines, where a leading "-" or an "_" causes trouble.
	return hex.EncodeToString(b), nil
}

// mapNotFound turns storage.ErrNotFound into ErrNotFound.
func mapNotFound(err error, op string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, storage.ErrNotFound):
		return &Error{ErrNotFound, ErrNotFound.Error(), err}
	}
	var own *Error
	if errors.As(err, &own) {
		return err
	}
	return fmt.Errorf("domain: %s: %w", op, err)
}
