package sso

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/emailaddr"
	"github.com/gatehouse-id/gatehouse/internal/saml"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// maxDisplayName bounds names copied from the IdP.
const maxDisplayName = 100

// link finds the account the identity signs in to, inside tx:
//   - by the SSO link (connection, subject), so an email changed at the IdP
//     moves the account's email instead of creating a second account;
//   - else by email in the connection's organization, which gets linked —
//     unless the account is already linked to another subject of this
//     connection (see below);
//   - else, with JIT on, a new member account without a password.
//
// Either way an admin or owner account is signed in only as allowSSO
// permits. The caller has checked that email's domain is verified by the
// connection's organization. test marks an admin's test sign-in, which
// starts no session.
func (s *Service) link(ctx context.Context, tx storage.Store, conn storage.IdPConnection, a *saml.Assertion, id saml.Identity, email string, test bool, now time.Time) (acct storage.Account, jit bool, warnings []string, err error) {
	l, err := tx.GetSSOLink(ctx, conn.ID, id.Subject)
	switch {
	case err == nil:
		if acct, err = tx.GetAccount(ctx, l.AccountID); err != nil {
			return acct, false, nil, fmt.Errorf("sso: linked account: %w", err)
		}
		if acct.OrgID != conn.OrgID {
			// Storage refuses such links; never act on one anyway.
			return acct, false, nil, reject(ReasonCrossOrganization, "subject %q is linked to an account of another organization", trunc(id.Subject, 80))
		}
		if acct.Status != storage.StatusActive {
			return acct, false, nil, reject(ReasonAccountSuspended, "account %s is %s", acct.ID, acct.Status)
		}
		// An existing link is no licence either: an admin linked while under
		// an SSO policy and since made the break-glass account must not
		// stay reachable through the IdP.
		if err := s.allowSSO(ctx, tx, conn, acct, test); err != nil {
			return acct, false, nil, err
		}
		if acct.Email != email {
			if acct, err = s.changeEmail(ctx, tx, conn, acct, email, now); err != nil {
				return acct, false, nil, err
			}
		}
	case errors.Is(err, storage.ErrNotFound):
		acct, err = tx.GetAccountByEmail(ctx, email)
		switch {
		case err == nil && acct.OrgID != conn.OrgID:
			return acct, false, nil, reject(ReasonCrossOrganization, "an account of another organization has this email")
		case err == nil:
			if acct.Status != storage.StatusActive {
				return acct, false, nil, reject(ReasonAccountSuspended, "account %s is %s", acct.ID, acct.Status)
			}
			if err := s.checkUnlinked(ctx, tx, conn, acct, id.Subject); err != nil {
				return acct, false, nil, err
			}
			if err := s.allowSSO(ctx, tx, conn, acct, test); err != nil {
				return acct, false, nil, err
			}
		case errors.Is(err, storage.ErrNotFound):
			if !conn.JIT {
				return acct, false, nil, reject(ReasonAccountNotProvisioned, "no account has this email and just-in-time provisioning is off")
			}
			if acct, err = s.provision(ctx, tx, conn, id, email, now); err != nil {
				return acct, false, nil, err
			}
			jit = true
		default:
			return acct, false, nil, fmt.Errorf("sso: look up account by email: %w", err)
		}
		err = tx.CreateSSOLink(ctx, storage.SSOLink{ConnectionID: conn.ID, Subject: id.Subject, AccountID: acct.ID, CreatedAt: now, LastLoginAt: now})
		if err != nil {
			return acct, false, nil, fmt.Errorf("sso: link account: %w", err)
		}
		if err := record(ctx, tx, now, storage.AuditEvent{
			OrgID: conn.OrgID, ActorType: "system", Action: "sso.link", TargetType: "account", TargetID: acct.ID,
			Details: map[string]string{"connection": conn.Slug, "subject": id.Subject, "email": email},
		}); err != nil {
			return acct, false, nil, err
		}
	default:
		return acct, false, nil, fmt.Errorf("sso: look up SSO link: %w", err)
	}

	if err := tx.TouchSSOLink(ctx, conn.ID, id.Subject, now); err != nil {
		return acct, false, nil, fmt.Errorf("sso: touch SSO link: %w", err)
	}
	switch {
	case id.GroupsOverage:
		// The list is incomplete: applying it would take memberships away.
		warnings = append(warnings, WarningGroupsOverage)
	case id.GroupsUnusable != "":
		warnings = append(warnings, WarningGroupsUnusable+id.GroupsUnusable)
	case hasAttribute(a, groupsAttribute(conn)):
		if err := setGroups(ctx, tx, acct.ID, id.Groups, now); err != nil {
			return acct, false, nil, err
		}
	}
	// An IdP that sends no groups attribute at all says nothing about
	// groups; keep what SCIM or an earlier sign-in stored.
	return acct, jit, warnings, nil
}

// checkUnlinked refuses to link acct, found by the asserted email, to
// subject when the connection already links acct to another subject. The
// IdP has told us before who this account is; a second identity now
// claiming its address is an email attribute the user could edit, an
// address recycled for a new hire, or two IdP records sharing a mail —
// in every case linking would hand the account to someone else (the same
// rule changeEmail applies to a linked identity whose email moves onto
// another account). Links through other connections do not count: an
// organization moving to a new IdP links each account once per connection.
func (s *Service) checkUnlinked(ctx context.Context, tx storage.Store, conn storage.IdPConnection, acct storage.Account, subject string) error {
	links, err := tx.ListAccountSSOLinks(ctx, acct.ID)
	if err != nil {
		return fmt.Errorf("sso: look up links of account: %w", err)
	}
	for _, l := range links {
		if l.ConnectionID == conn.ID && l.Subject != subject {
			return reject(ReasonEmailConflict, "account %s is already linked to another identity of this connection (subject %q), not to %q",
				acct.ID, trunc(l.Subject, 80), trunc(subject, 80))
		}
	}
	return nil
}

// allowSSO decides whether the IdP may sign in acct, which the caller
// found by link or email. Members may (the organization's IdP speaks for
// its verified domains, and JIT roll-outs start while the default policy
// still has SSO off). An admin or owner may only when the account's
// policy signs it in through this very connection (SSO enforced or
// optional): the break-glass admin's policy has SSO off precisely so that
// whoever controls the IdP — or an IdP user able to set their email
// attribute — cannot assert their way into an admin account, past
// Gatehouse's MFA. Automatic linking of admins is opt-in through policy,
// as IdPs such as Okta and Keycloak make linking by email opt-in.
//
// A test sign-in is exempt: an admin of the organization started it (and
// proved so to Begin), and it starts no session. The link it may create
// grants nothing later, since every later sign-in passes here again.
func (s *Service) allowSSO(ctx context.Context, tx storage.Store, conn storage.IdPConnection, acct storage.Account, test bool) error {
	if test || !acct.Role.IsAdmin() {
		return nil
	}
	p, err := tx.PolicyFor(ctx, acct.OrgID, acct.ID)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return reject(ReasonSSONotAllowed, "admin account %s falls under no policy, so no policy lets it sign in through this connection", acct.ID)
	case err != nil:
		return fmt.Errorf("sso: look up policy of account: %w", err)
	}
	if (p.SSO == storage.SSOEnforced || p.SSO == storage.SSOOptional) && p.ConnectionID == conn.ID {
		return nil
	}
	return reject(ReasonSSONotAllowed, "admin account %s is under policy %q (SSO %s), which does not sign it in through this connection",
		acct.ID, trunc(p.Name, 100), p.SSO)
}

// changeEmail follows an email change at the IdP. The new domain was
// checked by the caller; the address must not belong to another account.
func (s *Service) changeEmail(ctx context.Context, tx storage.Store, conn storage.IdPConnection, acct storage.Account, email string, now time.Time) (storage.Account, error) {
	other, err := tx.GetAccountByEmail(ctx, email)
	switch {
	case err == nil && other.ID != acct.ID:
		return acct, reject(ReasonEmailConflict, "the IdP changed the email of account %s to one another account has", acct.ID)
	case err != nil && !errors.Is(err, storage.ErrNotFound):
		return acct, fmt.Errorf("sso: look up new email: %w", err)
	}
	if err := checkNotConfusable(ctx, tx, conn.OrgID, email, acct.ID); err != nil {
		return acct, err
	}
	old := acct.Email
	acct, err = tx.UpdateAccount(ctx, acct.ID, func(a *storage.Account) error {
		a.Email, a.UpdatedAt = email, now
		return nil
	})
	if err != nil {
		return acct, fmt.Errorf("sso: update email: %w", err)
	}
	return acct, record(ctx, tx, now, storage.AuditEvent{
		OrgID: conn.OrgID, ActorType: "system", Action: "account.email_change", TargetType: "account", TargetID: acct.ID,
		Details: map[string]string{"from": old, "to": email, "source": "sso", "connection": conn.Slug},
	})
}

// provision creates the account for a first sign-in (JIT): a member with
// no password, named as the IdP names the person.
func (s *Service) provision(ctx context.Context, tx storage.Store, conn storage.IdPConnection, id saml.Identity, email string, now time.Time) (storage.Account, error) {
	if err := checkNotConfusable(ctx, tx, conn.OrgID, email, ""); err != nil {
		return storage.Account{}, err
	}
	a := storage.Account{
		ID: uuid.NewString(), OrgID: conn.OrgID, Email: email, DisplayName: cleanDisplayName(id.DisplayName),
		Role: storage.RoleMember, Status: storage.StatusActive, CreatedAt: now, UpdatedAt: now, Version: 1,
		Origin: storage.OriginJIT,
	}
	if err := tx.CreateAccount(ctx, a); err != nil {
		return a, fmt.Errorf("sso: create account: %w", err)
	}
	stored, err := tx.GetAccount(ctx, a.ID)
	if err != nil {
		return a, fmt.Errorf("sso: read back new account: %w", err)
	}
	return stored, record(ctx, tx, now, storage.AuditEvent{
		OrgID: conn.OrgID, ActorType: "system", Action: "account.create", TargetType: "account", TargetID: a.ID,
		Details: map[string]string{"email": email, "role": string(a.Role), "source": "sso_jit", "connection": conn.Slug},
	})
}

// checkNotConfusable rejects email (ReasonEmailConfusable) when an account
// of orgID other than except has a lookalike address (same
// emailaddr.Skeleton, different text): an IdP user able to set their email
// attribute to ѕсоре@corp.example (Cyrillic) or ce0@corp.example must not
// get an account every person and app shows as scope@ or ceo@. The detail,
// which only the audit log and the server log carry, names the other
// account by ID, never by address.
func checkNotConfusable(ctx context.Context, tx storage.Accounts, orgID, email, except string) error {
	others, err := tx.ListAccountsByEmailSkeleton(ctx, orgID, emailaddr.Skeleton(email))
	if err != nil {
		return fmt.Errorf("sso: look up lookalike addresses: %w", err)
	}
	for _, o := range others {
		if o.ID != except && o.Email != email {
			return reject(ReasonEmailConfusable, "the asserted email looks like the address of account %s", o.ID)
		}
	}
	return nil
}

// cleanDisplayName keeps printable text from the IdP, bounded.
func cleanDisplayName(s string) string {
	if !utf8.ValidString(s) {
		return ""
	}
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, strings.TrimSpace(s))
	if utf8.RuneCountInString(s) > maxDisplayName {
		s = string([]rune(s)[:maxDisplayName])
	}
	return strings.TrimSpace(s)
}

func groupsAttribute(c storage.IdPConnection) string {
	if n := strings.TrimSpace(c.AttributeMap[saml.MapGroups]); n != "" {
		return n
	}
	return saml.DefaultMapping()[saml.MapGroups]
}

func hasAttribute(a *saml.Assertion, name string) bool {
	_, ok := a.Attributes[name]
	return ok
}

// setGroups stores the groups the IdP sent for accountID and, when they
// changed, tells every node's session cache to drop the account's cached
// sessions: the groups travel with a cached session (forward-auth's
// X-Gatehouse-Groups, apps' group restrictions), and must not outlive the
// IdP's word by more than a poll of the feed.
func setGroups(ctx context.Context, tx storage.Store, accountID string, groups []string, now time.Time) error {
	old, err := tx.ListAccountGroups(ctx, accountID)
	if err != nil {
		return fmt.Errorf("sso: read groups: %w", err)
	}
	if err := tx.SetAccountGroups(ctx, accountID, groups); err != nil {
		return fmt.Errorf("sso: set groups: %w", err)
	}
	stored, err := tx.ListAccountGroups(ctx, accountID)
	if err != nil {
		return fmt.Errorf("sso: read groups: %w", err)
	}
	if slices.Equal(old, stored) {
		return nil
	}
	if err := tx.PublishInvalidation(ctx, "account", accountID, now); err != nil {
		return fmt.Errorf("sso: publish groups change: %w", err)
	}
	return nil
}
