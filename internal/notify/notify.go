// Package notify mails an organization's administrators about events they
// must hear of even when nobody looks at the console: an emergency started
// or ended, a break-glass sign-in, a recovery, an SSO incident, a signing
// certificate about to expire.
//
// Mail is sent after the change it reports has committed (never inside a
// transaction, which may be retried), and a failure to send is logged, not
// returned: the change stands and the audit log holds it either way.
package notify

import (
	"context"
	"fmt"
	"log/slog"
	"slices"

	"github.com/gatehouse-id/gatehouse/internal/mail"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// Admins mails the active owners and admins of an organization.
type Admins struct {
	store  storage.Accounts
	mailer mail.Sender
	log    *slog.Logger
}

// New returns an Admins notifier. mailer may be nil (nothing is sent).
func New(store storage.Accounts, mailer mail.Sender, log *slog.Logger) *Admins {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Admins{store: store, mailer: mailer, log: log}
}

// Recipients returns the active owners and admins of orgID, by email,
// leaving out the accounts whose IDs are in except.
func (n *Admins) Recipients(ctx context.Context, orgID string, except ...string) ([]storage.Account, error) {
	accts, err := n.store.ListAccounts(ctx, orgID)
	if err != nil {
		return nil, fmt.Errorf("notify: list admins: %w", err)
	}
	var out []storage.Account
	for _, a := range accts {
		if a.Role.IsAdmin() && a.Status == storage.StatusActive && !slices.Contains(except, a.ID) {
			out = append(out, a)
		}
	}
	return out, nil
}

// Send mails subject and text to every active owner and admin of orgID but
// the accounts in except, and returns how many messages were sent. Errors
// are logged per recipient; one bad address does not stop the others.
func (n *Admins) Send(ctx context.Context, orgID, subject, text string, except ...string) int {
	if n == nil || n.mailer == nil {
		return 0
	}
	rcpts, err := n.Recipients(ctx, orgID, except...)
	if err != nil {
		n.log.ErrorContext(ctx, "cannot list admins to notify", "org_id", orgID, "subject", subject, "err", err)
		return 0
	}
	sent := 0
	for _, a := range rcpts {
		if err := n.mailer.Send(ctx, mail.Message{To: a.Email, Subject: subject, Text: text}); err != nil {
			n.log.ErrorContext(ctx, "cannot mail an admin", "org_id", orgID, "to", a.Email, "subject", subject, "err", err)
			continue
		}
		sent++
	}
	return sent
}
