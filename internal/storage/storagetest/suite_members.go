package storagetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// memberFixture makes organization "o" with 23 accounts whose names
// repeat (so name and time orders need the ID tie-break), some who signed
// in, one suspended, one invited, and one account in organization "x".
func memberFixture(t *testing.T, s storage.Store) []storage.Account {
	t.Helper()
	ctx := ctxOf(t)
	mustOrg(t, s, "o")
	mustOrg(t, s, "x")
	var out []storage.Account
	names := []string{"Ada Lovelace", "alan Turing", "Grace Hopper", "ada byron", "Émilie du Châtelet"}
	for i := range 23 {
		a := newAccount("o", fmt.Sprintf("m%02d", (i*7)%23)) // IDs not in creation order
		a.Email = fmt.Sprintf("%c%02d@example.com", 'a'+rune(i%5), i)
		a.DisplayName = names[i%len(names)]
		a.CreatedAt = base.Add(time.Duration(i%4) * time.Hour) // ties too
		if i == 3 {
			a.Status = storage.StatusSuspended
		}
		if i == 4 {
			a.PasswordHash, a.PasswordChangedAt = "", time.Time{} // invited
		}
		wantErr(t, "CreateAccount", s.CreateAccount(ctx, a), nil)
		out = append(out, a)
	}
	other := newAccount("x", "x1")
	other.Email, other.DisplayName = "ada@elsewhere.example", "Ada Elsewhere"
	wantErr(t, "CreateAccount x1", s.CreateAccount(ctx, other), nil)
	// Sign-ins: two on account 0 (the later one counts), one each on 5 and 6.
	for i, x := range []struct {
		acct int
		at   time.Duration
	}{{0, time.Hour}, {0, 3 * time.Hour}, {5, 2 * time.Hour}, {6, 2 * time.Hour}} {
		sess := newSession(out[x.acct].ID, fmt.Sprintf("s%d", i), base.Add(x.at))
		mustSession(t, s, sess)
	}
	return out
}

// pageAll walks q forwards from the start, then backwards from the end,
// and fails t unless both walks see the same rows in the same order.
func pageAll(t *testing.T, s storage.Store, q storage.MemberQuery) []string {
	t.Helper()
	ctx := ctxOf(t)
	var fwd []string
	var last storage.MemberListing
	q.Limit = 4
	for n := 0; ; n++ {
		p, err := s.SearchMembers(ctx, q)
		wantErr(t, "SearchMembers", err, nil)
		if n > 0 && !p.HasPrev {
			t.Fatalf("page %d forwards says it has nothing before it", n)
		}
		for _, m := range p.Members {
			fwd = append(fwd, m.ID)
			last = m
		}
		if !p.HasNext {
			break
		}
		c := storage.CursorOf(last, q.Sort)
		q.After, q.Before = &c, nil
		if n > 50 {
			t.Fatal("paging forwards does not end")
		}
	}
	if len(fwd) == 0 {
		return fwd
	}
	// Backwards from just past the last row.
	var back []string
	c := storage.CursorOf(last, q.Sort)
	// Include the last row: start the backward walk from its successor by
	// collecting it first.
	back = append(back, last.ID)
	q.After, q.Before = nil, &c
	for n := 0; ; n++ {
		p, err := s.SearchMembers(ctx, q)
		wantErr(t, "SearchMembers backwards", err, nil)
		if !p.HasNext {
			t.Fatalf("page %d backwards says it has nothing after it", n)
		}
		ids := make([]string, len(p.Members))
		for i, m := range p.Members {
			ids[i] = m.ID
		}
		back = append(slices.Clone(ids), back...)
		if !p.HasPrev || len(p.Members) == 0 {
			break
		}
		c := storage.CursorOf(p.Members[0], q.Sort)
		q.Before = &c
		if n > 50 {
			t.Fatal("paging backwards does not end")
		}
	}
	wantEqual(t, fmt.Sprintf("backwards walk (sort %q desc %v)", q.Sort, q.Desc), back, fwd)
	return fwd
}

var memberTests = []namedTest{
	{"OrderAndCursorsBothWays", func(t *testing.T, s storage.Store) {
		accts := memberFixture(t, s)
		lastSignIn := map[string]time.Time{accts[0].ID: base.Add(3 * time.Hour), accts[5].ID: base.Add(2 * time.Hour), accts[6].ID: base.Add(2 * time.Hour)}
		for _, prefix := range []string{"", "a"} {
			for _, sort := range []string{storage.SortEmail, storage.SortName, storage.SortLastSignIn, storage.SortCreated} {
				for _, desc := range []bool{false, true} {
					// "a" matches by email (a00…) and by name (Ada…, alan…).
					want := slices.DeleteFunc(slices.Clone(accts), func(a storage.Account) bool {
						return !strings.HasPrefix(a.Email, prefix) && !strings.HasPrefix(storage.NameKey(a.DisplayName), prefix)
					})
					slices.SortFunc(want, func(a, b storage.Account) int {
						var c int
						switch sort {
						case storage.SortEmail:
							c = strings.Compare(a.Email, b.Email)
						case storage.SortName:
							c = strings.Compare(storage.NameKey(a.DisplayName), storage.NameKey(b.DisplayName))
						case storage.SortLastSignIn:
							c = lastSignIn[a.ID].Compare(lastSignIn[b.ID])
						case storage.SortCreated:
							c = a.CreatedAt.Compare(b.CreatedAt)
						}
						if c == 0 {
							c = strings.Compare(a.ID, b.ID)
						}
						if desc {
							c = -c
						}
						return c
					})
					var wantIDs []string
					for _, a := range want {
						wantIDs = append(wantIDs, a.ID)
					}
					got := pageAll(t, s, storage.MemberQuery{OrgID: "o", Prefix: prefix, Sort: sort, Desc: desc})
					wantEqual(t, fmt.Sprintf("order (prefix %q sort %q desc %v)", prefix, sort, desc), got, wantIDs)
				}
			}
		}
	}},
	{"CursorSurvivesInsertsBeforeIt", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		memberFixture(t, s)
		q := storage.MemberQuery{OrgID: "o", Sort: storage.SortName, Limit: 5}
		p1, err := s.SearchMembers(ctx, q)
		wantErr(t, "page 1", err, nil)
		c := storage.CursorOf(p1.Members[4], q.Sort)
		q.After = &c
		p2, err := s.SearchMembers(ctx, q)
		wantErr(t, "page 2", err, nil)
		// Someone sorting before the cursor arrives: page 2 does not move.
		early := newAccount("o", "early")
		early.Email, early.DisplayName = "aaa@example.com", "Aaron"
		wantErr(t, "CreateAccount", s.CreateAccount(ctx, early), nil)
		again, err := s.SearchMembers(ctx, q)
		wantErr(t, "page 2 again", err, nil)
		wantEqual(t, "page 2 after an insert before it", ids(again.Members), ids(p2.Members))
	}},
	{"Filters", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		accts := memberFixture(t, s)
		count := func(q storage.MemberQuery) []storage.MemberListing {
			t.Helper()
			q.OrgID, q.Limit = "o", 500
			p, err := s.SearchMembers(ctx, q)
			wantErr(t, fmt.Sprintf("SearchMembers %+v", q), err, nil)
			return p.Members
		}
		// Name prefix, case-insensitive, beyond ASCII; email prefix; never
		// another organization's "Ada Elsewhere".
		wantEqual(t, "prefix ada", len(count(storage.MemberQuery{Prefix: "ada"})), 9)
		wantEqual(t, "prefix émilie", len(count(storage.MemberQuery{Prefix: storage.NameKey("ÉMILIE")})), 4)
		wantEqual(t, "prefix b0", ids(count(storage.MemberQuery{Prefix: "b0"})), []string{accts[1].ID, accts[6].ID})
		wantEqual(t, "prefix with no match", len(count(storage.MemberQuery{Prefix: "zz"})), 0)
		wantEqual(t, "prefix %", len(count(storage.MemberQuery{Prefix: "%"})), 0)

		wantEqual(t, "suspended", ids(count(storage.MemberQuery{Status: storage.StatusFilterSuspended})), []string{accts[3].ID})
		wantEqual(t, "invited", ids(count(storage.MemberQuery{Status: storage.StatusFilterInvited})), []string{accts[4].ID})
		wantEqual(t, "active", len(count(storage.MemberQuery{Status: storage.StatusFilterActive})), 21)

		_, err := s.UpdateAccount(ctx, accts[2].ID, func(a *storage.Account) error { a.Role = storage.RoleAdmin; return nil })
		wantErr(t, "UpdateAccount", err, nil)
		wantEqual(t, "role admin", ids(count(storage.MemberQuery{Role: storage.RoleAdmin})), []string{accts[2].ID})

		mustPolicy(t, s, newPolicy("o", "pol", "Contractors"))
		wantErr(t, "SetPolicyMember", s.SetPolicyMember(ctx, "o", accts[7].ID, "pol"), nil)
		got := count(storage.MemberQuery{PolicyID: "pol"})
		wantEqual(t, "policy", ids(got), []string{accts[7].ID})
		wantEqual(t, "policy on the listing", got[0].PolicyID, "pol")
		wantEqual(t, "default policy", len(count(storage.MemberQuery{PolicyID: storage.PolicyFilterDefault})), 22)
		// The policy filter and column follow the one resolution rule: a
		// policy covering someone through their IdP group lists them too.
		mustPolicy(t, s, newPolicy("o", "grp", "Engineering"))
		wantErr(t, "AddPolicyGroup", s.AddPolicyGroup(ctx, "o", "grp", "eng"), nil)
		wantErr(t, "SetAccountGroups", s.SetAccountGroups(ctx, accts[5].ID, []string{"eng"}), nil)
		got = count(storage.MemberQuery{PolicyID: "grp"})
		wantEqual(t, "policy by group", ids(got), []string{accts[5].ID})
		wantEqual(t, "group policy on the listing", got[0].PolicyID, "grp")
		wantEqual(t, "default policy without the group's", len(count(storage.MemberQuery{PolicyID: storage.PolicyFilterDefault})), 21)

		wantEqual(t, "password", len(count(storage.MemberQuery{Method: storage.MethodPassword})), 22)
		everyday, emergency := newPasskey("o", accts[8].ID, "pk1", 1), newPasskey("o", accts[9].ID, "pk2", 2)
		emergency.Emergency = true
		wantErr(t, "CreatePasskey", s.CreatePasskey(ctx, everyday), nil)
		wantErr(t, "CreatePasskey", s.CreatePasskey(ctx, emergency), nil)
		wantEqual(t, "passkey", ids(count(storage.MemberQuery{Method: storage.MethodPasskey, Sort: storage.SortEmail})), ids(sortedByEmail(accts[8], accts[9])))
		wantEqual(t, "no MFA leaves out the everyday passkey only", len(count(storage.MemberQuery{NoMFA: true})), 22)
		got = count(storage.MemberQuery{NoEmergencyPasskey: true})
		wantEqual(t, "no emergency passkey", len(got), 22)
		for _, m := range got {
			if m.ID == accts[9].ID {
				t.Fatal("the account with an emergency passkey is listed as without one")
			}
		}

		mustIdP(t, s, "o", "conn")
		wantErr(t, "CreateSSOLink", s.CreateSSOLink(ctx, newLink("conn", "subj", accts[10].ID)), nil)
		got = count(storage.MemberQuery{Method: storage.MethodSSO})
		wantEqual(t, "sso", ids(got), []string{accts[10].ID})
		wantEqual(t, "sso on the listing", got[0].SSOLinked, true)

		combined := count(storage.MemberQuery{Prefix: "a", Status: storage.StatusFilterActive, Sort: storage.SortLastSignIn, Desc: true})
		if len(combined) == 0 || combined[0].ID != accts[0].ID || !combined[0].LastSignInAt.Equal(storage.Truncate(base.Add(3*time.Hour))) {
			t.Fatalf("prefix+status by last sign-in: first is %+v, want %s signed in at +3h", combined[0], accts[0].ID)
		}

		_, err = s.SearchMembers(ctx, storage.MemberQuery{OrgID: "o", Sort: "password_hash"})
		wantErr(t, "unknown sort", err, storage.ErrBadQuery)
		_, err = s.SearchMembers(ctx, storage.MemberQuery{OrgID: "o", Sort: storage.SortCreated, After: &storage.MemberCursor{Key: "x'; --", ID: "a"}})
		wantErr(t, "bad cursor", err, storage.ErrBadQuery)
	}},
}

func ids(ms []storage.MemberListing) []string {
	out := []string{}
	for _, m := range ms {
		out = append(out, m.ID)
	}
	return out
}

func sortedByEmail(as ...storage.Account) []storage.MemberListing {
	slices.SortFunc(as, func(a, b storage.Account) int { return strings.Compare(a.Email, b.Email) })
	out := make([]storage.MemberListing, len(as))
	for i, a := range as {
		out[i].Account = a
	}
	return out
}
