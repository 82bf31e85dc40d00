package storagetest

import (
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// accountAt is an account of orgID with the email local@domain.
func accountAt(t *testing.T, s storage.Store, orgID, id, email string) {
	t.Helper()
	a := newAccount(orgID, id)
	a.Email = email
	if err := s.CreateAccount(ctxOf(t), a); err != nil {
		t.Fatalf("CreateAccount(%s): %v", id, err)
	}
}

// verifiedDomain claims and verifies name for orgID.
func verifiedDomain(t *testing.T, s storage.Store, orgID, id, name string) {
	t.Helper()
	mustDomain(t, s, orgID, id, name)
	if err := s.RecordDomainCheck(ctxOf(t), orgID, id, base, base.Add(time.Minute), ""); err != nil {
		t.Fatalf("verify %s: %v", name, err)
	}
}

var policyDomainTests = []namedTest{
	{"ExplicitBeatsGroupBeatsDomainBeatsDefault", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		def, eng := withPolicies(t, s)
		corp := mustPolicy(t, s, newPolicy("o", "corp", "Corp")) // sorts before "Engineers"
		verifiedDomain(t, s, "o", "d1", "corp.example")
		mustDomain(t, s, "o", "d2", "other.example") // claimed, not verified
		accountAt(t, s, "o", "ex", "ex@corp.example")
		accountAt(t, s, "o", "gr", "gr@corp.example")
		accountAt(t, s, "o", "dm", "dm@corp.example")
		accountAt(t, s, "o", "sub", "sub@eu.corp.example") // a subdomain is not the domain
		accountAt(t, s, "o", "out", "out@elsewhere.example")
		accountAt(t, s, "o", "oth", "oth@other.example")

		wantErr(t, "corp ← corp.example", s.AddPolicyDomain(ctx, "o", corp.ID, "corp.example"), nil)
		wantErr(t, "twice", s.AddPolicyDomain(ctx, "o", corp.ID, "corp.example"), storage.ErrConflict)
		wantErr(t, "a second policy", s.AddPolicyDomain(ctx, "o", eng.ID, "corp.example"), storage.ErrConflict)
		wantErr(t, "unclaimed domain", s.AddPolicyDomain(ctx, "o", eng.ID, "nobody.example"), storage.ErrNotFound)
		wantErr(t, "missing policy", s.AddPolicyDomain(ctx, "o", "nope", "other.example"), storage.ErrNotFound)
		wantErr(t, "eng ← staff", s.AddPolicyGroup(ctx, "o", eng.ID, "staff"), nil)
		wantErr(t, "gr groups", s.SetAccountGroups(ctx, "gr", []string{"staff"}), nil)
		wantErr(t, "ex groups", s.SetAccountGroups(ctx, "ex", []string{"staff"}), nil)
		wantErr(t, "ex explicit", s.SetPolicyMember(ctx, "o", "ex", def.ID), nil)

		for _, tc := range []struct {
			account string
			want    storage.Policy
		}{{"ex", def}, {"gr", eng}, {"dm", corp}, {"sub", def}, {"out", def}, {"oth", def}} {
			got, err := s.PolicyFor(ctx, "o", tc.account)
			wantErr(t, "PolicyFor("+tc.account+")", err, nil)
			wantEqual(t, "PolicyFor("+tc.account+")", got.ID, tc.want.ID)
		}
		got, err := s.DomainPolicy(ctx, "o", "corp.example")
		wantErr(t, "DomainPolicy", err, nil)
		wantEqual(t, "DomainPolicy", got.ID, corp.ID)
		_, err = s.DomainPolicy(ctx, "o", "other.example")
		wantErr(t, "DomainPolicy(unnamed)", err, storage.ErrNotFound)
		byPolicy, err := s.ListDomainPolicies(ctx, "o")
		wantErr(t, "ListDomainPolicies", err, nil)
		wantEqual(t, "domain policies", byPolicy, map[string][]string{corp.ID: {"corp.example"}})

		// Coverage: counted and listed by the same rule.
		counts, err := s.CountPolicyCoverage(ctx, "o", corp.ID)
		wantErr(t, "count corp", err, nil)
		wantEqual(t, "corp counts", counts, []storage.PolicyCoverageCount{{Reason: storage.CoverDomain, Managed: true, Count: 1}})
		counts, err = s.CountPolicyCoverage(ctx, "o", def.ID)
		wantErr(t, "count default", err, nil)
		wantEqual(t, "default counts", counts, []storage.PolicyCoverageCount{
			{Reason: storage.CoverDefault, Managed: false, Count: 3}, // sub, out, oth
			{Reason: storage.CoverExplicit, Managed: true, Count: 1},
		})
		rows, err := s.ListPolicyCoverage(ctx, storage.PolicyCoverageQuery{OrgID: "o", PolicyID: eng.ID})
		wantErr(t, "list eng", err, nil)
		wantEqual(t, "eng rows", len(rows), 1)
		wantEqual(t, "eng row", [3]string{rows[0].AccountID, rows[0].Reason, rows[0].Group}, [3]string{"gr", storage.CoverGroup, "staff"})

		// Keyset pages of the default, by email.
		var emails []string
		after := ""
		for range 10 {
			page, err := s.ListPolicyCoverage(ctx, storage.PolicyCoverageQuery{OrgID: "o", PolicyID: def.ID, After: after, Limit: 2})
			wantErr(t, "page default", err, nil)
			if len(page) == 0 {
				break
			}
			for _, r := range page {
				emails = append(emails, r.Email)
			}
			after = page[len(page)-1].Email
		}
		wantEqual(t, "default pages", emails, []string{"ex@corp.example", "oth@other.example", "out@elsewhere.example", "sub@eu.corp.example"})

		// Every account is listed by exactly the policy PolicyFor names,
		// and the counts add up to the listings.
		listedBy := map[string]string{}
		for _, p := range []storage.Policy{def, eng, corp} {
			rows, err := s.ListPolicyCoverage(ctx, storage.PolicyCoverageQuery{OrgID: "o", PolicyID: p.ID})
			wantErr(t, "list "+p.Name, err, nil)
			counts, err := s.CountPolicyCoverage(ctx, "o", p.ID)
			wantErr(t, "count "+p.Name, err, nil)
			total := 0
			for _, c := range counts {
				total += c.Count
			}
			wantEqual(t, p.Name+" count = listed", total, len(rows))
			for _, r := range rows {
				if other, dup := listedBy[r.AccountID]; dup {
					t.Fatalf("%s listed by %s and %s", r.AccountID, other, p.ID)
				}
				listedBy[r.AccountID] = p.ID
			}
		}
		for _, id := range []string{"ex", "gr", "dm", "sub", "out", "oth"} {
			got, err := s.PolicyFor(ctx, "o", id)
			wantErr(t, "PolicyFor("+id+")", err, nil)
			wantEqual(t, id+" listed by its policy", listedBy[id], got.ID)
		}

		// Removing the naming sends the domain's people to the default;
		// deleting the claim drops the naming with it.
		wantErr(t, "remove", s.RemovePolicyDomain(ctx, "o", corp.ID, "corp.example"), nil)
		wantErr(t, "remove twice", s.RemovePolicyDomain(ctx, "o", corp.ID, "corp.example"), storage.ErrNotFound)
		got, err = s.PolicyFor(ctx, "o", "dm")
		wantErr(t, "PolicyFor(dm)", err, nil)
		wantEqual(t, "dm falls to the default", got.ID, def.ID)
		wantErr(t, "eng ← corp.example", s.AddPolicyDomain(ctx, "o", eng.ID, "corp.example"), nil)
		wantErr(t, "delete claim", s.DeleteDomain(ctx, "o", "d1"), nil)
		byPolicy, err = s.ListDomainPolicies(ctx, "o")
		wantErr(t, "ListDomainPolicies after delete", err, nil)
		wantEqual(t, "no domain policies", len(byPolicy), 0)

		// Nothing crosses organizations.
		mustOrg(t, s, "p")
		mustDomain(t, s, "p", "d3", "p.example")
		wantErr(t, "another org's policy", s.AddPolicyDomain(ctx, "p", eng.ID, "p.example"), storage.ErrNotFound)
		wantErr(t, "another org's domain", s.AddPolicyDomain(ctx, "o", eng.ID, "p.example"), storage.ErrNotFound)
	}},
}
