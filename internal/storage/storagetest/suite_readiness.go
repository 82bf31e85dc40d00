package storagetest

import (
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// withReadiness sets up organization "o" (policies "def", SSO optional
// and default, and "eng", enforced) with accounts:
// a1 under eng, no passkey; a2 under the default; a3 under eng but
// suspended; a4 under eng with an emergency passkey; a5 under eng whose
// only passkey is suspected cloned; a6 under eng with an ordinary passkey;
// and x1 of organization "p".
func withReadiness(t *testing.T, s storage.Store) {
	t.Helper()
	ctx := ctxOf(t)
	withPolicies(t, s)
	mustOrg(t, s, "p")
	mustAccount(t, s, "p", "x1")
	for _, id := range []string{"a1", "a2", "a3", "a4", "a5", "a6"} {
		a := newAccount("o", id)
		if id == "a3" {
			a.Status = storage.StatusSuspended
		}
		wantErr(t, "CreateAccount "+id, s.CreateAccount(ctx, a), nil)
		if id != "a2" {
			wantErr(t, "SetPolicyMember "+id, s.SetPolicyMember(ctx, "o", id, "eng"), nil)
		}
	}
	em := newPasskey("o", "a4", "k4", 4)
	em.Emergency = true
	clone := newPasskey("o", "a5", "k5", 5)
	clone.Emergency, clone.CloneSuspectedAt = true, base
	for _, p := range []storage.Passkey{em, clone, newPasskey("o", "a6", "k6", 6), newPasskey("o", "a3", "k3", 3)} {
		wantErr(t, "CreatePasskey "+p.ID, s.CreatePasskey(ctx, p), nil)
	}
}

func readinessIDs(rows []storage.PasskeyReadinessRow) []string {
	ids := []string{}
	for _, r := range rows {
		ids = append(ids, r.AccountID)
	}
	return ids
}

var readinessTests = []namedTest{
	{"ListFollowsIdPGroups", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		withReadiness(t, s)
		// a2 is under no named policy, but eng names one of its IdP groups:
		// it is covered by eng, as PolicyFor says.
		wantErr(t, "AddPolicyGroup", s.AddPolicyGroup(ctx, "o", "eng", "staff"), nil)
		wantErr(t, "SetAccountGroups", s.SetAccountGroups(ctx, "a2", []string{"staff"}), nil)
		p, err := s.PolicyFor(ctx, "o", "a2")
		wantErr(t, "PolicyFor", err, nil)
		wantEqual(t, "a2's policy", p.ID, "eng")
		rows, err := s.ListPasskeyReadiness(ctx, storage.PasskeyReadinessQuery{OrgID: "o", PolicyIDs: []string{"def"}})
		wantErr(t, "List def", err, nil)
		wantEqual(t, "def rows", len(rows), 0)
		rows, err = s.ListPasskeyReadiness(ctx, storage.PasskeyReadinessQuery{OrgID: "o", PolicyIDs: []string{"eng"}, Emails: []string{"a2@example.com"}})
		wantErr(t, "List eng", err, nil)
		wantEqual(t, "a2 under eng", readinessIDs(rows), []string{"a2"})
		wantEqual(t, "a2's row names eng", rows[0].PolicyID, "eng")
	}},
	{"ListCoversActiveAccountsOfThePolicies", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		withReadiness(t, s)
		rows, err := s.ListPasskeyReadiness(ctx, storage.PasskeyReadinessQuery{OrgID: "o", PolicyIDs: []string{"eng"}})
		wantErr(t, "List eng", err, nil)
		wantEqual(t, "eng rows", rows, []storage.PasskeyReadinessRow{
			{AccountID: "a1", Email: "a1@example.com", DisplayName: "Person a1", PolicyID: "eng"},
			{AccountID: "a4", Email: "a4@example.com", DisplayName: "Person a4", PolicyID: "eng", Passkeys: 1, EmergencyPasskeys: 1},
			{AccountID: "a5", Email: "a5@example.com", DisplayName: "Person a5", PolicyID: "eng"},
			{AccountID: "a6", Email: "a6@example.com", DisplayName: "Person a6", PolicyID: "eng", Passkeys: 1},
		})
		// An account under no named policy falls to the default.
		rows, err = s.ListPasskeyReadiness(ctx, storage.PasskeyReadinessQuery{OrgID: "o", PolicyIDs: []string{"def"}})
		wantErr(t, "List def", err, nil)
		wantEqual(t, "def rows", readinessIDs(rows), []string{"a2"})
		rows, err = s.ListPasskeyReadiness(ctx, storage.PasskeyReadinessQuery{OrgID: "o"})
		wantErr(t, "List no policy", err, nil)
		wantEqual(t, "no policies, no rows", len(rows), 0)
		rows, err = s.ListPasskeyReadiness(ctx, storage.PasskeyReadinessQuery{OrgID: "p", PolicyIDs: []string{"eng"}})
		wantErr(t, "List other org", err, nil)
		wantEqual(t, "another organization's accounts", len(rows), 0)

		c, err := s.CountPasskeyReadiness(ctx, storage.PasskeyReadinessQuery{OrgID: "o", PolicyIDs: []string{"eng"}})
		wantErr(t, "Count", err, nil)
		wantEqual(t, "counts", c, storage.PasskeyReadinessCounts{Covered: 4, WithPasskey: 2, WithEmergency: 1})
		c, err = s.CountPasskeyReadiness(ctx, storage.PasskeyReadinessQuery{OrgID: "o", PolicyIDs: []string{"def", "eng"}})
		wantErr(t, "Count both", err, nil)
		wantEqual(t, "counts of both", c, storage.PasskeyReadinessCounts{Covered: 5, WithPasskey: 2, WithEmergency: 1})
	}},
	{"ListPagesAndFilters", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		withReadiness(t, s)
		q := storage.PasskeyReadinessQuery{OrgID: "o", PolicyIDs: []string{"eng", "def"}, Limit: 2}
		var pages [][]string
		for {
			rows, err := s.ListPasskeyReadiness(ctx, q)
			wantErr(t, "List page", err, nil)
			if len(rows) == 0 {
				break
			}
			pages = append(pages, readinessIDs(rows))
			q.AfterEmail = rows[len(rows)-1].Email
		}
		wantEqual(t, "pages", pages, [][]string{{"a1", "a2"}, {"a4", "a5"}, {"a6"}})

		rows, err := s.ListPasskeyReadiness(ctx, storage.PasskeyReadinessQuery{OrgID: "o", PolicyIDs: []string{"eng"}, WithoutPasskey: true})
		wantErr(t, "List without", err, nil)
		wantEqual(t, "without a usable passkey", readinessIDs(rows), []string{"a1", "a5"})
		rows, err = s.ListPasskeyReadiness(ctx, storage.PasskeyReadinessQuery{OrgID: "o", PolicyIDs: []string{"eng"},
			Emails: []string{"a6@example.com", "a2@example.com", "x1@example.com", "a3@example.com"}})
		wantErr(t, "List emails", err, nil)
		wantEqual(t, "by email, covered ones only", readinessIDs(rows), []string{"a6"})
	}},
	{"RemindersAreClaimedOncePerPeriod", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		withReadiness(t, s)
		week := 7 * 24 * time.Hour
		got, err := s.ClaimPasskeyReminders(ctx, "o", []string{"a5", "a1", "x1", "nobody"}, base, base.Add(-week))
		wantErr(t, "Claim", err, nil)
		wantEqual(t, "first claim: the organization's accounts", got, []string{"a1", "a5"})
		got, err = s.ClaimPasskeyReminders(ctx, "o", []string{"a1", "a5", "a6"}, base.Add(time.Hour), base.Add(time.Hour-week))
		wantErr(t, "Claim again", err, nil)
		wantEqual(t, "within the period only the new one", got, []string{"a6"})
		rows, err := s.ListPasskeyReadiness(ctx, storage.PasskeyReadinessQuery{OrgID: "o", PolicyIDs: []string{"eng"}, Emails: []string{"a1@example.com"}})
		wantErr(t, "List", err, nil)
		wantUTCMicros(t, "LastRemindedAt", rows[0].LastRemindedAt, base)
		later := base.Add(week + time.Minute)
		got, err = s.ClaimPasskeyReminders(ctx, "o", []string{"a1", "a6"}, later, later.Add(-week))
		wantErr(t, "Claim a week later", err, nil)
		wantEqual(t, "a week later, the first batch again", got, []string{"a1"})
		got, err = s.ClaimPasskeyReminders(ctx, "o", nil, later, later)
		wantErr(t, "Claim nothing", err, nil)
		wantEqual(t, "nothing claimed", len(got), 0)
	}},
}
