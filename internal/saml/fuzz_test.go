package saml

import (
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/saml/samltest"
)

// fuzzConfig is one connection the fuzzer validates every input against.
type fuzzConfig struct {
	idp      IdP
	expected string
}

func fuzzConfigs(f *fixtures) []fuzzConfig {
	both := []*x509.Certificate{f.idp1.Cert, f.idp2.Cert}
	return []fuzzConfig{
		{IdP{EntityID: entraEntityID, Certificates: both}, requestID},
		{IdP{EntityID: oktaEntityID, Certificates: both}, requestID},
		{IdP{EntityID: oktaEntityID, Certificates: both, AllowIdPInitiated: true}, ""},
		{IdP{EntityID: adfsEntityID, Certificates: both, AllowSHA1: true}, requestID},
	}
}

// FuzzValidate feeds mutated responses (the XML, before base64) to Validate
// under four connection configurations. It must never panic, and whenever
// it accepts, the result must be exactly what one of the unmodified golden
// responses yields under that configuration: a mutation may only be
// accepted if it left the signed content as it was. Seeds: every golden
// response (f.Add) plus attack documents in testdata/fuzz/FuzzValidate.
//
//	go test -run x -fuzz FuzzValidate -fuzztime 60s ./internal/saml/
func FuzzValidate(f *testing.F) {
	fx := loadFixtures(f)
	configs := fuzzConfigs(fx)
	known := make([][]*Assertion, len(configs))
	for _, g := range golden {
		raw := readGolden(f, g.file)
		f.Add(raw)
		for i, c := range configs {
			if a, err := testValidator().Validate(c.idp, testSP(fx), samltest.Encode(raw), c.expected); err == nil {
				known[i] = append(known[i], a)
			}
		}
	}
	for i, k := range known {
		if len(k) == 0 {
			f.Fatalf("config %d accepts no golden response", i)
		}
	}
	sp := testSP(fx)
	f.Fuzz(func(t *testing.T, raw []byte) {
		form := samltest.Encode(raw)
		for i, c := range configs {
			a, err := testValidator().Validate(c.idp, sp, form, c.expected)
			if err != nil {
				if a != nil {
					t.Fatal("assertion returned with an error")
				}
				if ReasonOf(err) == "" {
					t.Fatalf("error %v is not a *saml.Error", err)
				}
				continue
			}
			ok := false
			for _, k := range known[i] {
				if reflect.DeepEqual(a, k) {
					ok = true
					break
				}
			}
			if !ok {
				t.Fatalf("config %d accepted a response whose signed content changed: %+v", i, a)
			}
		}
	})
}

// TestGenerateFuzzCorpus writes attack documents as seed files for
// FuzzValidate. Run: go test -run TestGenerateFuzzCorpus -update ./internal/saml/
func TestGenerateFuzzCorpus(t *testing.T) {
	if !*update {
		t.Skip("run with -update to regenerate testdata")
	}
	f := loadFixtures(t)
	entra := string(readGolden(t, "entra_assertion_signed.xml"))
	okta := string(readGolden(t, "okta_response_and_assertion_signed.xml"))

	xsw3 := buildDoc(samltest.Entra, nil)
	finish(t, testIssuer(f, samltest.Entra), xsw3, samltest.Signing{})
	a := assertionOf(xsw3)
	insertBefore(xsw3.Root(), a, evilAssertion(a, "_evilassertion"))

	seeds := map[string]string{
		"xsw3_evil_assertion_first": string(serialize(t, xsw3)),
		"doctype_billion_laughs": `<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>` +
			strings.Replace(entra, "alice@corp.example</NameID>", "&b;</NameID>", 1),
		"nameid_comment_unchanged_content": strings.Replace(entra, "alice@corp.example</NameID>", "alice@corp<!---->.example</NameID>", 1),
		"okta_evil_assertion_appended": strings.Replace(okta, "</saml2p:Response>",
			`<saml2:Assertion xmlns:saml2="urn:oasis:names:tc:SAML:2.0:assertion" ID="_evil" Version="2.0"/></saml2p:Response>`, 1),
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzValidate")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, doc := range seeds {
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", doc)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
