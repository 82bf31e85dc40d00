package readiness

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/emailaddr"
	"github.com/gatehouse-id/gatehouse/internal/errs"
	"github.com/gatehouse-id/gatehouse/internal/mail"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// Preview says what Remind(ctx, orgID, emails) would do now, changing
// nothing: the console's confirmation shows it. Owners and admins only,
// like Remind.
func (s *Service) Preview(ctx context.Context, orgID string, emails []string) (Plan, error) {
	if _, err := authz.RequireAdmin(ctx, s.store, orgID); err != nil {
		return Plan{}, err
	}
	p, _, err := s.plan(ctx, s.store, orgID, emails)
	return p, err
}

// Remind mails the covered people without a passkey among emails (none:
// everyone covered without one) a reminder to register an emergency
// passkey, skipping whoever was reminded within ReminderInterval. The
// reminders are recorded and audited as one passkey.reminder_sent event
// in one transaction; the mails go out after it commits, in the
// background (Wait waits for them). Owners and admins only.
func (s *Service) Remind(ctx context.Context, orgID string, emails []string) (Result, error) {
	var res Result
	var org storage.Organization
	var mailTo []storage.PasskeyReadinessRow
	err := s.store.InTx(ctx, func(tx storage.Store) error {
		res, mailTo = Result{}, nil // InTx may retry fn
		if _, err := authz.RequireAdmin(ctx, tx, orgID); err != nil {
			return err
		}
		var err error
		if org, err = tx.GetOrganization(ctx, orgID); err != nil {
			return fmt.Errorf("readiness: read organization: %w", err)
		}
		plan, due, err := s.plan(ctx, tx, orgID, emails)
		if err != nil {
			return err
		}
		res.Skipped, res.NotCovered = plan.Skipped, plan.NotCovered
		now := s.now()
		ids := make([]string, 0, len(due))
		for _, r := range due {
			ids = append(ids, r.AccountID)
		}
		claimed, err := tx.ClaimPasskeyReminders(ctx, orgID, ids, now, now.Add(-ReminderInterval))
		if err != nil {
			return fmt.Errorf("readiness: record reminders: %w", err)
		}
		for _, r := range due {
			if _, ok := slices.BinarySearch(claimed, r.AccountID); ok {
				mailTo = append(mailTo, r)
				res.Mailed = append(res.Mailed, r.Email)
			} else {
				// Another batch reminded them a moment ago.
				res.Skipped = append(res.Skipped, r.Email)
			}
		}
		if len(res.Mailed) == 0 {
			return nil // nothing changed, nothing to audit
		}
		return audit.Record(ctx, tx, storage.AuditEvent{
			OrgID: orgID, Time: now, Action: ActionReminderSent,
			TargetType: "organization", TargetID: orgID,
			Details: map[string]string{
				"count":   strconv.Itoa(len(res.Mailed)),
				"emails":  strings.Join(res.Mailed, ","),
				"skipped": strconv.Itoa(len(res.Skipped)),
			},
		})
	})
	if err != nil {
		return Result{}, err
	}
	s.send(ctx, org, mailTo)
	return res, nil
}

// plan reads the covered people without a passkey (those named in
// emails, or all), a page at a time, and splits them into due and
// recently reminded.
func (s *Service) plan(ctx context.Context, st storage.Store, orgID string, emails []string) (Plan, []storage.PasskeyReadinessRow, error) {
	want, err := normalizeEmails(emails)
	if err != nil {
		return Plan{}, nil, err
	}
	pols, err := coveringPolicies(ctx, st, orgID)
	if err != nil {
		return Plan{}, nil, err
	}
	q := storage.PasskeyReadinessQuery{OrgID: orgID, PolicyIDs: policyIDs(pols), WithoutPasskey: true,
		Emails: want, Limit: pageSize}
	cutoff := s.now().Add(-ReminderInterval)
	var p Plan
	var due []storage.PasskeyReadinessRow
	found := map[string]bool{}
	for len(q.PolicyIDs) > 0 {
		rows, err := st.ListPasskeyReadiness(ctx, q)
		if err != nil {
			return Plan{}, nil, fmt.Errorf("readiness: list people to remind: %w", err)
		}
		for _, r := range rows {
			found[r.Email] = true
			if r.LastRemindedAt.After(cutoff) {
				p.Skipped = append(p.Skipped, r.Email)
			} else {
				due = append(due, r)
				p.ToMail = append(p.ToMail, r.Email)
			}
		}
		if len(rows) < pageSize {
			break
		}
		q.AfterEmail = rows[len(rows)-1].Email
	}
	for _, e := range want {
		if !found[e] {
			p.NotCovered = append(p.NotCovered, e)
		}
	}
	return p, due, nil
}

// normalizeEmails normalizes, de-duplicates and sorts the requested
// addresses; a malformed one refuses the whole request, so a typo is
// noticed rather than silently left out.
func normalizeEmails(in []string) ([]string, error) {
	if len(in) > MaxEmails {
		return nil, errs.NewInvalid("email", fmt.Sprintf("Name at most %d addresses at once.", MaxEmails))
	}
	out := make([]string, 0, len(in))
	for _, e := range in {
		if strings.TrimSpace(e) == "" {
			continue
		}
		n, err := emailaddr.Normalize(e)
		if err != nil {
			return nil, errs.NewInvalid("email", fmt.Sprintf("%q is not an email address.", e))
		}
		out = append(out, n)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// send mails each reminder in the background, after commit: a batch of
// thousands must not hold the request, and a failure is logged (the
// reminder stays recorded; the person is reminded again a week later).
func (s *Service) send(ctx context.Context, org storage.Organization, rows []storage.PasskeyReadinessRow) {
	if s.later.Sender == nil || len(rows) == 0 {
		return
	}
	ms := make([]mail.Message, 0, len(rows))
	for _, r := range rows {
		ms = append(ms, reminderMail(org, r, s.publicURL+"/account"))
	}
	s.later.Send(ctx, ms...)
}

// reminderMail is the reminder in plain language: what to do, and why.
func reminderMail(org storage.Organization, r storage.PasskeyReadinessRow, link string) mail.Message {
	var b strings.Builder
	if r.DisplayName != "" {
		fmt.Fprintf(&b, "Hello %s,\n\n", r.DisplayName)
	} else {
		b.WriteString("Hello,\n\n")
	}
	fmt.Fprintf(&b, "You sign in to %s (%s) through your organization's single sign-on.\n\n", org.Name, r.Email)
	b.WriteString("If single sign-on is ever down, a passkey lets you sign in without it, and without email, " +
		"which may be down at the same time. You have no passkey yet.\n\n")
	fmt.Fprintf(&b, "To add one, open this page, go to \"Passkeys\", and register a passkey marked for emergency sign-in:\n\n%s\n\n", link)
	b.WriteString("It takes a minute and uses your device's screen lock or a security key. " +
		"You keep signing in with single sign-on as usual; the passkey is for when that does not work.\n\n")
	fmt.Fprintf(&b, "An administrator of %s asked Gatehouse to send you this reminder.\n", org.Name)
	return mail.Message{To: r.Email, Subject: "Set up emergency sign-in for " + org.Name, Text: b.String()}
}
