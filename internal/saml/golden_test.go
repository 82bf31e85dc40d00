package saml

import (
	"sync"
	"time"

	"testing"

	"github.com/gatehouse-id/gatehouse/internal/saml/samltest"
)

// TestGoldenResponses validates the checked-in responses with the fixed
// clock: the shapes of Entra ID, Okta and ADFS, an encrypted assertion, a
// certificate rollover, IdP-initiated login and an accepted SHA-1 signature.
func TestGoldenResponses(t *testing.T) {
	f := loadFixtures(t)
	tests := []struct {
		file     string
		flavor   samltest.Flavor
		idp      func(IdP) IdP
		expected string
		signed   string
		warnings []string
		attrs    map[string]string // attribute name → first value
	}{
		{file: "entra_assertion_signed.xml", flavor: samltest.Entra, expected: requestID, signed: "Assertion",
			attrs: map[string]string{
				samltest.ClaimEmail:     "alice@corp.example",
				samltest.ClaimObjectID:  "0b5a1f3c-8c1e-4a57-9d4e-5a3f1e2d7c90",
				samltest.ClaimGivenName: "Alice",
				samltest.ClaimSurname:   "Liddell",
				samltest.ClaimName:      "alice@corp.example",
			}},
		{file: "okta_response_and_assertion_signed.xml", flavor: samltest.Okta, expected: requestID, signed: "both",
			attrs: map[string]string{"email": "alice@corp.example", "firstName": "Alice"}},
		{file: "adfs_assertion_signed.xml", flavor: samltest.ADFS, expected: requestID, signed: "Assertion",
			attrs: map[string]string{samltest.ClaimEmail: "alice@corp.example", samltest.ClaimName: `CORP\alice`}},
		{file: "entra_encrypted_assertion.xml", flavor: samltest.Entra, expected: requestID, signed: "Assertion",
			attrs: map[string]string{samltest.ClaimEmail: "alice@corp.example"}},
		{file: "entra_rollover_second_key.xml", flavor: samltest.Entra, expected: requestID, signed: "Assertion",
			idp: func(i IdP) IdP { i.Certificates = append(i.Certificates, f.idp2.Cert); return i }},
		{file: "okta_idp_initiated.xml", flavor: samltest.Okta, signed: "both",
			idp: func(i IdP) IdP { i.AllowIdPInitiated = true; return i }},
		{file: "adfs_sha1.xml", flavor: samltest.ADFS, expected: requestID, signed: "Assertion",
			idp:      func(i IdP) IdP { i.AllowSHA1 = true; return i },
			warnings: []string{WarningSHA1Signature}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			idp := testIdP(f, tt.flavor)
			if tt.idp != nil {
				idp = tt.idp(idp)
			}
			raw := readGolden(t, tt.file)
			got, err := testValidator().Validate(idp, testSP(f), samltest.Encode(raw), tt.expected)
			if err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if got.NameID != "alice@corp.example" || got.Issuer != entityID(tt.flavor) {
				t.Errorf("NameID %q Issuer %q", got.NameID, got.Issuer)
			}
			if got.SignedElement != tt.signed {
				t.Errorf("SignedElement %q, want %q", got.SignedElement, tt.signed)
			}
			if got.InResponseTo != tt.expected {
				t.Errorf("InResponseTo %q, want %q", got.InResponseTo, tt.expected)
			}
			if got.ID != baseOptions(tt.flavor).AssertionID {
				t.Errorf("ID %q", got.ID)
			}
			if got.SessionIndex == "" || got.AuthnInstant.IsZero() {
				t.Errorf("SessionIndex %q AuthnInstant %v", got.SessionIndex, got.AuthnInstant)
			}
			// The replay cache must hold the ID until the assertion can no
			// longer be accepted anywhere: SubjectConfirmationData's
			// NotOnOrAfter (IssueInstant+5m) plus the skew.
			if want := issueTime.Add(5*time.Minute + DefaultMaxSkew); !got.NotOnOrAfter.Equal(want) {
				t.Errorf("NotOnOrAfter %v, want %v", got.NotOnOrAfter, want)
			}
			if !equalStrings(got.Warnings, tt.warnings) {
				t.Errorf("Warnings %v, want %v", got.Warnings, tt.warnings)
			}
			for name, v := range tt.attrs {
				if vals := got.Attributes[name]; len(vals) == 0 || vals[0] != v {
					t.Errorf("attribute %s = %v, want %q first", name, vals, v)
				}
			}
		})
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestConcurrentValidate: one Validator serves every request of a node.
func TestConcurrentValidate(t *testing.T) {
	f := loadFixtures(t)
	v := testValidator()
	form := samltest.Encode(readGolden(t, "okta_response_and_assertion_signed.xml"))
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			for range 5 {
				if _, err := v.Validate(testIdP(f, samltest.Okta), testSP(f), form, requestID); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}
