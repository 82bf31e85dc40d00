package saml

import (
	"crypto/x509"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/saml/samltest"
)

const (
	mapObjectID = "0b5a1f3c-8c1e-4a57-9d4e-5a3f1e2d7c90"
	mapGroup1   = "9f3c2a1b-0000-4000-8000-000000000001"
	mapGroup2   = "9f3c2a1b-0000-4000-8000-000000000002"
)

// mapEntraAttrs are the claims Entra ID sends by default for a user.
func mapEntraAttrs(email string) map[string][]string {
	return map[string][]string{
		"http://schemas.microsoft.com/identity/claims/tenantid": {"72f988bf-86f1-41af-91ab-2d7cd011db47"},
		ClaimObjectID:    {mapObjectID},
		ClaimDisplayName: {"Alice Liddell"},
		ClaimGroups:      {mapGroup1, mapGroup2},
		"http://schemas.microsoft.com/identity/claims/identityprovider": {"https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/"},
		ClaimGivenName:    {"Alice"},
		ClaimSurname:      {"Liddell"},
		ClaimEmailAddress: {email},
		ClaimName:         {email},
	}
}

// mapOktaMapping is what an admin enters for Okta's attribute statements.
var mapOktaMapping = Mapping{MapEmail: "email", MapGivenName: "firstName", MapSurname: "lastName", MapGroups: "groups"}

func mapOktaAttrs() map[string][]string {
	return map[string][]string{
		"email":     {"alice@corp.example"},
		"firstName": {"Alice"},
		"lastName":  {"Liddell"},
		"groups":    {"Everyone", "Engineering"},
	}
}

func mapADFSAttrs() map[string][]string {
	return map[string][]string{
		ClaimEmailAddress: {"alice@corp.example"},
		ClaimName:         {`CORP\alice`},
		ClaimGivenName:    {"Alice"},
		ClaimSurname:      {"Liddell"},
		ClaimGroups:       {"Domain Users", "Engineering"},
	}
}

func mapEdit(attrs map[string][]string, edit func(map[string][]string)) map[string][]string {
	edit(attrs)
	return attrs
}

func TestMapIdentity(t *testing.T) {
	alice := Identity{Subject: mapObjectID, Email: "alice@corp.example", GivenName: "Alice", Surname: "Liddell", DisplayName: "Alice Liddell", Groups: []string{mapGroup1, mapGroup2}}
	with := func(edit func(*Identity)) Identity {
		id := alice
		id.Groups = append([]string(nil), alice.Groups...)
		edit(&id)
		return id
	}
	cases := []struct {
		name      string
		nameID    string
		format    string
		attrs     map[string][]string
		mapping   Mapping
		want      Identity
		wantErr   error
		errSubstr string
	}{
		// Entra ID.
		{
			name: "Entra default: UPN as emailAddress NameID, object ID as subject",
			// The UPN differs from the mail attribute: the NameID wins.
			nameID: "alice@corp.example", format: NameIDFormatEmailAddress,
			attrs: mapEntraAttrs("alice.liddell@mail.corp.example"),
			want:  alice,
		},
		{
			name:   "Entra UPN with unspecified format, mixed case and spaces",
			nameID: "  Alice@Corp.Example ", format: NameIDFormatUnspecified,
			attrs: mapEntraAttrs("alice@corp.example"),
			want:  alice,
		},
		{
			name:   "Entra persistent NameID: the emailaddress claim",
			nameID: "k9ZpQ0aB1cD2eF3gH4iJ5kL6mN7oP8qR9sT0uV1wX2Y", format: NameIDFormatPersistent,
			attrs: mapEntraAttrs("Alice@Corp.Example"),
			want:  alice,
		},
		{
			name:   "Entra user without mail: the name claim (UPN)",
			nameID: "k9ZpQ0aB1cD2eF3g", format: NameIDFormatPersistent,
			attrs: mapEdit(mapEntraAttrs("alice@corp.example"), func(a map[string][]string) { delete(a, ClaimEmailAddress) }),
			want:  alice,
		},
		{
			name:   "Entra groups overage",
			nameID: "alice@corp.example", format: NameIDFormatEmailAddress,
			attrs: mapEdit(mapEntraAttrs("alice@corp.example"), func(a map[string][]string) {
				delete(a, ClaimGroups)
				a[ClaimGroupsLink] = []string{"https://graph.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/users/" + mapObjectID + "/getMemberObjects"}
			}),
			want: with(func(id *Identity) { id.Groups, id.GroupsOverage = nil, true }),
		},
		{
			name:   "no object ID: the NameID is the subject",
			nameID: "alice@corp.example", format: NameIDFormatEmailAddress,
			attrs: mapEdit(mapEntraAttrs("alice@corp.example"), func(a map[string][]string) { delete(a, ClaimObjectID) }),
			want:  with(func(id *Identity) { id.Subject = "alice@corp.example" }),
		},
		{
			name:   "groups trimmed and deduplicated",
			nameID: "alice@corp.example", format: NameIDFormatEmailAddress,
			attrs: mapEdit(mapEntraAttrs("alice@corp.example"), func(a map[string][]string) {
				a[ClaimGroups] = []string{" " + mapGroup1, mapGroup2, mapGroup1, ""}
			}),
			want: alice,
		},
		{
			name:   "the same address twice in different case is one address",
			nameID: "opaque", format: NameIDFormatPersistent,
			attrs: mapEdit(mapEntraAttrs("alice@corp.example"), func(a map[string][]string) {
				a[ClaimEmailAddress] = []string{"alice@corp.example", "ALICE@corp.example "}
			}),
			want: alice,
		},
		{
			name:   "several different addresses",
			nameID: "opaque", format: NameIDFormatPersistent,
			attrs: mapEdit(mapEntraAttrs("alice@corp.example"), func(a map[string][]string) {
				a[ClaimEmailAddress] = []string{"alice@corp.example", "admin@corp.example"}
			}),
			errSubstr: "several different email addresses",
		},
		{
			name:   "several different object IDs",
			nameID: "alice@corp.example", format: NameIDFormatEmailAddress,
			attrs: mapEdit(mapEntraAttrs("alice@corp.example"), func(a map[string][]string) {
				a[ClaimObjectID] = []string{mapObjectID, "11111111-2222-3333-4444-555555555555"}
			}),
			errSubstr: "several different subject identifiers",
		},
		{
			name:   "transient NameID and no claims",
			nameID: "_b7e0a4c2", format: NameIDFormatTransient,
			attrs:     map[string][]string{},
			wantErr:   ErrNoEmail,
			errSubstr: "format \"urn:oasis:names:tc:SAML:2.0:nameid-format:transient\"",
		},
		{
			name:   "transient NameID as the only subject",
			nameID: "_b7e0a4c2", format: NameIDFormatTransient,
			attrs: mapEdit(mapEntraAttrs("alice@corp.example"), func(a map[string][]string) {
				delete(a, ClaimObjectID)
			}),
			errSubstr: "transient NameID",
		},
		{
			name:   "transient NameID beside a stable subject attribute",
			nameID: "_b7e0a4c2", format: NameIDFormatTransient,
			attrs: mapEntraAttrs("alice@corp.example"),
			want:  alice,
		},
		{
			name:   "emailAddress NameID that is not an address falls through to the claim",
			nameID: "alice", format: NameIDFormatEmailAddress,
			attrs: mapEntraAttrs("alice@corp.example"),
			want:  alice,
		},
		{
			name:   "a subject with a control character",
			nameID: "alice@corp.example", format: NameIDFormatEmailAddress,
			attrs: mapEdit(mapEntraAttrs("alice@corp.example"), func(a map[string][]string) {
				a[ClaimObjectID] = []string{"0b5a1f3c\u009f" + mapObjectID}
			}),
			errSubstr: "contains control characters",
		},
		{
			name:   "more groups than are kept: none applied",
			nameID: "alice@corp.example", format: NameIDFormatEmailAddress,
			attrs: mapEdit(mapEntraAttrs("alice@corp.example"), func(a map[string][]string) {
				a[ClaimGroups] = nil
				for i := range maxGroups + 1 {
					a[ClaimGroups] = append(a[ClaimGroups], strconv.Itoa(i))
				}
			}),
			want: with(func(id *Identity) { id.Groups, id.GroupsUnusable = nil, "more than 1000 groups were sent" }),
		},

		// Okta: attributes named by the admin, username NameID.
		{
			name:   "Okta with an override mapping, email username",
			nameID: "alice@corp.example", format: NameIDFormatUnspecified,
			attrs: mapOktaAttrs(), mapping: mapOktaMapping,
			want: Identity{Subject: "alice@corp.example", Email: "alice@corp.example", GivenName: "Alice", Surname: "Liddell", DisplayName: "Alice Liddell", Groups: []string{"Everyone", "Engineering"}},
		},
		{
			name:   "Okta username that is not an address: the email attribute",
			nameID: "aliddell", format: NameIDFormatUnspecified,
			attrs: mapOktaAttrs(), mapping: mapOktaMapping,
			want: Identity{Subject: "aliddell", Email: "alice@corp.example", GivenName: "Alice", Surname: "Liddell", DisplayName: "Alice Liddell", Groups: []string{"Everyone", "Engineering"}},
		},
		{
			name:   "Okta with a subject override",
			nameID: "aliddell", format: NameIDFormatUnspecified,
			attrs:   mapEdit(mapOktaAttrs(), func(a map[string][]string) { a["oktaId"] = []string{"00u1fcia6d6EMsf331d8"} }),
			mapping: Mapping{MapEmail: "email", MapGivenName: "firstName", MapSurname: "lastName", MapGroups: "groups", MapSubject: "oktaId"},
			want:    Identity{Subject: "00u1fcia6d6EMsf331d8", Email: "alice@corp.example", GivenName: "Alice", Surname: "Liddell", DisplayName: "Alice Liddell", Groups: []string{"Everyone", "Engineering"}},
		},
		{
			name:   "Okta without the override: Entra's claim names find nothing",
			nameID: "aliddell", format: NameIDFormatUnspecified,
			attrs:     mapOktaAttrs(),
			wantErr:   ErrNoEmail,
			errSubstr: `no attribute "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress"`,
		},

		// ADFS.
		{
			name:   "ADFS emailAddress NameID; the name claim is a down-level logon name",
			nameID: "alice@corp.example", format: NameIDFormatEmailAddress,
			attrs: mapADFSAttrs(),
			want:  Identity{Subject: "alice@corp.example", Email: "alice@corp.example", GivenName: "Alice", Surname: "Liddell", DisplayName: "Alice Liddell", Groups: []string{"Domain Users", "Engineering"}},
		},
		{
			name:   "ADFS persistent NameID: the emailaddress claim",
			nameID: "CORP\\alice", format: NameIDFormatPersistent,
			attrs: mapADFSAttrs(),
			want:  Identity{Subject: "CORP\\alice", Email: "alice@corp.example", GivenName: "Alice", Surname: "Liddell", DisplayName: "Alice Liddell", Groups: []string{"Domain Users", "Engineering"}},
		},
		{
			name:   "ADFS without an email claim",
			nameID: "CORP\\alice", format: NameIDFormatPersistent,
			attrs:     mapEdit(mapADFSAttrs(), func(a map[string][]string) { delete(a, ClaimEmailAddress) }),
			wantErr:   ErrNoEmail,
			errSubstr: `is "corp\\alice", not an email address`,
		},

		// Mapping mistakes.
		{
			name:   "unknown mapping key",
			nameID: "alice@corp.example", format: NameIDFormatEmailAddress,
			attrs: mapEntraAttrs("alice@corp.example"), mapping: Mapping{"mail": "email"},
			errSubstr: `"mail" is not a field that can be mapped`,
		},
		{
			name:   "empty attribute name",
			nameID: "alice@corp.example", format: NameIDFormatEmailAddress,
			attrs: mapEntraAttrs("alice@corp.example"), mapping: Mapping{MapGroups: " "},
			errSubstr: `attribute name for "groups" is empty`,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := &Assertion{NameID: c.nameID, NameIDFormat: c.format, Attributes: c.attrs}
			got, err := MapIdentity(a, c.mapping)
			if c.wantErr != nil || c.errSubstr != "" {
				if err == nil {
					t.Fatalf("no error; got %+v", got)
				}
				if c.wantErr != nil && !errors.Is(err, c.wantErr) {
					t.Errorf("error %q, want %q", err, c.wantErr)
				}
				if c.errSubstr != "" && !strings.Contains(err.Error(), c.errSubstr) {
					t.Errorf("error %q does not mention %q", err, c.errSubstr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("got  %+v\nwant %+v", got, c.want)
			}
		})
	}
}

func TestDefaultMappingIsACopy(t *testing.T) {
	m := DefaultMapping()
	m[MapEmail] = "changed"
	if DefaultMapping()[MapEmail] != ClaimEmailAddress {
		t.Fatal("DefaultMapping shares its map")
	}
	if err := DefaultMapping().Validate(); err != nil {
		t.Fatal(err)
	}
}

// TestMapIdentityAfterValidate runs a signed Entra-shaped response through
// the validator and the mapping, as the ACS does.
func TestMapIdentityAfterValidate(t *testing.T) {
	idp := mdKeypair(t, "idp1")
	now := time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)
	const entity = "https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/"
	signer := &samltest.IdP{Flavor: samltest.Entra, EntityID: entity, Key: idp}
	xmlResp, err := signer.Response(samltest.Options{
		Audience: arSPEntityID, ACSURL: arACSURL, InResponseTo: "_req1",
		NameID: "Alice@Corp.Example", IssueInstant: now.Add(-5 * time.Second),
	}, samltest.Signing{})
	if err != nil {
		t.Fatal(err)
	}
	v := &Validator{Now: func() time.Time { return now }}
	a, err := v.Validate(IdP{EntityID: entity, Certificates: []*x509.Certificate{idp.Cert}}, SP{EntityID: arSPEntityID, ACSURL: arACSURL}, samltest.Encode(xmlResp), "_req1")
	if err != nil {
		t.Fatal(err)
	}
	id, err := MapIdentity(a, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Identity{Subject: mapObjectID, Email: "alice@corp.example", GivenName: "Alice", Surname: "Liddell", DisplayName: "Alice Liddell", Groups: []string{mapGroup1, mapGroup2}}
	if !reflect.DeepEqual(id, want) {
		t.Errorf("got  %+v\nwant %+v", id, want)
	}
}
