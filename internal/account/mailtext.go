package account

import (
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
func resetMail(org storage.Organization, acct storage.Account, link string, ttl time.Duration) mail.Message {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n", greeting(acct))
	fmt.Fprintf(&b, "Someone asked to reset the password of your %s account (%s).\n", org.Name, acct.Email)
	fmt.Fprintf(&b, "To choose a new password, open this link:\n\n%s\n\n", link)
	fmt.Fprintf(&b, "The link is valid for %s and works once. Choosing a new password signs you out everywhere.\n\n", humanDuration(ttl))
	fmt.Fprintf(&b, "If you didn't ask for this, ignore this message: your password stays as it is.\n")
	return mail.Message{To: acct.Email, Subject: "Reset your " + org.Name + " password", Text: b.String()}
}

// inviteMail invites a new member to choose a first password.
func inviteMail(org storage.Organization, acct storage.Account, link string, ttl time.Duration) mail.Message {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n", greeting(acct))
	fmt.Fprintf(&b, "You have been invited to %s. Your account is %s.\n", org.Name, acct.Email)
	fmt.Fprintf(&b, "To choose your password and sign in, open this link:\n\n%s\n\n", link)
	fmt.Fprintf(&b, "The link is valid for %s and works once.\n\n", humanDuration(ttl))
	fmt.Fprintf(&b, "If you weren't expecting this, ignore this message.\n")
	return mail.Message{To: acct.Email, Subject: "You're invited to " + org.Name, Text: b.String()}
}
