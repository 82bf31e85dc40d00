package domain

import (
	"context"
	"errors"
	"fmt"
	"github.com/gatehouse-id/gatehouse/internal/authz"
	"net"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/lockout"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// Reasons recorded on failed domain.verify audit events.
const (
	reasonTaken     = "taken_by_other_org"
	reasonNoRecord  = "txt_not_found"
	reasonWrongTXT  = "txt_mismatch"
	reasonDNSFailed = "dns_error"
)

// Verify looks up the TXT records at the domain and marks it verified if one
// of them is exactly TXTRecord(d) (surrounding spaces ignored; a record split
// into several strings counts as their concatenation). Either way the check
// is recorded on the domain (LastCheckedAt, LastError) and audited as
// "domain.verify" in the same transaction.
//
// On failure the returned Domain is the stored one, its LastError the same
// sentence as the error's text: ErrNotVerified (record missing or different,
// or DNS did not answer) or ErrTakenByOtherOrg. A domain already verified by
// this organization is returned as it is, without a lookup.
//
// Verifying brings the domain's accounts under the organization's policies,
// so a verification that would leave no owner able to sign in without the
// IdP is refused with a *lockout.Error (nothing is written, the domain stays
// unverified) unless force (at most one) carries a reason, which is audited.
func (s *Service) Verify(ctx context.Context, orgID, id string, force ...lockout.Force) (storage.Domain, error) {
	var f lockout.Force
	if len(force) > 1 {
		return storage.Domain{}, &InvalidInputError{Field: "force_reason", Message: "Give one force reason."}
	}
	if len(force) == 1 {
		r, err := lockout.CheckReason(force[0].Reason)
		if err != nil {
			return storage.Domain{}, &InvalidInputError{Field: "force_reason", Message: err.Error()}
		}
		f.Reason = r
	}
	// Before any lookup: a refused actor learns nothing and leaves no
	// failed check behind. Asked again inside the transaction below.
	if _, err := authz.RequireAdmin(ctx, s.store, orgID); err != nil {
		return storage.Domain{}, err
	}
	d, err := s.store.GetDomain(ctx, orgID, id)
	if err != nil {
		return storage.Domain{}, mapNotFound(err, "verify")
	}
	if !d.VerifiedAt.IsZero() {
		return d, nil
	}
	taken := &Error{ErrTakenByOtherOrg, fmt.Sprintf("%s is already verified by another organization.", d.Name), nil}

	// Ask storage first: no point in a DNS lookup for a name that is taken.
	holder, err := s.store.GetVerifiedDomain(ctx, d.Name)
	switch {
	case err == nil && holder.OrgID != orgID:
		return s.fail(ctx, d, taken, reasonTaken)
	case err != nil && !errors.Is(err, storage.ErrNotFound):
		return storage.Domain{}, fmt.Errorf("domain: verify %s: %w", d.Name, err)
	}

	if failure, reason := s.check(ctx, d); failure != nil {
		return s.fail(ctx, d, failure, reason)
	}

	now := s.now()
	var out storage.Domain
	err = s.store.InTx(ctx, func(tx storage.Store) error {
		if _, err := authz.RequireAdmin(ctx, tx, orgID); err != nil {
			return err
		}
		res, err := lockout.Check(ctx, tx, orgID, func(c *lockout.Config) {
			c.VerifiedDomains = append(c.VerifiedDomains, d.Name)
		}, f, s.secondFactor)
		if err != nil {
			return err
		}
		if err := tx.RecordDomainCheck(ctx, orgID, id, now, now, ""); err != nil {
			return err
		}
		if err := s.recordForced(ctx, tx, now, d, res); err != nil {
			return err
		}
		out, err = tx.GetDomain(ctx, orgID, id)
		return err
	})
	switch {
	case errors.Is(err, lockout.ErrLockout):
		return storage.Domain{}, err
	case errors.Is(err, storage.ErrConflict):
		// Another organization verified the name between our look at
		// storage and our write: it was first, so it wins.
		return s.fail(ctx, d, taken, reasonTaken)
	case err != nil:
		return storage.Domain{}, mapNotFound(err, "verify "+d.Name)
	}
	s.log.InfoContext(ctx, "domain verified", "org_id", orgID, "domain", d.Name)
	return out, nil
}

// check looks up the TXT records of d and returns nil if the expected one is
// there, else an *Error (kind ErrNotVerified) saying what is wrong and the
// audit reason.
func (s *Service) check(ctx context.Context, d storage.Domain) (*Error, string) {
	want := s.TXTRecord(d)
	lctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	// The trailing dot makes the name absolute, so no search domain from
	// resolv.conf is ever appended to it.
	records, err := s.resolver.LookupTXT(lctx, d.Name+".")
	if err != nil {
		if dnsErr, ok := errors.AsType[*net.DNSError](err); ok && dnsErr.IsNotFound {
			return s.missing(d, want, err), reasonNoRecord
		}
		s.log.WarnContext(ctx, "domain verification: DNS lookup failed", "domain", d.Name, "err", err)
		return &Error{ErrNotVerified, fmt.Sprintf(
			"Could not look up the TXT records of %s: the DNS server did not answer properly. Try again in a few minutes.", d.Name), err}, reasonDNSFailed
	}
	sawOurs := false
	for _, r := range records {
		v := strings.TrimSpace(r)
		if v == want {
			return nil, ""
		}
		if strings.HasPrefix(v, TXTPrefix) {
			sawOurs = true
		}
	}
	if sawOurs {
		return &Error{ErrNotVerified, fmt.Sprintf(
			"The gatehouse-verification TXT record at %s does not match this organization's. Publish exactly %s. DNS changes can take a while to appear.",
			d.Name, want), nil}, reasonWrongTXT
	}
	return s.missing(d, want, nil), reasonNoRecord
}

func (s *Service) missing(d storage.Domain, want string, cause error) *Error {
	return &Error{ErrNotVerified, fmt.Sprintf(
		"No TXT record %s found at %s. DNS changes can take a while to appear.", want, d.Name), cause}
}

// fail records a failed check of d with failure's text as LastError, audits
// it, and returns the stored domain with failure.
func (s *Service) fail(ctx context.Context, d storage.Domain, failure *Error, reason string) (storage.Domain, error) {
	now := s.now()
	var out storage.Domain
	err := s.store.InTx(ctx, func(tx storage.Store) error {
		if err := tx.RecordDomainCheck(ctx, d.OrgID, d.ID, now, time.Time{}, failure.Message); err != nil {
			return err
		}
		if err := s.record(ctx, tx, now, d, "domain.verify", audit.OutcomeFailure, reason); err != nil {
			return err
		}
		var err error
		out, err = tx.GetDomain(ctx, d.OrgID, d.ID)
		return err
	})
	if err != nil {
		return storage.Domain{}, mapNotFound(err, "record failed check of "+d.Name)
	}
	return out, failure
}

// recordForced audits a successful verification, with the lockout force
// when one let it through.
func (s *Service) recordForced(ctx context.Context, tx storage.Audit, now time.Time, d storage.Domain, res lockout.Result) error {
	details := map[string]string{"name": d.Name}
	res.Annotate(details)
	if err := audit.Record(ctx, tx, storage.AuditEvent{
		OrgID: d.OrgID, Time: now, Action: "domain.verify", TargetType: "domain", TargetID: d.ID,
		Outcome: audit.OutcomeSuccess, Details: details,
	}); err != nil {
		return fmt.Errorf("domain: %w", err)
	}
	return nil
}
