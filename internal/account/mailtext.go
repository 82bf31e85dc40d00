package account

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/mail"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

func greeting(acct storage.Account) string {
	if acct.DisplayName != "" {
		return "Hello " + acct.DisplayName + ","
	}
	return "Hello,"
}

// resetMail is the password reset message. It says how long the link works
// and what to do if the request was not yours.
func resetMail(org storage.Organization, acct storage.Account, link string, ttl time.Duration, ssoLogin string) mail.Message {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n", greeting(acct))
	fmt.Fprintf(&b, "Someone asked to reset the password of your %s account (%s).\n", org.Name, acct.Email)
	fmt.Fprintf(&b, "To choose a new password, open this link:\n\n%s\n\n", link)
	if ssoLogin != "" {
		b.WriteString(ssoMailNote(org, ssoLogin))
	}
	fmt.Fprintf(&b, "The link is valid for %s and works once. Choosing a new password signs you out everywhere.\n\n", humanDuration(ttl))
	fmt.Fprintf(&b, "If you didn't ask for this, ignore this message: your password stays as it is.\n")
	return mail.Message{To: acct.Email, Subject: "Reset your " + org.Name + " password", Text: b.String()}
}

// inviteMail invites a new member to choose a first password.
func inviteMail(org storage.Organization, acct storage.Account, link string, ttl time.Duration, ssoLogin string) mail.Message {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n", greeting(acct))
	fmt.Fprintf(&b, "You have been invited to %s. Your account is %s.\n", org.Name, acct.Email)
	if ssoLogin != "" {
		fmt.Fprintf(&b, "To choose a password, open this link:\n\n%s\n\n", link)
		b.WriteString(ssoMailNote(org, ssoLogin))
	} else {
		fmt.Fprintf(&b, "To choose your password and sign in, open this link:\n\n%s\n\n", link)
	}
	fmt.Fprintf(&b, "The link is valid for %s and works once.\n\n", humanDuration(ttl))
	fmt.Fprintf(&b, "If you weren't expecting this, ignore this message.\n")
	return mail.Message{To: acct.Email, Subject: "You're invited to " + org.Name, Text: b.String()}
}

// SignsInWithSSO reports whether acct's policy sends it through the
// organization's IdP (SSO enforced for an address of a domain the
// organization verified). Such a person is never told to "sign in with
// your new password": the password is for when SSO is unavailable.
func (s *Service) SignsInWithSSO(ctx context.Context, acct storage.Account) (bool, error) {
	_, domain, _ := strings.Cut(acct.Email, "@")
	d, err := s.store.GetVerifiedDomain(ctx, domain)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("account: look up domain: %w", err)
	}
	if d.OrgID != acct.OrgID {
		return false, nil
	}
	p, err := s.store.PolicyFor(ctx, acct.OrgID, acct.ID)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("account: look up policy: %w", err)
	}
	return p.SSO == storage.SSOEnforced && p.ConnectionID != "", nil
}

// ssoMailNote is what an invitation or reset mail says to a person who
// signs in through single sign-on.
func ssoMailNote(org storage.Organization, login string) string {
	return fmt.Sprintf("You sign in to %s through your organization's single sign-on: go to %s and enter your email address.\n"+
		"The password you choose with the link above is not used while single sign-on works. It is for when "+
		"single sign-on is unavailable and your admin lets people sign in without it.\n\n", org.Name, login)
}

// ssoLogin is the sign-in address to name in acct's mail when its policy
// signs it in through SSO, "" otherwise (or when that cannot be told).
func (s *Service) ssoLogin(ctx context.Context, acct storage.Account) string {
	ok, err := s.SignsInWithSSO(ctx, acct)
	if err != nil {
		s.log.WarnContext(ctx, "cannot tell whether an account signs in with SSO", "account_id", acct.ID, "err", err)
		return ""
	}
	if !ok {
		return ""
	}
	return s.cfg.PublicURL + "/login"
}
