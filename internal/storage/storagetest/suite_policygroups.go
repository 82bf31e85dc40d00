package storagetest

import (
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

var policyGroupTests = []namedTest{
	{"GroupsResolveBetweenMemberAndDefault", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		def, eng := withPolicies(t, s)
		ops := mustPolicy(t, s, newPolicy("o", "ops", "Operations")) // sorts after "Engineers"
		for _, id := range []string{"a", "b", "c", "d"} {
			mustAccount(t, s, "o", id)
		}
		wantErr(t, "eng ← staff", s.AddPolicyGroup(ctx, "o", eng.ID, "staff"), nil)
		wantErr(t, "ops ← oncall", s.AddPolicyGroup(ctx, "o", ops.ID, "oncall"), nil)
		wantErr(t, "ops ← staff", s.AddPolicyGroup(ctx, "o", ops.ID, "staff"), nil)
		wantErr(t, "twice", s.AddPolicyGroup(ctx, "o", ops.ID, "staff"), storage.ErrConflict)
		wantErr(t, "missing policy", s.AddPolicyGroup(ctx, "o", "nope", "staff"), storage.ErrNotFound)

		wantErr(t, "a groups", s.SetAccountGroups(ctx, "a", []string{"staff"}), nil)          // two policies: by name
		wantErr(t, "b groups", s.SetAccountGroups(ctx, "b", []string{"oncall", "x"}), nil)    // ops only
		wantErr(t, "c groups", s.SetAccountGroups(ctx, "c", []string{"oncall"}), nil)         // explicit wins
		wantErr(t, "d groups", s.SetAccountGroups(ctx, "d", []string{"Staff", "other"}), nil) // case matters
		wantErr(t, "c explicit", s.SetPolicyMember(ctx, "o", "c", eng.ID), nil)

		for _, tc := range []struct {
			account string
			want    storage.Policy
		}{{"a", eng}, {"b", ops}, {"c", eng}, {"d", def}} {
			got, err := s.PolicyFor(ctx, "o", tc.account)
			wantErr(t, "PolicyFor("+tc.account+")", err, nil)
			wantEqual(t, "PolicyFor("+tc.account+")", got.ID, tc.want.ID)
		}

		groups, err := s.ListPolicyGroups(ctx, "o", ops.ID)
		wantErr(t, "ListPolicyGroups", err, nil)
		wantEqual(t, "ops groups", groups, []string{"oncall", "staff"})
		byPolicy, err := s.ListGroupPolicies(ctx, "o")
		wantErr(t, "ListGroupPolicies", err, nil)
		wantEqual(t, "group policies", byPolicy, map[string][]string{eng.ID: {"staff"}, ops.ID: {"oncall", "staff"}})
		byAccount, err := s.ListGroupedAccounts(ctx, "o")
		wantErr(t, "ListGroupedAccounts", err, nil)
		wantEqual(t, "grouped accounts", byAccount, map[string][]string{"a": {"staff"}, "b": {"oncall", "x"}, "c": {"oncall"}, "d": {"Staff", "other"}})

		wantErr(t, "remove", s.RemovePolicyGroup(ctx, "o", eng.ID, "staff"), nil)
		wantErr(t, "remove twice", s.RemovePolicyGroup(ctx, "o", eng.ID, "staff"), storage.ErrNotFound)
		got, err := s.PolicyFor(ctx, "o", "a")
		wantErr(t, "PolicyFor(a)", err, nil)
		wantEqual(t, "a now under ops", got.ID, ops.ID)

		// Deleting a policy drops its groups: its people fall to the default.
		wantErr(t, "delete ops", s.DeletePolicy(ctx, "o", ops.ID), nil)
		got, err = s.PolicyFor(ctx, "o", "b")
		wantErr(t, "PolicyFor(b)", err, nil)
		wantEqual(t, "b falls to the default", got.ID, def.ID)

		// Nothing crosses organizations.
		mustOrg(t, s, "p")
		wantErr(t, "another org's policy", s.AddPolicyGroup(ctx, "p", eng.ID, "staff"), storage.ErrNotFound)
	}},
}
