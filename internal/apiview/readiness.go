package apiview

import (
	"time"

	"github.com/gatehouse-id/gatehouse/internal/readiness"
)

// ReadinessPolicy names a policy the readiness covers.
type ReadinessPolicy struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// ReadinessSummary counts the people under policies that enforce SSO and
// allow failback.
type ReadinessSummary struct {
	Policies             []ReadinessPolicy `json:"policies"`
	Covered              int               `json:"covered"`
	WithPasskey          int               `json:"with_passkey"`
	WithEmergencyPasskey int               `json:"with_emergency_passkey"`
	WithoutPasskey       int               `json:"without_passkey"`
}

// ReadinessPerson is one covered person.
type ReadinessPerson struct {
	AccountID         string     `json:"account_id"`
	Email             string     `json:"email"`
	DisplayName       string     `json:"display_name"`
	PolicyID          string     `json:"policy_id"`
	PolicyName        string     `json:"policy_name"`
	Passkeys          int        `json:"passkeys"`           // usable passkeys; any signs in during an emergency
	EmergencyPasskeys int        `json:"emergency_passkeys"` // of them, flagged as emergency credentials
	LastRemindedAt    *time.Time `json:"last_reminded_at"`   // null when never reminded
	RemindedRecently  bool       `json:"reminded_recently"`  // a reminder now would skip this person
}

// ReadinessPage is GET /passkeys/readiness.
type ReadinessPage struct {
	Summary ReadinessSummary  `json:"summary"`
	People  []ReadinessPerson `json:"people"`
	Next    *string           `json:"next"` // the "after" of the next page; null on the last
}

// ReminderResult is POST /passkeys/reminders.
type ReminderResult struct {
	DryRun     bool     `json:"dry_run"`
	Mailed     []string `json:"mailed"`      // reminded now (or, on a dry run, who would be)
	Skipped    []string `json:"skipped"`     // reminded within the last 7 days
	NotCovered []string `json:"not_covered"` // requested addresses not covered or with a passkey already
}

// ReadinessPageFrom converts the service's answers.
func ReadinessPageFrom(s readiness.Summary, p readiness.Page) ReadinessPage {
	out := ReadinessPage{Summary: ReadinessSummary{Policies: []ReadinessPolicy{}, Covered: s.Covered,
		WithPasskey: s.WithPasskey, WithEmergencyPasskey: s.WithEmergency, WithoutPasskey: s.Without},
		People: make([]ReadinessPerson, 0, len(p.People))}
	for _, pol := range s.Policies {
		out.Summary.Policies = append(out.Summary.Policies, ReadinessPolicy{ID: pol.ID, Name: pol.Name})
	}
	for _, x := range p.People {
		out.People = append(out.People, ReadinessPerson{AccountID: x.AccountID, Email: x.Email, DisplayName: x.DisplayName,
			PolicyID: x.PolicyID, PolicyName: x.PolicyName, Passkeys: x.Passkeys, EmergencyPasskeys: x.EmergencyPasskeys,
			LastRemindedAt: optTime(x.LastRemindedAt), RemindedRecently: x.RemindedRecently})
	}
	if p.Next != "" {
		next := p.Next
		out.Next = &next
	}
	return out
}

// ReminderResultFrom converts a reminder (or, with dryRun, a preview).
func ReminderResultFrom(mailed, skipped, notCovered []string, dryRun bool) ReminderResult {
	orEmpty := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	}
	return ReminderResult{DryRun: dryRun, Mailed: orEmpty(mailed), Skipped: orEmpty(skipped), NotCovered: orEmpty(notCovered)}
}
