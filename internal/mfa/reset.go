package mfa

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/mail"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// ActionReset is the audit action of an admin resetting a member's second
// factors.
const ActionReset = "mfa.reset"

// ResetWhat says which of a member's second factors an admin reset
// removes. AllFactors is what the console, the API and the CLI use.
type ResetWhat struct {
	TOTP          bool // the authenticator app (confirmed and pending)
	RecoveryCodes bool // personal recovery codes, used or not
	Passkeys      bool // every passkey, emergency ones included
}

// AllFactors removes everything: the person lost the device that held
// their factors, and a leftover one may be what a thief holds.
var AllFactors = ResetWhat{TOTP: true, RecoveryCodes: true, Passkeys: true}

func (w ResetWhat) none() bool { return !w.TOTP && !w.RecoveryCodes && !w.Passkeys }

// ResetResult is what a reset removed.
type ResetResult struct {
	Account           storage.Account
	TOTPRemoved       bool // an authenticator app (or a set-up in progress) was removed
	RecoveryCodes     int  // unused recovery codes removed
	Passkeys          int  // passkeys removed
	EmergencyPasskeys int  // of which emergency passkeys
	SessionsRevoked   int
}

// SetMailer gives the service the sender of the mail that tells a person
// an admin reset their sign-in methods. Without one the notice is logged
// and dropped.
func (s *Service) SetMailer(m mail.Sender) { s.later.Sender, s.later.Log = m, s.log }

// Wait blocks until background mail has been handed to the sender.
func (s *Service) Wait() { s.later.Wait() }

// ResetFactors removes accountID's second factors (what says which) at an
// admin's request, for a person who lost the device that held them, and
// ends all their sessions so a session opened with the lost device dies
// too. Removal, session revocation and the mfa.reset audit event are one
// transaction; the person is mailed after it commits.
//
// Admins (and admin tokens) may reset members and admins; an owner's
// factors only an owner, an owner token or the CLI may reset
// (authz.ErrOwnerOnly otherwise), as for every other change to an owner.
// An account of another organization is not found. A person under a
// policy that requires a second factor is asked to set up an
// authenticator app at their next sign-in (the sign-in engine's enrol
// step).
func (s *Service) ResetFactors(ctx context.Context, orgID, accountID string, what ResetWhat) (ResetResult, error) {
	if what.none() {
		return ResetResult{}, &account.InvalidInputError{Field: "what", Message: "Choose at least one sign-in method to reset."}
	}
	if strings.TrimSpace(orgID) == "" || strings.TrimSpace(accountID) == "" {
		return ResetResult{}, account.MapStoreErr(storage.ErrNotFound, "mfa", "account "+strconv.Quote(accountID)+" in this organization")
	}
	now := storage.Truncate(s.now())
	var res ResetResult
	var org storage.Organization
	err := s.store.InTx(ctx, func(tx storage.Store) error {
		// The actor first: a member or a read token learns nothing about
		// which accounts exist.
		if _, err := authz.RequireAdmin(ctx, tx, orgID); err != nil {
			return err
		}
		a, err := tx.GetAccount(ctx, accountID)
		if err == nil && a.OrgID != orgID {
			err = storage.ErrNotFound // IDs do not reach across organizations
		}
		if err != nil {
			return account.MapStoreErr(err, "mfa", "account "+strconv.Quote(accountID)+" in this organization")
		}
		if err := authz.RequireOwnerForMember(ctx, tx, a); err != nil {
			return err
		}
		if org, err = tx.GetOrganization(ctx, orgID); err != nil {
			return account.MapStoreErr(err, "mfa", "organization "+strconv.Quote(orgID))
		}
		res.Account = a
		if err := removeFactors(ctx, tx, a.ID, what, now, &res); err != nil {
			return err
		}
		// The last break-glass owner of an organization that enforces SSO
		// keeps a second factor: add another break-glass owner first.
		if err := keepBreakGlass(ctx, tx, a, s.secondFactor); err != nil {
			return err
		}
		if res.SessionsRevoked, err = account.RevokeAllSessions(ctx, tx, a.ID, "mfa_reset", now); err != nil {
			return err
		}
		return audit.Record(ctx, tx, storage.AuditEvent{
			OrgID: orgID, Time: now, Action: ActionReset, TargetType: "account", TargetID: a.ID,
			Details: resetDetails(a, what, res),
		})
	})
	if err != nil {
		return ResetResult{}, err
	}
	s.mailLater(ctx, resetMail(org, res.Account, what))
	return res, nil
}

// removeFactors deletes what was asked for in tx and counts it into res.
func removeFactors(ctx context.Context, tx storage.Store, accountID string, what ResetWhat, now time.Time, res *ResetResult) error {
	if what.TOTP {
		switch err := tx.DeleteTOTPFactor(ctx, accountID); {
		case err == nil:
			res.TOTPRemoved = true
		case !errors.Is(err, storage.ErrNotFound):
			return fmt.Errorf("mfa: remove authenticator app: %w", err)
		}
	}
	if what.RecoveryCodes {
		n, err := tx.CountRecoveryCodes(ctx, accountID)
		if err != nil {
			return fmt.Errorf("mfa: count recovery codes: %w", err)
		}
		// An empty set deletes every code, used ones included.
		if err := tx.ReplaceRecoveryCodes(ctx, accountID, nil, now); err != nil {
			return fmt.Errorf("mfa: remove recovery codes: %w", err)
		}
		res.RecoveryCodes = n
	}
	if what.Passkeys {
		pks, err := tx.ListPasskeys(ctx, accountID)
		if err != nil {
			return fmt.Errorf("mfa: list passkeys: %w", err)
		}
		for _, pk := range pks {
			if err := tx.DeletePasskey(ctx, accountID, pk.ID); err != nil && !errors.Is(err, storage.ErrNotFound) {
				return fmt.Errorf("mfa: remove passkey: %w", err)
			}
			res.Passkeys++
			if pk.Emergency {
				res.EmergencyPasskeys++
			}
		}
	}
	return nil
}

// resetDetails is what the audit event says was asked for and removed.
func resetDetails(a storage.Account, what ResetWhat, res ResetResult) map[string]string {
	var asked []string
	if what.TOTP {
		asked = append(asked, "totp")
	}
	if what.RecoveryCodes {
		asked = append(asked, "recovery_codes")
	}
	if what.Passkeys {
		asked = append(asked, "passkeys")
	}
	d := map[string]string{
		"email":            a.Email,
		"reset":            strings.Join(asked, ","),
		"sessions_revoked": strconv.Itoa(res.SessionsRevoked),
	}
	if what.TOTP {
		d["totp_removed"] = strconv.FormatBool(res.TOTPRemoved)
	}
	if what.RecoveryCodes {
		d["recovery_codes_removed"] = strconv.Itoa(res.RecoveryCodes)
	}
	if what.Passkeys {
		d["passkeys_removed"] = strconv.Itoa(res.Passkeys)
		d["emergency_passkeys_removed"] = strconv.Itoa(res.EmergencyPasskeys)
	}
	return d
}

// resetMail tells the person what happened and what to do if they did not
// ask for it: a reset nobody asked for is how an account takeover through
// a careless admin would show.
func resetMail(org storage.Organization, a storage.Account, what ResetWhat) mail.Message {
	var removed []string
	if what.TOTP {
		removed = append(removed, "authenticator app")
	}
	if what.RecoveryCodes {
		removed = append(removed, "recovery codes")
	}
	if what.Passkeys {
		removed = append(removed, "passkeys")
	}
	list := removed[0]
	if n := len(removed); n > 1 {
		list = strings.Join(removed[:n-1], ", ") + " and " + removed[n-1]
	}
	var b strings.Builder
	if a.DisplayName != "" {
		fmt.Fprintf(&b, "Hello %s,\n\n", a.DisplayName)
	} else {
		b.WriteString("Hello,\n\n")
	}
	fmt.Fprintf(&b, "An administrator of %s reset the sign-in methods of your account (%s): ", org.Name, a.Email)
	verb := "were"
	if list == "authenticator app" {
		verb = "was"
	}
	fmt.Fprintf(&b, "your %s %s removed, and you were signed out everywhere.\n\n", list, verb)
	b.WriteString("The next time you sign in, you will be asked to set up new ones.\n\n")
	b.WriteString("If you did not ask your administrator for this, tell them at once.\n")
	return mail.Message{To: a.Email, Subject: "Your " + org.Name + " sign-in methods were reset", Text: b.String()}
}

// mailLater sends m in the background after the transaction committed;
// the admin's request does not wait on SMTP, and a failure is logged.
func (s *Service) mailLater(ctx context.Context, m mail.Message) {
	if s.later.Log == nil {
		s.later.Log = s.log
	}
	s.later.Send(ctx, m)
}
