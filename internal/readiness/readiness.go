// Package readiness answers, before any emergency, "who could still sign
// in if single sign-on went down": the active people under a policy that
// enforces SSO and allows failback, and whether each has a passkey
// (issue #7 item 4). It also reminds those without one, by mail, at most
// once a week per person.
//
// Any usable passkey signs a person in during an emergency, so "ready"
// means "has a passkey"; the pages say which are flagged as emergency
// credentials, since those are the ones the person set up for this.
package readiness

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/errs"
	"github.com/gatehouse-id/gatehouse/internal/mail"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// ReminderInterval is how long after a reminder the same person is not
// reminded again, whoever asks: a batch resent by mistake must not flood
// anyone's inbox.
const ReminderInterval = 7 * 24 * time.Hour

// ActionReminderSent is the audit action of one batch of reminders.
const ActionReminderSent = "passkey.reminder_sent"

// MaxEmails bounds the addresses one reminder request may name.
const MaxEmails = 1000

// pageSize is how many accounts a batch reads per query.
const pageSize = 500

// Service lists readiness and sends reminders.
type Service struct {
	store     storage.Store
	later     mail.Later // reminders, sent after commit
	publicURL string
	log       *slog.Logger
	now       func() time.Time
}

// New returns a Service. publicURL is Gatehouse's external origin (the
// link in reminders); mailer may be nil (nothing is sent, reminders are
// still recorded and audited).
func New(store storage.Store, mailer mail.Sender, publicURL string, log *slog.Logger, now func() time.Time) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	s := &Service{store: store, publicURL: strings.TrimRight(publicURL, "/"), log: log, now: now}
	s.later.Sender, s.later.Log = mailer, log
	return s
}

// Wait waits for reminder mails still being sent; for tests and shutdown.
func (s *Service) Wait() {
	if s != nil {
		s.later.Wait()
	}
}

// Policy names a policy whose people the readiness covers.
type Policy struct {
	ID   string
	Name string
}

// Summary is the organization's readiness at a glance.
type Summary struct {
	Policies      []Policy // enforce SSO and allow failback; none: nobody is covered
	Covered       int      // active people under those policies
	WithPasskey   int      // of them, with a usable passkey
	WithEmergency int      // of them, with a passkey flagged for emergencies
	Without       int      // Covered - WithPasskey
}

// Person is one covered person.
type Person struct {
	AccountID         string
	Email             string
	DisplayName       string
	PolicyID          string
	PolicyName        string
	Passkeys          int // usable passkeys
	EmergencyPasskeys int // of them, flagged as emergency credentials
	LastRemindedAt    time.Time
	// RemindedRecently: a reminder now would skip this person.
	RemindedRecently bool
}

// Page is one page of a list; Next is the cursor of the following page,
// "" on the last.
type Page struct {
	People []Person
	Next   string
}

// ListOptions selects a page.
type ListOptions struct {
	WithoutOnly bool   // only people without a usable passkey
	After       string // the previous page's Next
	Limit       int    // 1..500, default 100
}

// Plan is what a reminder would do now.
type Plan struct {
	ToMail  []string // emails that would be mailed
	Skipped []string // without a passkey, but reminded within ReminderInterval
	// NotCovered are requested addresses that are not a covered person
	// without a passkey (unknown, suspended, another policy, or already
	// has a passkey).
	NotCovered []string
}

// Result is what a reminder did.
type Result struct {
	Mailed     []string // reminded now (mails are sent after commit)
	Skipped    []string
	NotCovered []string
}

// Summary returns the organization's counts. The actor must be able to
// read its administrative data.
func (s *Service) Summary(ctx context.Context, orgID string) (Summary, error) {
	if _, err := authz.RequireReader(ctx, s.store, orgID); err != nil {
		return Summary{}, err
	}
	pols, err := coveringPolicies(ctx, s.store, orgID)
	if err != nil {
		return Summary{}, err
	}
	c, err := s.store.CountPasskeyReadiness(ctx, storage.PasskeyReadinessQuery{OrgID: orgID, PolicyIDs: policyIDs(pols)})
	if err != nil {
		return Summary{}, fmt.Errorf("readiness: count: %w", err)
	}
	return Summary{Policies: pols, Covered: c.Covered, WithPasskey: c.WithPasskey, WithEmergency: c.WithEmergency,
		Without: c.Covered - c.WithPasskey}, nil
}

// List returns one page of covered people, by email.
func (s *Service) List(ctx context.Context, orgID string, opt ListOptions) (Page, error) {
	if _, err := authz.RequireReader(ctx, s.store, orgID); err != nil {
		return Page{}, err
	}
	limit := opt.Limit
	if limit == 0 {
		limit = 100
	}
	if limit < 1 || limit > pageSize {
		return Page{}, errs.NewInvalid("limit", fmt.Sprintf("The page size must be between 1 and %d.", pageSize))
	}
	pols, err := coveringPolicies(ctx, s.store, orgID)
	if err != nil {
		return Page{}, err
	}
	// One more row than asked says whether another page follows.
	rows, err := s.store.ListPasskeyReadiness(ctx, storage.PasskeyReadinessQuery{OrgID: orgID, PolicyIDs: policyIDs(pols),
		WithoutPasskey: opt.WithoutOnly, AfterEmail: opt.After, Limit: limit + 1})
	if err != nil {
		return Page{}, fmt.Errorf("readiness: list: %w", err)
	}
	var p Page
	if len(rows) > limit {
		rows = rows[:limit]
		p.Next = rows[limit-1].Email
	}
	p.People = s.people(rows, pols)
	return p, nil
}

func (s *Service) people(rows []storage.PasskeyReadinessRow, pols []Policy) []Person {
	cutoff := s.now().Add(-ReminderInterval)
	out := make([]Person, 0, len(rows))
	for _, r := range rows {
		p := Person{AccountID: r.AccountID, Email: r.Email, DisplayName: r.DisplayName, PolicyID: r.PolicyID,
			Passkeys: r.Passkeys, EmergencyPasskeys: r.EmergencyPasskeys, LastRemindedAt: r.LastRemindedAt,
			RemindedRecently: r.LastRemindedAt.After(cutoff)}
		if i := slices.IndexFunc(pols, func(x Policy) bool { return x.ID == r.PolicyID }); i >= 0 {
			p.PolicyName = pols[i].Name
		}
		out = append(out, p)
	}
	return out
}

// coveringPolicies is the rule of item 4: policies that enforce SSO (so
// their people have no other way in while SSO works) and allow failback
// (so a passkey may sign them in during an emergency).
func coveringPolicies(ctx context.Context, st storage.Policies, orgID string) ([]Policy, error) {
	all, err := st.ListPolicies(ctx, orgID)
	if err != nil {
		return nil, fmt.Errorf("readiness: list policies: %w", err)
	}
	var out []Policy
	for _, p := range all {
		p = storage.WithPolicyDefaults(p)
		if p.SSO == storage.SSOEnforced && p.Failback == storage.FailbackAllowed {
			out = append(out, Policy{ID: p.ID, Name: p.Name})
		}
	}
	return out, nil
}

func policyIDs(ps []Policy) []string {
	ids := make([]string, 0, len(ps))
	for _, p := range ps {
		ids = append(ids, p.ID)
	}
	return ids
}
