package storagetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

func newPolicy(orgID, id, name string) storage.Policy {
	return storage.Policy{
		ID:        id,
		OrgID:     orgID,
		Name:      name,
		SSO:       storage.SSOOff,
		CreatedAt: base,
		UpdatedAt: base,
		Version:   1,
	}
}

func mustPolicy(t *testing.T, s storage.Store, p storage.Policy) storage.Policy {
	t.Helper()
	if err := s.CreatePolicy(ctxOf(t), p); err != nil {
		t.Fatalf("CreatePolicy(%s): %v", p.ID, err)
	}
	return p
}

// storedPolicy is p as the store returns it: times truncated, unset
// settings at their defaults.
func storedPolicy(p storage.Policy) storage.Policy {
	p = storage.WithPolicyDefaults(p)
	p.CreatedAt, p.UpdatedAt = storage.Truncate(p.CreatedAt), storage.Truncate(p.UpdatedAt)
	return p
}

func policyIDs(ps []storage.Policy) []string {
	ids := []string{}
	for _, p := range ps {
		ids = append(ids, p.ID)
	}
	return ids
}

// withPolicies sets up organization "o" with connection "c1", the default
// policy "def" (SSO optional through c1) and the named policy "eng"
// (enforced through c1).
func withPolicies(t *testing.T, s storage.Store) (def, eng storage.Policy) {
	t.Helper()
	mustOrg(t, s, "o")
	mustIdP(t, s, "o", "c1")
	def = newPolicy("o", "def", "Everyone")
	def.IsDefault, def.SSO, def.ConnectionID = true, storage.SSOOptional, "c1"
	eng = newPolicy("o", "eng", "Engineers")
	eng.SSO, eng.ConnectionID = storage.SSOEnforced, "c1"
	return mustPolicy(t, s, def), mustPolicy(t, s, eng)
}

var policyTests = []namedTest{
	{"FailbackSettings", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		_, eng := withPolicies(t, s)
		got, err := s.UpdatePolicy(ctx, "o", eng.ID, func(p *storage.Policy) error {
			p.Failback, p.MFA = storage.FailbackDenied, storage.MFARequired
			p.IdleTimeout, p.MaxLifetime = 15*time.Minute, 12*time.Hour
			p.FailbackWindowDays, p.AutoFailbackAfter = 7, 20*time.Minute
			return nil
		})
		wantErr(t, "UpdatePolicy", err, nil)
		back, err := s.GetPolicy(ctx, "o", eng.ID)
		wantErr(t, "GetPolicy", err, nil)
		wantEqual(t, "settings read back", back, got)
		if back.Failback != storage.FailbackDenied || back.MFA != storage.MFARequired || back.IdleTimeout != 15*time.Minute ||
			back.MaxLifetime != 12*time.Hour || back.FailbackWindowDays != 7 || back.AutoFailbackAfter != 20*time.Minute {
			t.Fatalf("settings not stored: %+v", back)
		}
		fresh := mustPolicy(t, s, newPolicy("o", "new", "New"))
		got, err = s.GetPolicy(ctx, "o", fresh.ID)
		wantErr(t, "GetPolicy", err, nil)
		if got.Failback != storage.FailbackAllowed || got.MFA != storage.MFAOptional || got.FailbackWindowDays != 30 {
			t.Fatalf("a new policy's defaults: %+v", got)
		}
	}},
	{"CreateGetList", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		def, eng := withPolicies(t, s)
		glass := mustPolicy(t, s, newPolicy("o", "bg", "Break-glass"))

		got, err := s.GetPolicy(ctx, "o", "eng")
		wantErr(t, "GetPolicy", err, nil)
		wantEqual(t, "GetPolicy", got, storedPolicy(eng))
		wantUTCMicros(t, "CreatedAt", got.CreatedAt, base)
		got, err = s.GetPolicyByName(ctx, "o", "Break-glass")
		wantErr(t, "GetPolicyByName", err, nil)
		wantEqual(t, "no connection reads back as empty", got, storedPolicy(glass))

		list, err := s.ListPolicies(ctx, "o")
		wantErr(t, "ListPolicies", err, nil)
		wantEqual(t, "ListPolicies (default first, then by name)", list,
			[]storage.Policy{storedPolicy(def), storedPolicy(glass), storedPolicy(eng)})
	}},
	{"ConflictsAndNotFound", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		withPolicies(t, s)
		mustOrg(t, s, "p")
		mustIdP(t, s, "p", "cp")
		wantErr(t, "duplicate name", s.CreatePolicy(ctx, newPolicy("o", "x1", "Engineers")), storage.ErrConflict)
		second := newPolicy("o", "x2", "Second default")
		second.IsDefault = true
		wantErr(t, "second default", s.CreatePolicy(ctx, second), storage.ErrConflict)
		wantErr(t, "duplicate ID", s.CreatePolicy(ctx, newPolicy("p", "eng", "Engineers")), storage.ErrConflict)
		// Another organization has its own default and its own names.
		pDef := newPolicy("p", "pdef", "Everyone")
		pDef.IsDefault = true
		wantErr(t, "default of another org", s.CreatePolicy(ctx, pDef), nil)

		foreign := newPolicy("o", "x3", "Foreign IdP")
		foreign.SSO, foreign.ConnectionID = storage.SSOEnforced, "cp"
		wantErr(t, "another org's connection", s.CreatePolicy(ctx, foreign), storage.ErrNotFound)
		foreign.ConnectionID = "nope"
		wantErr(t, "missing connection", s.CreatePolicy(ctx, foreign), storage.ErrNotFound)
		wantErr(t, "missing org", s.CreatePolicy(ctx, newPolicy("nobody", "x4", "X")), storage.ErrNotFound)

		_, err := s.GetPolicy(ctx, "p", "eng")
		wantErr(t, "GetPolicy from another org", err, storage.ErrNotFound)
		_, err = s.GetPolicyByName(ctx, "o", "nope")
		wantErr(t, "GetPolicyByName", err, storage.ErrNotFound)
		_, err = s.UpdatePolicy(ctx, "p", "eng", func(*storage.Policy) error { return nil })
		wantErr(t, "UpdatePolicy from another org", err, storage.ErrNotFound)
		wantErr(t, "DeletePolicy from another org", s.DeletePolicy(ctx, "p", "eng"), storage.ErrNotFound)
		wantErr(t, "DeletePolicy(missing)", s.DeletePolicy(ctx, "o", "nope"), storage.ErrNotFound)
	}},
	{"Update", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		def, eng := withPolicies(t, s)
		later := base.Add(time.Hour)
		got, err := s.UpdatePolicy(ctx, "o", "eng", func(p *storage.Policy) error {
			p.Name, p.SSO, p.ConnectionID, p.UpdatedAt = "Engineering", storage.SSOOff, "", later
			p.ID, p.OrgID, p.CreatedAt, p.Version = "hijack", "other", later, 42
			return nil
		})
		wantErr(t, "UpdatePolicy", err, nil)
		want := storedPolicy(eng)
		want.Name, want.SSO, want.ConnectionID, want.UpdatedAt = "Engineering", storage.SSOOff, "", storage.Truncate(later)
		want.Version++
		wantEqual(t, "UpdatePolicy result", got, want)

		_, err = s.UpdatePolicy(ctx, "o", "eng", func(p *storage.Policy) error { p.IsDefault = true; return nil })
		wantErr(t, "a second default through update", err, storage.ErrConflict)
		_, err = s.UpdatePolicy(ctx, "o", "eng", func(p *storage.Policy) error { p.Name = "Everyone"; return nil })
		wantErr(t, "a taken name through update", err, storage.ErrConflict)
		_, err = s.UpdatePolicy(ctx, "o", "eng", func(p *storage.Policy) error { p.Name = "x"; return errBoom })
		if err != errBoom { //nolint:errorlint // documented: fn's error is returned unchanged
			t.Fatalf("UpdatePolicy returned %v, want fn's error unchanged", err)
		}

		// Moving the default takes one transaction: clear, then set.
		err = s.InTx(ctx, func(tx storage.Store) error {
			if _, err := tx.UpdatePolicy(ctx, "o", "def", func(p *storage.Policy) error { p.IsDefault = false; return nil }); err != nil {
				return err
			}
			_, err := tx.UpdatePolicy(ctx, "o", "eng", func(p *storage.Policy) error { p.IsDefault = true; return nil })
			return err
		})
		wantErr(t, "move the default", err, nil)
		list, err := s.ListPolicies(ctx, "o")
		wantErr(t, "ListPolicies", err, nil)
		wantEqual(t, "new default first", policyIDs(list), []string{"eng", def.ID})
	}},
	{"ConcurrentDefaultOneWinner", func(t *testing.T, s storage.Store) {
		mustOrg(t, s, "o")
		errs := race(goroutines, func(i int) error {
			p := newPolicy("o", fmt.Sprintf("p%d", i), fmt.Sprintf("Default %d", i))
			p.IsDefault = true
			return s.CreatePolicy(ctxOf(t), p)
		})
		oneWinner(t, "concurrent default policies", errs, storage.ErrConflict)
	}},
	{"MembersAndPolicyFor", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		def, eng := withPolicies(t, s)
		glass := mustPolicy(t, s, newPolicy("o", "bg", "Break-glass"))
		for _, id := range []string{"a", "b", "c"} {
			mustAccount(t, s, "o", id)
		}
		mustOrg(t, s, "p")
		mustAccount(t, s, "p", "pa")
		pPol := mustPolicy(t, s, newPolicy("p", "ppol", "P named"))

		wantErr(t, "a → eng", s.SetPolicyMember(ctx, "o", "a", "eng"), nil)
		wantErr(t, "b → eng", s.SetPolicyMember(ctx, "o", "b", "eng"), nil)
		wantErr(t, "c → bg", s.SetPolicyMember(ctx, "o", "c", "bg"), nil)
		members, err := s.ListPolicyMembers(ctx, "o", "eng")
		wantErr(t, "ListPolicyMembers", err, nil)
		wantEqual(t, "eng members", members, []string{"a", "b"})

		// An account is in at most one named policy: setting moves it.
		wantErr(t, "b → bg", s.SetPolicyMember(ctx, "o", "b", "bg"), nil)
		members, err = s.ListPolicyMembers(ctx, "o", "bg")
		wantErr(t, "ListPolicyMembers", err, nil)
		wantEqual(t, "bg members", members, []string{"b", "c"})
		members, err = s.ListPolicyMembers(ctx, "o", "eng")
		wantErr(t, "ListPolicyMembers", err, nil)
		wantEqual(t, "eng members", members, []string{"a"})

		for _, tc := range []struct {
			account string
			want    storage.Policy
		}{{"a", eng}, {"b", glass}, {"c", glass}} {
			got, err := s.PolicyFor(ctx, "o", tc.account)
			wantErr(t, "PolicyFor("+tc.account+")", err, nil)
			wantEqual(t, "PolicyFor("+tc.account+")", got, storedPolicy(tc.want))
		}

		wantErr(t, "a back to default", s.SetPolicyMember(ctx, "o", "a", ""), nil)
		wantErr(t, "removing twice", s.SetPolicyMember(ctx, "o", "a", ""), nil)
		got, err := s.PolicyFor(ctx, "o", "a")
		wantErr(t, "PolicyFor(a)", err, nil)
		wantEqual(t, "a falls to the default", got, storedPolicy(def))

		// Deleting a named policy sends its members back to the default.
		wantErr(t, "DeletePolicy(bg)", s.DeletePolicy(ctx, "o", "bg"), nil)
		got, err = s.PolicyFor(ctx, "o", "c")
		wantErr(t, "PolicyFor(c)", err, nil)
		wantEqual(t, "c falls to the default", got, storedPolicy(def))
		members, err = s.ListPolicyMembers(ctx, "o", "bg")
		wantErr(t, "ListPolicyMembers(deleted)", err, nil)
		wantEqual(t, "members of a deleted policy", len(members), 0)
		wantErr(t, "DeletePolicy(default)", s.DeletePolicy(ctx, "o", "def"), storage.ErrConflict)

		// Nothing crosses organizations.
		wantErr(t, "o's account into p's policy", s.SetPolicyMember(ctx, "p", "a", "ppol"), storage.ErrNotFound)
		wantErr(t, "p's policy for o's account", s.SetPolicyMember(ctx, "o", "a", pPol.ID), storage.ErrNotFound)
		wantErr(t, "missing policy", s.SetPolicyMember(ctx, "o", "a", "nope"), storage.ErrNotFound)
		wantErr(t, "missing account", s.SetPolicyMember(ctx, "o", "nope", "eng"), storage.ErrNotFound)
		got, err = s.PolicyFor(ctx, "o", "a")
		wantErr(t, "PolicyFor(a)", err, nil)
		wantEqual(t, "a unchanged by refused moves", got.ID, def.ID)
		// p has no default policy, and a's membership in o is not p's.
		_, err = s.PolicyFor(ctx, "p", "pa")
		wantErr(t, "PolicyFor in an org without default", err, storage.ErrNotFound)
		_, err = s.PolicyFor(ctx, "p", "a")
		wantErr(t, "PolicyFor with the wrong org", err, storage.ErrNotFound)
	}},
}

func newLink(connectionID, subject, accountID string) storage.SSOLink {
	return storage.SSOLink{ConnectionID: connectionID, Subject: subject, AccountID: accountID, CreatedAt: base, LastLoginAt: base}
}

func storedLink(l storage.SSOLink) storage.SSOLink {
	l.CreatedAt, l.LastLoginAt = storage.Truncate(l.CreatedAt), storage.Truncate(l.LastLoginAt)
	return l
}

var ssoLinkTests = []namedTest{
	{"CreateGetTouch", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		mustOrg(t, s, "o")
		mustAccount(t, s, "o", "a")
		mustAccount(t, s, "o", "b")
		mustIdP(t, s, "o", "c1")
		mustIdP(t, s, "o", "c2")
		l := newLink("c1", "00000000-0000-0000-0000-0000000000aa", "a")
		wantErr(t, "CreateSSOLink", s.CreateSSOLink(ctx, l), nil)
		got, err := s.GetSSOLink(ctx, "c1", l.Subject)
		wantErr(t, "GetSSOLink", err, nil)
		wantEqual(t, "GetSSOLink", got, storedLink(l))

		dup := newLink("c1", l.Subject, "b")
		wantErr(t, "subject linked already", s.CreateSSOLink(ctx, dup), storage.ErrConflict)
		// The same subject at another connection is another identity.
		wantErr(t, "same subject at c2", s.CreateSSOLink(ctx, newLink("c2", l.Subject, "b")), nil)
		// Subjects are case-sensitive (NameIDs are opaque).
		wantErr(t, "subject in other case", s.CreateSSOLink(ctx, newLink("c1", "00000000-0000-0000-0000-0000000000AA", "b")), nil)

		later := base.Add(time.Hour)
		wantErr(t, "TouchSSOLink", s.TouchSSOLink(ctx, "c1", l.Subject, later), nil)
		wantErr(t, "TouchSSOLink backwards", s.TouchSSOLink(ctx, "c1", l.Subject, base), nil)
		got, err = s.GetSSOLink(ctx, "c1", l.Subject)
		wantErr(t, "GetSSOLink", err, nil)
		wantUTCMicros(t, "LastLoginAt only moves forward", got.LastLoginAt, later)

		links, err := s.ListAccountSSOLinks(ctx, "b")
		wantErr(t, "ListAccountSSOLinks", err, nil)
		wantEqual(t, "b's links", links, []storage.SSOLink{
			storedLink(newLink("c1", "00000000-0000-0000-0000-0000000000AA", "b")),
			storedLink(newLink("c2", l.Subject, "b")),
		})
		links, err = s.ListAccountSSOLinks(ctx, "nobody")
		wantErr(t, "ListAccountSSOLinks(no links)", err, nil)
		wantEqual(t, "no links", len(links), 0)

		// Both a and b are linked (b twice); another org's links never show.
		mustOrg(t, s, "p")
		mustAccount(t, s, "p", "pa")
		mustIdP(t, s, "p", "pc")
		wantErr(t, "CreateSSOLink in p", s.CreateSSOLink(ctx, newLink("pc", "x", "pa")), nil)
		ids, err := s.ListLinkedAccountIDs(ctx, "o")
		wantErr(t, "ListLinkedAccountIDs", err, nil)
		wantEqual(t, "o's linked accounts", ids, []string{"a", "b"})
		ids, err = s.ListLinkedAccountIDs(ctx, "nope")
		wantErr(t, "ListLinkedAccountIDs(no org)", err, nil)
		wantEqual(t, "no linked accounts", len(ids), 0)
		// The latest sign-in per account, over all its links, in one query.
		lastByAccount, err := s.LastSSOLogins(ctx, "o")
		wantErr(t, "LastSSOLogins", err, nil)
		wantEqual(t, "o's accounts with a last SSO sign-in", len(lastByAccount), 2)
		for _, id := range []string{"a", "b"} {
			links, err := s.ListAccountSSOLinks(ctx, id)
			wantErr(t, "ListAccountSSOLinks", err, nil)
			var want time.Time
			for _, l := range links {
				if l.LastLoginAt.After(want) {
					want = l.LastLoginAt
				}
			}
			wantUTCMicros(t, "LastSSOLogins["+id+"]", lastByAccount[id], want)
		}

		_, err = s.GetSSOLink(ctx, "c1", "nope")
		wantErr(t, "GetSSOLink(missing)", err, storage.ErrNotFound)
		wantErr(t, "TouchSSOLink(missing)", s.TouchSSOLink(ctx, "c1", "nope", later), storage.ErrNotFound)
	}},
	{"NeverAcrossOrganizations", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		mustOrg(t, s, "o")
		mustOrg(t, s, "p")
		mustAccount(t, s, "o", "a")
		mustAccount(t, s, "p", "bob")
		mustIdP(t, s, "o", "c1")
		// An IdP of org o must never reach org p's account.
		wantErr(t, "link to another org's account", s.CreateSSOLink(ctx, newLink("c1", "bob", "bob")), storage.ErrNotFound)
		wantErr(t, "missing connection", s.CreateSSOLink(ctx, newLink("nope", "x", "a")), storage.ErrNotFound)
		wantErr(t, "missing account", s.CreateSSOLink(ctx, newLink("c1", "x", "nope")), storage.ErrNotFound)
		_, err := s.GetSSOLink(ctx, "c1", "bob")
		wantErr(t, "no link was written", err, storage.ErrNotFound)
	}},
	{"Groups", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		mustOrg(t, s, "o")
		mustAccount(t, s, "o", "a")
		mustAccount(t, s, "o", "b")
		wantErr(t, "SetAccountGroups", s.SetAccountGroups(ctx, "a", []string{"Engineering", "admins", "Engineering", "ENGINEERING"}), nil)
		wantErr(t, "SetAccountGroups(b)", s.SetAccountGroups(ctx, "b", []string{"sales"}), nil)
		got, err := s.ListAccountGroups(ctx, "a")
		wantErr(t, "ListAccountGroups", err, nil)
		wantEqual(t, "groups (sorted, duplicates collapsed, case kept)", got, []string{"ENGINEERING", "Engineering", "admins"})
		wantErr(t, "replace", s.SetAccountGroups(ctx, "a", []string{"admins", "ops"}), nil)
		got, err = s.ListAccountGroups(ctx, "a")
		wantErr(t, "ListAccountGroups", err, nil)
		wantEqual(t, "replaced groups", got, []string{"admins", "ops"})
		wantErr(t, "clear", s.SetAccountGroups(ctx, "a", nil), nil)
		got, err = s.ListAccountGroups(ctx, "a")
		wantErr(t, "ListAccountGroups", err, nil)
		wantEqual(t, "no groups", len(got), 0)
		got, err = s.ListAccountGroups(ctx, "b")
		wantErr(t, "ListAccountGroups(b)", err, nil)
		wantEqual(t, "b untouched", got, []string{"sales"})
		wantErr(t, "missing account", s.SetAccountGroups(ctx, "nope", []string{"x"}), storage.ErrNotFound)
		wantErr(t, "missing account, no groups", s.SetAccountGroups(ctx, "nope", nil), storage.ErrNotFound)
	}},
}

func newAuthnRequest(id, connectionID string) storage.AuthnRequest {
	return storage.AuthnRequest{
		ID:           id,
		ConnectionID: connectionID,
		BrowserHash:  "browser-" + id,
		ReturnTo:     "https://wiki.corp.example/page?x=1",
		Test:         true,
		CreatedAt:    base,
		ExpiresAt:    base.Add(10 * time.Minute),
	}
}

var samlStateTests = []namedTest{
	{"AuthnRequestSingleUse", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		mustOrg(t, s, "o")
		mustIdP(t, s, "o", "c1")
		r := newAuthnRequest("id-1", "c1")
		wantErr(t, "CreateAuthnRequest", s.CreateAuthnRequest(ctx, r), nil)
		wantErr(t, "duplicate ID", s.CreateAuthnRequest(ctx, r), storage.ErrConflict)
		wantErr(t, "missing connection", s.CreateAuthnRequest(ctx, newAuthnRequest("id-2", "nope")), storage.ErrNotFound)

		at := base.Add(time.Minute)
		got, err := s.UseAuthnRequest(ctx, "id-1", at)
		wantErr(t, "UseAuthnRequest", err, nil)
		want := r
		want.CreatedAt, want.ExpiresAt, want.UsedAt = storage.Truncate(r.CreatedAt), storage.Truncate(r.ExpiresAt), storage.Truncate(at)
		wantEqual(t, "UseAuthnRequest", got, want)
		wantUTCMicros(t, "UsedAt", got.UsedAt, at)
		_, err = s.UseAuthnRequest(ctx, "id-1", at)
		wantErr(t, "second use", err, storage.ErrConflict)
		_, err = s.UseAuthnRequest(ctx, "nope", at)
		wantErr(t, "unknown request", err, storage.ErrNotFound)
	}},
	{"ConcurrentUseOneWinner", func(t *testing.T, s storage.Store) {
		mustOrg(t, s, "o")
		mustIdP(t, s, "o", "c1")
		wantErr(t, "CreateAuthnRequest", s.CreateAuthnRequest(ctxOf(t), newAuthnRequest("id-1", "c1")), nil)
		errs := race(goroutines, func(i int) error {
			_, err := s.UseAuthnRequest(ctxOf(t), "id-1", base.Add(time.Duration(i)*time.Second))
			return err
		})
		oneWinner(t, "concurrent UseAuthnRequest", errs, storage.ErrConflict)
	}},
	{"ReplayCache", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		mustOrg(t, s, "o")
		mustIdP(t, s, "o", "c1")
		mustIdP(t, s, "o", "c2")
		exp := base.Add(5 * time.Minute)
		wantErr(t, "first sight", s.RememberAssertion(ctx, "c1", "_a1", exp), nil)
		wantErr(t, "replay", s.RememberAssertion(ctx, "c1", "_a1", exp.Add(time.Hour)), storage.ErrConflict)
		wantErr(t, "same ID at another connection", s.RememberAssertion(ctx, "c2", "_a1", exp), nil)
		wantErr(t, "unknown connection", s.RememberAssertion(ctx, "nope", "_a9", exp), storage.ErrNotFound)

		// A replay detected inside a transaction leaves it usable for the
		// audit event that records the refusal.
		err := s.InTx(ctx, func(tx storage.Store) error {
			if err := tx.RememberAssertion(ctx, "c1", "_a1", exp); !errors.Is(err, storage.ErrConflict) {
				return fmt.Errorf("replay in tx: got %v, want ErrConflict", err)
			}
			return tx.AppendAudit(ctx, &storage.AuditEvent{OrgID: "o", Action: "sso.replay", Outcome: "failure", Time: base})
		})
		wantErr(t, "InTx", err, nil)
	}},
	{"ConcurrentRememberOneWinner", func(t *testing.T, s storage.Store) {
		mustOrg(t, s, "o")
		mustIdP(t, s, "o", "c1")
		errs := race(goroutines, func(int) error {
			return s.RememberAssertion(ctxOf(t), "c1", "_same", base.Add(time.Hour))
		})
		oneWinner(t, "concurrent RememberAssertion", errs, storage.ErrConflict)
	}},
	{"DeleteExpired", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		mustOrg(t, s, "o")
		mustIdP(t, s, "o", "c1")
		old := newAuthnRequest("old", "c1")
		old.ExpiresAt = base.Add(time.Minute)
		wantErr(t, "CreateAuthnRequest(old)", s.CreateAuthnRequest(ctx, old), nil)
		wantErr(t, "CreateAuthnRequest(fresh)", s.CreateAuthnRequest(ctx, newAuthnRequest("fresh", "c1")), nil)
		wantErr(t, "RememberAssertion(old)", s.RememberAssertion(ctx, "c1", "_old", base.Add(time.Minute)), nil)
		wantErr(t, "RememberAssertion(fresh)", s.RememberAssertion(ctx, "c1", "_fresh", base.Add(time.Hour)), nil)

		now := base.Add(2 * time.Minute)
		// Past its expiry but not yet purged, an ID still counts as seen.
		wantErr(t, "expired but not purged", s.RememberAssertion(ctx, "c1", "_old", now.Add(time.Hour)), storage.ErrConflict)
		n, err := s.DeleteExpiredSAMLState(ctx, now)
		wantErr(t, "DeleteExpiredSAMLState", err, nil)
		wantEqual(t, "purged rows", n, 2)
		_, err = s.UseAuthnRequest(ctx, "old", now)
		wantErr(t, "purged request", err, storage.ErrNotFound)
		_, err = s.UseAuthnRequest(ctx, "fresh", now)
		wantErr(t, "fresh request", err, nil)
		wantErr(t, "fresh assertion still remembered", s.RememberAssertion(ctx, "c1", "_fresh", now), storage.ErrConflict)
		wantErr(t, "purged assertion can be remembered again", s.RememberAssertion(ctx, "c1", "_old", now.Add(time.Hour)), nil)
	}},
}
