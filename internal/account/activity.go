package account

import (
	"context"
	"strconv"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// ActivityDays is how many days SignInActivity reports, today included.
const ActivityDays = 30

// Sign-in method groups of SignInActivity, in the order a chart stacks them.
const (
	ActivityPassword  = "password"
	ActivitySSO       = "sso"
	ActivityPasskey   = "passkey"
	ActivityEmergency = "emergency"
	ActivityOther     = "other" // recovery links and codes
)

// ActivityMethods lists the method groups in stacking order.
var ActivityMethods = []string{ActivityPassword, ActivitySSO, ActivityPasskey, ActivityEmergency, ActivityOther}

// activityGroup maps the method login.success records (the session's
// method label: session.legacyMethod) to its group. A passkey sign-in
// without a password is labelled by its first method, hwk or swk.
var activityGroup = map[string]string{
	"password": ActivityPassword, "setup": ActivityPassword, "reset": ActivityPassword, "pwd": ActivityPassword,
	"sso": ActivitySSO,
	"hwk": ActivityPasskey, "swk": ActivityPasskey, "user": ActivityPasskey, "passkey": ActivityPasskey,
	"emergency": ActivityEmergency,
}

// ActivityDay is one day of SignInActivity.
type ActivityDay struct {
	Day       time.Time      // midnight UTC
	Successes map[string]int // by method group (ActivityMethods)
	Failures  int
}

// Total is the day's successful sign-ins.
func (d ActivityDay) Total() int {
	n := 0
	for _, c := range d.Successes {
		n += c
	}
	return n
}

// Activity is what the console overview shows about sign-ins and what
// needs an admin's attention.
type Activity struct {
	Days      []ActivityDay // oldest first, ActivityDays of them, today last
	Attention storage.Attention
}

// SignInActivity reports the organization's sign-ins per UTC day over the
// last ActivityDays days by method group, and its failures, from the
// audit log (login.success, login.failure), with the counts that need
// attention. Readers only (authz.RequireReader).
func (s *Service) SignInActivity(ctx context.Context, orgID string) (Activity, error) {
	if err := checkID("org_id", "organization", orgID); err != nil {
		return Activity{}, err
	}
	if _, err := s.store.GetOrganization(ctx, orgID); err != nil {
		return Activity{}, mapErr(err, "organization "+strconv.Quote(orgID))
	}
	if _, err := authz.RequireReader(ctx, s.store, orgID); err != nil {
		return Activity{}, err
	}
	now := s.clock()
	since := now.UTC().Truncate(24*time.Hour).AddDate(0, 0, -(ActivityDays - 1))
	until := since.AddDate(0, 0, ActivityDays)
	counts, err := s.store.CountSignIns(ctx, orgID, since, until)
	if err != nil {
		return Activity{}, mapErr(err, "sign-in activity")
	}
	out := Activity{Days: make([]ActivityDay, ActivityDays)}
	for i := range out.Days {
		out.Days[i] = ActivityDay{Day: since.AddDate(0, 0, i), Successes: map[string]int{}}
	}
	for _, c := range counts {
		i := int(c.Day.Sub(since) / (24 * time.Hour))
		if i < 0 || i >= ActivityDays {
			continue
		}
		switch c.Action {
		case "login.failure":
			out.Days[i].Failures += c.Count
		case "login.success":
			g, ok := activityGroup[c.Method]
			if !ok {
				g = ActivityOther
			}
			out.Days[i].Successes[g] += c.Count
		}
	}
	if out.Attention, err = s.store.CountAttention(ctx, orgID, now); err != nil {
		return Activity{}, mapErr(err, "counts that need attention")
	}
	return out, nil
}
