package account

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/errs"
	"github.com/gatehouse-id/gatehouse/internal/lockout"
	"github.com/gatehouse-id/gatehouse/internal/mail"
	"github.com/gatehouse-id/gatehouse/internal/reqctx"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// What an admin does to one member from their page, the API or the CLI.
// Each call checks the actor (authz) before reading anything, works in one
// transaction and writes its audit event in it.

var (
	// ErrNotInvited: an invitation is resent only to someone who has never
	// signed in and set no password; others use a password-reset link.
	ErrNotInvited error = errs.New(errs.Conflict, "not_invited", "They have already signed in or set a password, so there is no invitation to resend. Send a password-reset link instead.")
	// ErrSuspendedAccount: mail that lets someone sign in is not sent to a
	// suspended account.
	ErrSuspendedAccount error = errs.New(errs.PreconditionFailed, "suspended", "The account is suspended. Reactivate it first.")
	// ErrDeleteSelf: an admin cannot delete their own account; another
	// admin or owner must, so nobody removes themselves by mistake.
	ErrDeleteSelf error = errs.New(errs.PreconditionFailed, "delete_self", "You can't delete your own account. Ask another owner or admin.")
	// ErrSuspendSelf: an admin cannot suspend their own account, for the
	// same reason.
	ErrSuspendSelf error = errs.New(errs.PreconditionFailed, "suspend_self", "You can't suspend your own account. Ask another owner or admin.")
	// ErrResetRefused: the organization does not send this account reset
	// mail right now (during an emergency, only people who may fail back
	// get it).
	ErrResetRefused error = errs.New(errs.PreconditionFailed, "reset_refused", "A password-reset link can't be sent to this account right now: during the emergency only people who may sign in without the IdP get one.")
)

// adminTarget opens the admin action on accountID inside tx: the actor must
// be an admin (an owner when the target is an owner) and the account one of
// orgID's.
func adminTarget(ctx context.Context, tx storage.Store, orgID, accountID string) (storage.Account, error) {
	if err := requireAdminFor(ctx, tx, orgID, false); err != nil {
		return storage.Account{}, err
	}
	a, err := memberOf(ctx, tx, orgID, accountID)
	if err != nil {
		return storage.Account{}, err
	}
	return a, authz.RequireOwnerForMember(ctx, tx, a)
}

// SetDisplayName changes the name a member is shown by ("" clears it).
func (s *Service) SetDisplayName(ctx context.Context, orgID, accountID, name string) (storage.Account, error) {
	if err := checkID("org_id", "organization", orgID); err != nil {
		return storage.Account{}, err
	}
	name, err := cleanText("display_name", "The name", name, 100, true)
	if err != nil {
		return storage.Account{}, err
	}
	now := s.clock()
	var out storage.Account
	err = s.store.InTx(ctx, func(tx storage.Store) error {
		a, err := adminTarget(ctx, tx, orgID, accountID)
		if err != nil {
			return err
		}
		if a.DisplayName == name {
			out = a
			return nil
		}
		if out, err = tx.UpdateAccount(ctx, a.ID, func(c *storage.Account) error {
			c.DisplayName, c.UpdatedAt = name, now
			return nil
		}); err != nil {
			return mapUpdateErr(err, a.ID)
		}
		return s.record(ctx, tx, now, storage.AuditEvent{
			OrgID: orgID, Action: "account.update", TargetType: "account", TargetID: a.ID,
			Details: map[string]string{"email": a.Email, "field": "display_name"},
		})
	})
	if err != nil {
		return storage.Account{}, err
	}
	return out, nil
}

// neverSignedIn reports whether a is still only invited: no password, no
// session ever, no SSO link.
func neverSignedIn(ctx context.Context, st storage.Store, a storage.Account) (bool, error) {
	if a.PasswordHash != "" {
		return false, nil
	}
	_, err := st.LastSession(ctx, a.ID)
	if err == nil {
		return false, nil
	}
	if !errors.Is(err, storage.ErrNotFound) {
		return false, fmt.Errorf("account: last session: %w", err)
	}
	links, err := st.ListAccountSSOLinks(ctx, a.ID)
	if err != nil {
		return false, fmt.Errorf("account: SSO links: %w", err)
	}
	return len(links) == 0, nil
}

// ResendInvitation mails a new invitation to a member who has never signed
// in; the links mailed before stop working.
func (s *Service) ResendInvitation(ctx context.Context, orgID, accountID string) error {
	return s.mailMemberLink(ctx, orgID, accountID, memberLink{
		purpose: storage.PurposeInvite, ttl: s.cfg.InviteTTL, action: "account.invite_resend", older: "invitations",
		check: func(tx storage.Store, a *storage.Account) error {
			invited, err := neverSignedIn(ctx, tx, *a)
			if err != nil {
				return err
			}
			if !invited {
				return ErrNotInvited
			}
			return nil
		},
		mail: func(org storage.Organization, a storage.Account, secret string) mail.Message {
			return inviteMail(org, a, s.link("/reset", secret, "invite=1"), s.cfg.InviteTTL, s.ssoLogin(ctx, a))
		},
	})
}

// SendPasswordReset mails a member the password-reset link the "forgot
// password" page sends, on an admin's request. Older reset links stop
// working. Like that page it honours the reset gate (during an emergency
// only people who may fail back get one).
func (s *Service) SendPasswordReset(ctx context.Context, orgID, accountID string) error {
	return s.mailMemberLink(ctx, orgID, accountID, memberLink{
		purpose: storage.PurposeReset, ttl: s.cfg.ResetTTL, action: "password_reset.send", older: "reset links",
		check: func(_ storage.Store, a *storage.Account) error {
			if s.resetGate == nil {
				return nil
			}
			allow, _, _, err := s.resetGate(ctx, a.Email, a)
			if err != nil {
				return fmt.Errorf("account: reset gate: %w", err)
			}
			if !allow {
				return ErrResetRefused
			}
			return nil
		},
		mail: func(org storage.Organization, a storage.Account, secret string) mail.Message {
			return resetMail(org, a, s.link("/reset", secret, ""), s.cfg.ResetTTL, s.ssoLogin(ctx, a))
		},
	})
}

// memberLink is what differs between the admin's "mail them a link"
// actions (invitation, password reset).
type memberLink struct {
	purpose string
	ttl     time.Duration
	action  string // audit action
	older   string // what the invalidated tokens are, for errors
	// check refuses the member (after the actor and active checks).
	check func(tx storage.Store, a *storage.Account) error
	mail  func(org storage.Organization, a storage.Account, secret string) mail.Message
}

// mailMemberLink mails an active member a new one-time link of l.purpose:
// in one transaction it checks the actor, voids the older links of that
// purpose, makes the new one and records l.action; the mail goes after.
func (s *Service) mailMemberLink(ctx context.Context, orgID, accountID string, l memberLink) error {
	if err := checkID("org_id", "organization", orgID); err != nil {
		return err
	}
	now := s.clock()
	var org storage.Organization
	var acct storage.Account
	var secret string
	err := s.store.InTx(ctx, func(tx storage.Store) error {
		a, err := adminTarget(ctx, tx, orgID, accountID)
		if err != nil {
			return err
		}
		if a.Status != storage.StatusActive {
			return ErrSuspendedAccount
		}
		if err := l.check(tx, &a); err != nil {
			return err
		}
		if org, err = tx.GetOrganization(ctx, orgID); err != nil {
			return mapErr(err, "organization "+strconv.Quote(orgID))
		}
		if err := tx.InvalidateTokens(ctx, a.ID, l.purpose, now); err != nil {
			return fmt.Errorf("account: invalidate older %s: %w", l.older, err)
		}
		if secret, err = s.newOneTimeToken(ctx, tx, l.purpose, a, l.ttl, reqctx.From(ctx).IP, now); err != nil {
			return err
		}
		acct = a
		return s.record(ctx, tx, now, storage.AuditEvent{
			OrgID: orgID, Action: l.action, TargetType: "account", TargetID: a.ID,
			Details: map[string]string{"email": a.Email, "expires_at": now.Add(l.ttl).Format(time.RFC3339)},
		})
	})
	if err != nil {
		return err
	}
	s.sendLater(ctx, l.mail(org, acct, secret))
	return nil
}

// DeleteMember removes a member for good: the account row with its
// sessions (so the tokens apps hold through those sessions stop working),
// SSO links, groups, second factors, passkeys, policy membership and
// unused links. The last active owner cannot be deleted, an admin cannot
// delete themselves, and a deletion that leaves no owner able to sign in
// without the IdP is refused with a *lockout.Error unless force (at most
// one) has a reason.
//
// The audit log is not rewritten: it is a hash chain, and its past events
// keep the email they recorded (the log's own retention governs them).
// The deletion event records the email and role, so the log still says
// whom the earlier events were about.
func (s *Service) DeleteMember(ctx context.Context, orgID, accountID string, force ...lockout.Force) error {
	if err := checkID("org_id", "organization", orgID); err != nil {
		return err
	}
	f, err := oneForce(force)
	if err != nil {
		return err
	}
	now := s.clock()
	return s.store.InTx(ctx, func(tx storage.Store) error {
		a, err := adminTarget(ctx, tx, orgID, accountID)
		if err != nil {
			return err
		}
		if info := reqctx.From(ctx); info.ActorType == "account" && info.ActorID == a.ID {
			return ErrDeleteSelf
		}
		if a.Role == storage.RoleOwner && a.Status == storage.StatusActive {
			if err := keepAnOwner(ctx, tx, orgID, a.ID); err != nil {
				return err
			}
		}
		res, err := lockout.Check(ctx, tx, orgID, func(c *lockout.Config) { c.RemoveAccount(a.ID) }, f, s.secondFactor)
		if err != nil {
			return err
		}
		// Revoking first tells every node to drop what it cached about the
		// sessions the deletion takes with it.
		n, err := revokeAll(ctx, tx, a.ID, "", "deleted", now)
		if err != nil {
			return err
		}
		if err := tx.DeleteAccount(ctx, orgID, a.ID); err != nil {
			return mapErr(err, "account "+strconv.Quote(a.ID))
		}
		details := map[string]string{"email": a.Email, "role": string(a.Role), "sessions_revoked": strconv.Itoa(n)}
		res.Annotate(details)
		return s.record(ctx, tx, now, storage.AuditEvent{
			OrgID: orgID, Action: "account.delete", TargetType: "account", TargetID: a.ID, Details: details,
		})
	})
}

// UnlinkSSO removes one of a member's SSO links, named by its LinkID:
// their next SSO sign-in as that subject links again by email (or, for a
// new email, creates a new account), which is how an admin undoes a link
// made to the wrong person. It does not change who can sign in without
// the IdP (policies and groups decide that, and the member's groups stay
// until their next SSO sign-in), so it needs no lockout check; their
// sessions are not ended.
func (s *Service) UnlinkSSO(ctx context.Context, orgID, accountID, linkID string) error {
	if err := checkID("org_id", "organization", orgID); err != nil {
		return err
	}
	now := s.clock()
	return s.store.InTx(ctx, func(tx storage.Store) error {
		a, err := adminTarget(ctx, tx, orgID, accountID)
		if err != nil {
			return err
		}
		links, err := tx.ListAccountSSOLinks(ctx, a.ID)
		if err != nil {
			return fmt.Errorf("account: SSO links: %w", err)
		}
		i := slices.IndexFunc(links, func(l storage.SSOLink) bool {
			return subtle.ConstantTimeCompare([]byte(LinkID(l)), []byte(linkID)) == 1
		})
		if i < 0 {
			return notFound("SSO link " + strconv.Quote(linkID) + " of this member")
		}
		l := links[i]
		if err := tx.DeleteSSOLink(ctx, l.ConnectionID, l.Subject); err != nil {
			return mapErr(err, "SSO link of account "+strconv.Quote(a.ID))
		}
		return s.record(ctx, tx, now, storage.AuditEvent{
			OrgID: orgID, Action: "account.sso_unlink", TargetType: "account", TargetID: a.ID,
			Details: map[string]string{"email": a.Email, "connection_id": l.ConnectionID, "subject": l.Subject},
		})
	})
}

// LinkID names an SSO link in URLs: a link is keyed by (connection,
// subject), and the subject is whatever the IdP sends, so the ID is a
// digest of both rather than the subject itself.
func LinkID(l storage.SSOLink) string {
	sum := sha256.Sum256([]byte(l.ConnectionID + "\x00" + l.Subject))
	return hex.EncodeToString(sum[:16])
}

// RevokeMemberSession ends one session of a member (ErrNotFound when it
// is not theirs or already over).
func (s *Service) RevokeMemberSession(ctx context.Context, orgID, accountID, sessionID string) error {
	if err := checkID("org_id", "organization", orgID); err != nil {
		return err
	}
	if err := checkID("session_id", "session", sessionID); err != nil {
		return err
	}
	now := s.clock()
	return s.store.InTx(ctx, func(tx storage.Store) error {
		a, err := adminTarget(ctx, tx, orgID, accountID)
		if err != nil {
			return err
		}
		sess, err := tx.GetSession(ctx, sessionID)
		if err == nil && (sess.AccountID != a.ID || !sess.RevokedAt.IsZero() || !now.Before(sess.ExpiresAt)) {
			err = storage.ErrNotFound
		}
		if err != nil {
			return mapErr(err, "session "+strconv.Quote(sessionID)+" of this member")
		}
		if err := tx.RevokeSession(ctx, sess.ID, "admin", now); err != nil {
			return fmt.Errorf("account: revoke session: %w", err)
		}
		if err := tx.PublishInvalidation(ctx, "session", sess.ID, now); err != nil {
			return fmt.Errorf("account: publish session invalidation: %w", err)
		}
		return s.record(ctx, tx, now, storage.AuditEvent{
			OrgID: orgID, Action: "session.revoke", TargetType: "account", TargetID: a.ID, Reason: "admin",
			Details: map[string]string{"email": a.Email, "session_id": sess.ID},
		})
	})
}
