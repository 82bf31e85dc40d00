package storagetest

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// The SSO areas: domains and IdP connections here; policies, SSO links and
// SAML state in suite_sso_state.go.

func newDomain(orgID, id, name string) storage.Domain {
	return storage.Domain{
		ID:                id,
		OrgID:             orgID,
		Name:              name,
		VerificationToken: "token-" + id,
		CreatedAt:         base,
	}
}

func mustDomain(t *testing.T, s storage.Store, orgID, id, name string) storage.Domain {
	t.Helper()
	d := newDomain(orgID, id, name)
	if err := s.CreateDomain(ctxOf(t), d); err != nil {
		t.Fatalf("CreateDomain(%s): %v", id, err)
	}
	return d
}

func storedDomain(d storage.Domain) storage.Domain {
	d.CreatedAt, d.VerifiedAt, d.LastCheckedAt = storage.Truncate(d.CreatedAt), storage.Truncate(d.VerifiedAt), storage.Truncate(d.LastCheckedAt)
	return d
}

func getDomain(t *testing.T, s storage.Store, orgID, id string) storage.Domain {
	t.Helper()
	d, err := s.GetDomain(ctxOf(t), orgID, id)
	if err != nil {
		t.Fatalf("GetDomain(%s, %s): %v", orgID, id, err)
	}
	return d
}

var domainTests = []namedTest{
	{"CreateGetList", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		mustOrg(t, s, "o")
		mustOrg(t, s, "p")
		b := mustDomain(t, s, "o", "d1", "b.example")
		a := mustDomain(t, s, "o", "d2", "a.example")
		mustDomain(t, s, "p", "d3", "c.example")

		got := getDomain(t, s, "o", "d1")
		wantEqual(t, "GetDomain", got, storedDomain(b))
		wantUTCMicros(t, "CreatedAt", got.CreatedAt, base)
		wantEqual(t, "unverified", got.VerifiedAt.IsZero() && got.LastCheckedAt.IsZero(), true)

		list, err := s.ListDomains(ctx, "o")
		wantErr(t, "ListDomains", err, nil)
		wantEqual(t, "ListDomains (by name, one org)", list, []storage.Domain{storedDomain(a), storedDomain(b)})
		list, err = s.ListDomains(ctx, "nobody")
		wantErr(t, "ListDomains(unknown org)", err, nil)
		wantEqual(t, "ListDomains(unknown org)", len(list), 0)
	}},
	{"OrgIsolation", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		mustOrg(t, s, "o")
		mustOrg(t, s, "p")
		d := mustDomain(t, s, "o", "d1", "corp.example")
		// Organization p knows the ID but it is not p's: every call says
		// "not found" and changes nothing.
		_, err := s.GetDomain(ctx, "p", "d1")
		wantErr(t, "GetDomain from another org", err, storage.ErrNotFound)
		wantErr(t, "RecordDomainCheck from another org",
			s.RecordDomainCheck(ctx, "p", "d1", base, base, ""), storage.ErrNotFound)
		wantErr(t, "DeleteDomain from another org", s.DeleteDomain(ctx, "p", "d1"), storage.ErrNotFound)
		wantEqual(t, "domain untouched", getDomain(t, s, "o", "d1"), storedDomain(d))
	}},
	{"Conflicts", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		mustOrg(t, s, "o")
		mustOrg(t, s, "p")
		mustDomain(t, s, "o", "d1", "corp.example")
		wantErr(t, "same name twice in one org", s.CreateDomain(ctx, newDomain("o", "d2", "corp.example")), storage.ErrConflict)
		wantErr(t, "duplicate ID", s.CreateDomain(ctx, newDomain("p", "d1", "other.example")), storage.ErrConflict)
		// Claims are not exclusive; only verification is.
		wantErr(t, "same name in another org", s.CreateDomain(ctx, newDomain("p", "d3", "corp.example")), nil)
		wantErr(t, "domain of a missing org", s.CreateDomain(ctx, newDomain("nobody", "d4", "x.example")), storage.ErrNotFound)
	}},
	{"NotFound", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		mustOrg(t, s, "o")
		_, err := s.GetDomain(ctx, "o", "nope")
		wantErr(t, "GetDomain", err, storage.ErrNotFound)
		_, err = s.GetVerifiedDomain(ctx, "nope.example")
		wantErr(t, "GetVerifiedDomain", err, storage.ErrNotFound)
		wantErr(t, "RecordDomainCheck", s.RecordDomainCheck(ctx, "o", "nope", base, time.Time{}, "x"), storage.ErrNotFound)
		wantErr(t, "DeleteDomain", s.DeleteDomain(ctx, "o", "nope"), storage.ErrNotFound)
	}},
	{"CheckOutcomes", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		mustOrg(t, s, "o")
		mustDomain(t, s, "o", "d1", "corp.example")
		t1, t2, t3 := base.Add(time.Minute), base.Add(2*time.Minute), base.Add(3*time.Minute)

		wantErr(t, "record failure", s.RecordDomainCheck(ctx, "o", "d1", t1, time.Time{}, "no TXT record"), nil)
		got := getDomain(t, s, "o", "d1")
		wantUTCMicros(t, "LastCheckedAt after failure", got.LastCheckedAt, t1)
		wantEqual(t, "after failure", [2]any{got.VerifiedAt.IsZero(), got.LastError}, [2]any{true, "no TXT record"})
		_, err := s.GetVerifiedDomain(ctx, "corp.example")
		wantErr(t, "GetVerifiedDomain before verification", err, storage.ErrNotFound)

		wantErr(t, "record success", s.RecordDomainCheck(ctx, "o", "d1", t2, t2, ""), nil)
		got = getDomain(t, s, "o", "d1")
		wantUTCMicros(t, "VerifiedAt", got.VerifiedAt, t2)
		wantUTCMicros(t, "LastCheckedAt after success", got.LastCheckedAt, t2)
		wantEqual(t, "LastError cleared", got.LastError, "")
		v, err := s.GetVerifiedDomain(ctx, "corp.example")
		wantErr(t, "GetVerifiedDomain", err, nil)
		wantEqual(t, "GetVerifiedDomain", v, got)

		// A later failed check never takes the verification away; a later
		// success keeps the first VerifiedAt.
		wantErr(t, "failure after success", s.RecordDomainCheck(ctx, "o", "d1", t3, time.Time{}, "timeout"), nil)
		got = getDomain(t, s, "o", "d1")
		wantUTCMicros(t, "VerifiedAt kept", got.VerifiedAt, t2)
		wantEqual(t, "LastError recorded", got.LastError, "timeout")
		wantErr(t, "success again", s.RecordDomainCheck(ctx, "o", "d1", t3.Add(time.Minute), t3.Add(time.Minute), ""), nil)
		got = getDomain(t, s, "o", "d1")
		wantUTCMicros(t, "first VerifiedAt kept", got.VerifiedAt, t2)

		wantErr(t, "DeleteDomain", s.DeleteDomain(ctx, "o", "d1"), nil)
		_, err = s.GetVerifiedDomain(ctx, "corp.example")
		wantErr(t, "GetVerifiedDomain after delete", err, storage.ErrNotFound)
	}},
	{"VerifiedByOneOrg", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		mustOrg(t, s, "o")
		mustOrg(t, s, "p")
		mustDomain(t, s, "o", "do", "corp.example")
		dp := mustDomain(t, s, "p", "dp", "corp.example")
		wantErr(t, "o verifies", s.RecordDomainCheck(ctx, "o", "do", base, base, ""), nil)
		wantErr(t, "p verifies the same name", s.RecordDomainCheck(ctx, "p", "dp", base, base, ""), storage.ErrConflict)
		wantEqual(t, "p's claim unchanged by the refused verification", getDomain(t, s, "p", "dp"), storedDomain(dp))
		v, err := s.GetVerifiedDomain(ctx, "corp.example")
		wantErr(t, "GetVerifiedDomain", err, nil)
		wantEqual(t, "holder", v.OrgID, "o")

		// Once o lets go of the name, p's waiting claim can be verified.
		wantErr(t, "o removes", s.DeleteDomain(ctx, "o", "do"), nil)
		wantErr(t, "p verifies after o removed", s.RecordDomainCheck(ctx, "p", "dp", base, base, ""), nil)
		v, err = s.GetVerifiedDomain(ctx, "corp.example")
		wantErr(t, "GetVerifiedDomain", err, nil)
		wantEqual(t, "new holder", v.OrgID, "p")
	}},
	{"RefusedVerificationLeavesTxUsable", func(t *testing.T, s storage.Store) {
		// The domain service records the failure and its audit event in the
		// transaction where the verification was refused; on PostgreSQL a
		// failed statement would poison it.
		ctx := ctxOf(t)
		mustOrg(t, s, "o")
		mustOrg(t, s, "p")
		mustDomain(t, s, "o", "do", "corp.example")
		mustDomain(t, s, "p", "dp", "corp.example")
		wantErr(t, "o verifies", s.RecordDomainCheck(ctx, "o", "do", base, base, ""), nil)
		err := s.InTx(ctx, func(tx storage.Store) error {
			if err := tx.RecordDomainCheck(ctx, "p", "dp", base, base, ""); !errors.Is(err, storage.ErrConflict) {
				return fmt.Errorf("verify in tx: got %v, want ErrConflict", err)
			}
			if err := tx.RecordDomainCheck(ctx, "p", "dp", base, time.Time{}, "taken"); err != nil {
				return err
			}
			return tx.AppendAudit(ctx, &storage.AuditEvent{OrgID: "p", Action: "domain.verify", Outcome: "failure", Time: base})
		})
		wantErr(t, "InTx", err, nil)
		wantEqual(t, "LastError", getDomain(t, s, "p", "dp").LastError, "taken")
	}},
	{"ConcurrentVerifyOneWinner", func(t *testing.T, s storage.Store) {
		for i := range goroutines {
			org := fmt.Sprintf("org%02d", i)
			mustOrg(t, s, org)
			mustDomain(t, s, org, "d-"+org, "contested.example")
		}
		errs := race(goroutines, func(i int) error {
			org := fmt.Sprintf("org%02d", i)
			at := base.Add(time.Duration(i) * time.Second)
			return s.RecordDomainCheck(ctxOf(t), org, "d-"+org, at, at, "")
		})
		oneWinner(t, "concurrent RecordDomainCheck(verified)", errs, storage.ErrConflict)
		v, err := s.GetVerifiedDomain(ctxOf(t), "contested.example")
		wantErr(t, "GetVerifiedDomain", err, nil)
		wantEqual(t, "the winner holds the name", errs[mustIndex(t, v.OrgID)], nil)
	}},
}

// mustIndex parses the goroutine number out of "orgNN".
func mustIndex(t *testing.T, org string) int {
	t.Helper()
	var i int
	if _, err := fmt.Sscanf(org, "org%02d", &i); err != nil {
		t.Fatalf("unexpected org %q", org)
	}
	return i
}

func newIdP(orgID, id string) storage.IdPConnection {
	return storage.IdPConnection{
		ID:                id,
		OrgID:             orgID,
		Slug:              "slug-" + id,
		Name:              "IdP " + id,
		EntityID:          "https://sts.windows.net/" + id + "/",
		SSOURL:            "https://login.microsoftonline.com/" + id + "/saml2",
		SigningCertsPEM:   []string{"-----BEGIN CERTIFICATE-----\nMIIB1\n-----END CERTIFICATE-----\n", "-----BEGIN CERTIFICATE-----\nMIIB2\n-----END CERTIFICATE-----\n"},
		MetadataURL:       "https://login.microsoftonline.com/" + id + "/federationmetadata.xml",
		MetadataXML:       `<EntityDescriptor entityID="x"/>`,
		MetadataFetchedAt: base.Add(-time.Hour),
		MetadataError:     "",
		NameIDFormat:      "persistent",
		AttributeMap: map[string]string{
			"email":  "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
			"groups": "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups",
		},
		JIT:               true,
		AllowIdPInitiated: false,
		AllowSHA1:         true,
		AllowExpiredCerts: false,
		SignRequests:      true,
		SPKeyPEM:          "encrypted:abc",
		SPCertPEM:         "-----BEGIN CERTIFICATE-----\nSP\n-----END CERTIFICATE-----\n",
		CreatedAt:         base,
		UpdatedAt:         base,
		Version:           1,
	}
}

func mustIdP(t *testing.T, s storage.Store, orgID, id string) storage.IdPConnection {
	t.Helper()
	c := newIdP(orgID, id)
	if err := s.CreateIdPConnection(ctxOf(t), c); err != nil {
		t.Fatalf("CreateIdPConnection(%s): %v", id, err)
	}
	return c
}

func storedIdP(c storage.IdPConnection) storage.IdPConnection {
	c.MetadataFetchedAt, c.TestedAt = storage.Truncate(c.MetadataFetchedAt), storage.Truncate(c.TestedAt)
	c.CreatedAt, c.UpdatedAt = storage.Truncate(c.CreatedAt), storage.Truncate(c.UpdatedAt)
	return c
}

func idpIDs(cs []storage.IdPConnection) []string {
	ids := []string{}
	for _, c := range cs {
		ids = append(ids, c.ID)
	}
	return ids
}

var idpTests = []namedTest{
	{"CreateGetList", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		mustOrg(t, s, "o")
		mustOrg(t, s, "p")
		c := mustIdP(t, s, "o", "c1")
		c2 := newIdP("o", "c2")
		c2.Name = "A first by name"
		// Empty collections and false flags round-trip too.
		c2.SigningCertsPEM, c2.AttributeMap = nil, nil
		c2.JIT, c2.AllowSHA1, c2.SignRequests, c2.AllowIdPInitiated, c2.AllowExpiredCerts = false, false, false, true, true
		wantErr(t, "create c2", s.CreateIdPConnection(ctx, c2), nil)
		mustIdP(t, s, "p", "c3")

		got, err := s.GetIdPConnection(ctx, "c1")
		wantErr(t, "GetIdPConnection", err, nil)
		wantEqual(t, "GetIdPConnection", got, storedIdP(c))
		wantUTCMicros(t, "MetadataFetchedAt", got.MetadataFetchedAt, c.MetadataFetchedAt)
		got, err = s.GetIdPConnectionBySlug(ctx, "slug-c2")
		wantErr(t, "GetIdPConnectionBySlug", err, nil)
		wantEqual(t, "GetIdPConnectionBySlug", got, storedIdP(c2))

		list, err := s.ListIdPConnections(ctx, "o")
		wantErr(t, "ListIdPConnections", err, nil)
		wantEqual(t, "ListIdPConnections(o) by name", idpIDs(list), []string{"c2", "c1"})
		list, err = s.ListIdPConnections(ctx, "")
		wantErr(t, "ListIdPConnections(all)", err, nil)
		wantEqual(t, "ListIdPConnections(all)", idpIDs(list), []string{"c2", "c1", "c3"})
	}},
	{"ConflictsAndNotFound", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		mustOrg(t, s, "o")
		mustOrg(t, s, "p")
		mustIdP(t, s, "o", "c1")
		dupSlug := newIdP("p", "c2")
		dupSlug.Slug = "slug-c1"
		wantErr(t, "slug taken in another org", s.CreateIdPConnection(ctx, dupSlug), storage.ErrConflict)
		wantErr(t, "duplicate ID", s.CreateIdPConnection(ctx, newIdP("p", "c1")), storage.ErrConflict)
		wantErr(t, "missing org", s.CreateIdPConnection(ctx, newIdP("nobody", "c9")), storage.ErrNotFound)
		_, err := s.GetIdPConnection(ctx, "nope")
		wantErr(t, "GetIdPConnection", err, storage.ErrNotFound)
		_, err = s.GetIdPConnectionBySlug(ctx, "nope")
		wantErr(t, "GetIdPConnectionBySlug", err, storage.ErrNotFound)
		_, err = s.UpdateIdPConnection(ctx, "nope", func(*storage.IdPConnection) error { return nil })
		wantErr(t, "UpdateIdPConnection", err, storage.ErrNotFound)
		wantErr(t, "DeleteIdPConnection(missing)", s.DeleteIdPConnection(ctx, "o", "nope"), storage.ErrNotFound)
		wantErr(t, "DeleteIdPConnection(another org's)", s.DeleteIdPConnection(ctx, "p", "c1"), storage.ErrNotFound)
		_, err = s.GetIdPConnection(ctx, "c1")
		wantErr(t, "connection survives another org's delete", err, nil)
	}},
	{"Update", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		mustOrg(t, s, "o")
		orig := mustIdP(t, s, "o", "c1")
		later := base.Add(time.Hour)
		got, err := s.UpdateIdPConnection(ctx, "c1", func(c *storage.IdPConnection) error {
			c.Name = "Entra ID"
			c.SigningCertsPEM = append(c.SigningCertsPEM, "third")
			c.AttributeMap["display_name"] = "name"
			c.JIT, c.AllowIdPInitiated = false, true
			c.TestedAt, c.UpdatedAt = later, later
			c.MetadataError = "fetch failed: 503"
			c.ID, c.OrgID, c.CreatedAt, c.Version = "hijack", "other", later, 99
			return nil
		})
		wantErr(t, "UpdateIdPConnection", err, nil)
		want := storedIdP(orig)
		want.Name = "Entra ID"
		want.SigningCertsPEM = append(append([]string(nil), orig.SigningCertsPEM...), "third")
		want.AttributeMap = map[string]string{"display_name": "name"}
		for k, v := range orig.AttributeMap {
			want.AttributeMap[k] = v
		}
		want.JIT, want.AllowIdPInitiated = false, true
		want.TestedAt, want.UpdatedAt = storage.Truncate(later), storage.Truncate(later)
		want.MetadataError = "fetch failed: 503"
		want.Version = orig.Version + 1
		wantEqual(t, "UpdateIdPConnection result", got, want)
		reread, err := s.GetIdPConnection(ctx, "c1")
		wantErr(t, "GetIdPConnection", err, nil)
		wantEqual(t, "after update", reread, want)

		_, err = s.UpdateIdPConnection(ctx, "c1", func(c *storage.IdPConnection) error {
			c.Name = "half-done"
			return errBoom
		})
		if err != errBoom { //nolint:errorlint // documented: fn's error is returned unchanged
			t.Fatalf("UpdateIdPConnection returned %v, want fn's error unchanged", err)
		}
		reread, err = s.GetIdPConnection(ctx, "c1")
		wantErr(t, "GetIdPConnection", err, nil)
		wantEqual(t, "after failed fn", reread, want)

		mustIdP(t, s, "o", "c2")
		_, err = s.UpdateIdPConnection(ctx, "c1", func(c *storage.IdPConnection) error { c.Slug = "slug-c2"; return nil })
		wantErr(t, "slug taken", err, storage.ErrConflict)
	}},
	{"ConcurrentUpdatesLoseNothing", func(t *testing.T, s storage.Store) {
		mustOrg(t, s, "o")
		orig := mustIdP(t, s, "o", "c1")
		const n = 10
		errs := race(n, func(i int) error {
			_, err := s.UpdateIdPConnection(ctxOf(t), "c1", func(c *storage.IdPConnection) error {
				c.SigningCertsPEM = append(c.SigningCertsPEM, fmt.Sprintf("cert%d", i))
				return nil
			})
			return err
		})
		allSucceed(t, "UpdateIdPConnection", errs)
		got, err := s.GetIdPConnection(ctxOf(t), "c1")
		wantErr(t, "GetIdPConnection", err, nil)
		wantEqual(t, "version", got.Version, orig.Version+n)
		wantEqual(t, "certificates", len(got.SigningCertsPEM), len(orig.SigningCertsPEM)+n)
		joined := strings.Join(got.SigningCertsPEM, ",")
		for i := range n {
			if !strings.Contains(joined, fmt.Sprintf("cert%d", i)) {
				t.Fatalf("update %d lost: %v", i, got.SigningCertsPEM)
			}
		}
	}},
	{"DeleteCascadesAndRefusesWhileUsed", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		mustOrg(t, s, "o")
		mustAccount(t, s, "o", "a")
		mustIdP(t, s, "o", "c1")
		mustIdP(t, s, "o", "c2")
		wantErr(t, "CreateSSOLink", s.CreateSSOLink(ctx, newLink("c1", "subj", "a")), nil)
		wantErr(t, "CreateSSOLink(c2)", s.CreateSSOLink(ctx, newLink("c2", "subj", "a")), nil)
		wantErr(t, "CreateAuthnRequest", s.CreateAuthnRequest(ctx, newAuthnRequest("req1", "c1")), nil)
		wantErr(t, "RememberAssertion", s.RememberAssertion(ctx, "c1", "assertion1", base.Add(time.Hour)), nil)
		p := newPolicy("o", "pol", "Engineers")
		p.SSO, p.ConnectionID = storage.SSOEnforced, "c1"
		wantErr(t, "CreatePolicy", s.CreatePolicy(ctx, p), nil)

		wantErr(t, "delete a connection a policy uses", s.DeleteIdPConnection(ctx, "o", "c1"), storage.ErrConflict)
		_, err := s.GetSSOLink(ctx, "c1", "subj")
		wantErr(t, "link survives the refused delete", err, nil)

		_, err = s.UpdatePolicy(ctx, "o", "pol", func(p *storage.Policy) error { p.ConnectionID = "c2"; return nil })
		wantErr(t, "point the policy elsewhere", err, nil)
		wantErr(t, "DeleteIdPConnection", s.DeleteIdPConnection(ctx, "o", "c1"), nil)
		_, err = s.GetIdPConnection(ctx, "c1")
		wantErr(t, "GetIdPConnection after delete", err, storage.ErrNotFound)
		_, err = s.GetSSOLink(ctx, "c1", "subj")
		wantErr(t, "link of the deleted connection", err, storage.ErrNotFound)
		_, err = s.GetSSOLink(ctx, "c2", "subj")
		wantErr(t, "link of the other connection", err, nil)
		_, err = s.UseAuthnRequest(ctx, "req1", base)
		wantErr(t, "AuthnRequest of the deleted connection", err, storage.ErrNotFound)
		_, err = s.GetAccount(ctx, "a")
		wantErr(t, "the account stays", err, nil)
	}},
}
