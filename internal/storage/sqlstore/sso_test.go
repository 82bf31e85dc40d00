package sqlstore_test

import (
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

// There is no DeleteOrganization yet, but an operator may delete an
// organization row by hand (or a later version will): the policies →
// idp_connections key has no ON DELETE action so that DeleteIdPConnection
// refuses a connection in use, and must still let one statement cascade
// the organization, its connections and its policies away together.
func TestDeletingAnOrganizationCascadesSSOState(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		var s storage.Store
		if dialect == sqlstore.DialectSQLite {
			s = sqltest.NewSQLite(t)
		} else {
			s = sqltest.NewPostgres(t)
		}
		ctx := t.Context()
		now := time.Now()
		must := func(what string, err error) {
			t.Helper()
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
		}
		must("org", s.CreateOrganization(ctx, storage.Organization{ID: "o", Slug: "o", Name: "O", CreatedAt: now}))
		must("account", s.CreateAccount(ctx, storage.Account{ID: "a", OrgID: "o", Email: "a@corp.example",
			Role: storage.RoleMember, Status: storage.StatusActive, CreatedAt: now, UpdatedAt: now, Version: 1}))
		must("domain", s.CreateDomain(ctx, storage.Domain{ID: "d", OrgID: "o", Name: "corp.example", VerificationToken: "t", CreatedAt: now}))
		must("connection", s.CreateIdPConnection(ctx, storage.IdPConnection{ID: "c", OrgID: "o", Slug: "c", CreatedAt: now, Version: 1}))
		must("policy", s.CreatePolicy(ctx, storage.Policy{ID: "p", OrgID: "o", Name: "P", IsDefault: true,
			SSO: storage.SSOEnforced, ConnectionID: "c", CreatedAt: now, Version: 1}))
		must("member", s.SetPolicyMember(ctx, "o", "a", "p"))
		must("link", s.CreateSSOLink(ctx, storage.SSOLink{ConnectionID: "c", Subject: "x", AccountID: "a", CreatedAt: now}))
		must("groups", s.SetAccountGroups(ctx, "a", []string{"g"}))
		must("request", s.CreateAuthnRequest(ctx, storage.AuthnRequest{ID: "r", ConnectionID: "c", CreatedAt: now, ExpiresAt: now}))
		must("assertion", s.RememberAssertion(ctx, "c", "as", now))

		db := s.(*sqlstore.Store).DB()
		if _, err := db.ExecContext(ctx, `DELETE FROM organizations WHERE id = 'o'`); err != nil {
			t.Fatalf("delete organization: %v", err)
		}
		for _, table := range []string{"domains", "idp_connections", "policies", "policy_members", "sso_links",
			"account_groups", "authn_requests", "saml_assertions"} {
			var n int
			if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != 0 {
				t.Errorf("%s: %d rows left after the organization was deleted", table, n)
			}
		}
	})
}
