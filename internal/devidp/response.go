package devidp

import (
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/saml"
	"github.com/gatehouse-id/gatehouse/internal/saml/samltest"
)

// responseValidity is how long the Response may be used: the bearer
// SubjectConfirmationData window and the Conditions window alike.
const responseValidity = 5 * time.Minute

// idNamespace derives stable object IDs and the tenant ID, so that the same
// email is the same Entra "user" across restarts and machines.
var idNamespace = uuid.MustParse("6f1b8c52-3d7e-4a0f-9b2c-8e5d4a7f1c30")

// ObjectID is the objectidentifier the IdP asserts for an email address: a
// name-based (SHA-1) UUID, stable across restarts.
func ObjectID(email string) string {
	return uuid.NewSHA1(idNamespace, []byte("user:"+strings.ToLower(strings.TrimSpace(email)))).String()
}

// buildResponse signs an Entra-ID-shaped Response for u to t. It reuses
// samltest's builder and signer (the exported test IdP of internal/saml):
// they produce exactly the shapes the validator is tested against, and the
// development IdP, like samltest, must never be part of `gatehouse serve`.
func (i *IdP) buildResponse(u User, t target) ([]byte, error) {
	now := i.now().UTC()
	email := strings.ToLower(strings.TrimSpace(u.Email))
	oid := ObjectID(email)

	nameID, format := email, saml.NameIDFormatEmailAddress
	if t.NameIDFormat == saml.NameIDFormatPersistent {
		nameID, format = oid, saml.NameIDFormatPersistent
	}
	display := u.DisplayName
	if display == "" {
		display = strings.TrimSpace(u.GivenName + " " + u.Surname)
	}
	if display == "" {
		display, _, _ = strings.Cut(email, "@")
	}
	// Entra's default claims, in Entra's order.
	attrs := []samltest.Attribute{
		{Name: "http://schemas.microsoft.com/identity/claims/tenantid", Values: []string{i.tenantID}},
		{Name: saml.ClaimObjectID, Values: []string{oid}},
		{Name: saml.ClaimDisplayName, Values: []string{display}},
	}
	if len(u.Groups) > 0 {
		attrs = append(attrs, samltest.Attribute{Name: saml.ClaimGroups, Values: u.Groups})
	}
	attrs = append(attrs,
		samltest.Attribute{Name: "http://schemas.microsoft.com/identity/claims/identityprovider", Values: []string{i.entityID}},
		samltest.Attribute{Name: "http://schemas.microsoft.com/claims/authnmethodsreferences", Values: []string{"http://schemas.microsoft.com/ws/2008/06/identity/authenticationmethod/password"}},
	)
	if u.GivenName != "" {
		attrs = append(attrs, samltest.Attribute{Name: saml.ClaimGivenName, Values: []string{u.GivenName}})
	}
	if u.Surname != "" {
		attrs = append(attrs, samltest.Attribute{Name: saml.ClaimSurname, Values: []string{u.Surname}})
	}
	attrs = append(attrs,
		samltest.Attribute{Name: saml.ClaimEmailAddress, Values: []string{email}},
		samltest.Attribute{Name: saml.ClaimName, Values: []string{email}},
	)

	doc := samltest.BuildResponse(samltest.Options{
		Flavor:       samltest.Entra,
		Issuer:       i.entityID,
		Audience:     t.Audience,
		ACSURL:       t.ACSURL,
		InResponseTo: t.RequestID,
		NameID:       nameID,
		NameIDFormat: format,
		Attributes:   attrs,
		IssueInstant: now,
	})
	// samltest keeps Entra's one-hour Conditions window and a sign-in two
	// minutes back; here the user has just signed in and the whole
	// response is good for five minutes. NotBefore stays = IssueInstant.
	a := samltest.FindAssertion(doc.Root())
	if a == nil {
		return nil, errors.New("devidp: built a Response without an Assertion")
	}
	if c := a.SelectElement("Conditions"); c != nil {
		c.CreateAttr("NotOnOrAfter", timestamp(now.Add(responseValidity)))
	}
	if s := a.SelectElement("AuthnStatement"); s != nil {
		s.CreateAttr("AuthnInstant", timestamp(now))
	}
	if err := i.signer.Finish(doc, samltest.Signing{}); err != nil {
		return nil, err
	}
	return samltest.Serialize(doc)
}

func timestamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }
