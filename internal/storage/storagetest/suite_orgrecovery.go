package storagetest

import (
	"fmt"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

func orgRecoverySet(orgID, prefix string, n int) []storage.OrgRecoveryCode {
	out := make([]storage.OrgRecoveryCode, n)
	for i := range out {
		out[i] = storage.OrgRecoveryCode{ID: fmt.Sprintf("%s-%d", prefix, i), OrgID: orgID,
			CodeHash: fmt.Sprintf("%s-hash-%d", prefix, i), CreatedAt: base, CreatedBy: "owner"}
	}
	return out
}

var orgRecoveryTests = []namedTest{
	{"ReplaceUseList", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		mustOrg(t, s, "o1")
		mustOrg(t, s, "o2")
		wantErr(t, "Replace o1", s.ReplaceOrgRecoveryCodes(ctx, "o1", orgRecoverySet("o1", "a", 3)), nil)
		wantErr(t, "Replace o2", s.ReplaceOrgRecoveryCodes(ctx, "o2", orgRecoverySet("o2", "b", 1)), nil)
		got, err := s.ListOrgRecoveryCodes(ctx, "o1")
		wantErr(t, "List", err, nil)
		if len(got) != 3 || got[0].CodeHash != "a-hash-0" || !got[0].UsedAt.IsZero() {
			t.Fatalf("List = %+v", got)
		}
		wantUTCMicros(t, "CreatedAt", got[0].CreatedAt, base)

		// Another organization's code does not work here.
		_, err = s.UseOrgRecoveryCode(ctx, "o1", "b-hash-0", "acct", base)
		wantErr(t, "other org's code", err, storage.ErrNotFound)
		c, err := s.UseOrgRecoveryCode(ctx, "o1", "a-hash-1", "acct", base)
		wantErr(t, "Use", err, nil)
		if c.UsedBy != "acct" || c.ID != "a-1" {
			t.Errorf("used code = %+v", c)
		}
		wantUTCMicros(t, "UsedAt", c.UsedAt, base)
		_, err = s.UseOrgRecoveryCode(ctx, "o1", "a-hash-1", "acct", base)
		wantErr(t, "reuse", err, storage.ErrNotFound)

		// Regenerating voids the old set, used codes included.
		wantErr(t, "Replace again", s.ReplaceOrgRecoveryCodes(ctx, "o1", orgRecoverySet("o1", "c", 2)), nil)
		_, err = s.UseOrgRecoveryCode(ctx, "o1", "a-hash-2", "acct", base)
		wantErr(t, "old set", err, storage.ErrNotFound)
		got, _ = s.ListOrgRecoveryCodes(ctx, "o1")
		if len(got) != 2 {
			t.Errorf("after regenerating: %d codes", len(got))
		}
		if got, _ := s.ListOrgRecoveryCodes(ctx, "o2"); len(got) != 1 {
			t.Errorf("o2 lost its codes: %+v", got)
		}
	}},
	{"ConcurrentUseOneWinner", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		mustOrg(t, s, "o1")
		wantErr(t, "Replace", s.ReplaceOrgRecoveryCodes(ctx, "o1", orgRecoverySet("o1", "a", 1)), nil)
		errs := race(goroutines, func(i int) error {
			return s.InTx(ctx, func(tx storage.Store) error {
				_, err := tx.UseOrgRecoveryCode(ctx, "o1", "a-hash-0", fmt.Sprintf("acct-%d", i), base)
				return err
			})
		})
		oneWinner(t, "concurrent uses of one code", errs, storage.ErrNotFound)
	}},
}
