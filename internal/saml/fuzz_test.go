package saml

import (
	"crypto/x509"
	"fmt"
	"math/rand/v2"
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
	o := newOracle(f)
	for _, g := range golden {
		f.Add(readGolden(f, g.file))
	}
	f.Fuzz(func(t *testing.T, raw []byte) { o.check(t, raw) })
}

// oracle validates a document under every fuzzConfig and fails the test if
// the result is anything but a rejection or a known-good assertion.
type oracle struct {
	sp      SP
	configs []fuzzConfig
	known   [][]*Assertion
}

func newOracle(tb testing.TB) *oracle {
	fx := loadFixtures(tb)
	o := &oracle{sp: testSP(fx), configs: fuzzConfigs(fx)}
	o.known = make([][]*Assertion, len(o.configs))
	for _, g := range golden {
		raw := readGolden(tb, g.file)
		for i, c := range o.configs {
			if a, err := testValidator().Validate(c.idp, o.sp, samltest.Encode(raw), c.expected); err == nil {
				o.known[i] = append(o.known[i], a)
			}
		}
	}
	for i, k := range o.known {
		if len(k) == 0 {
			tb.Fatalf("config %d accepts no golden response", i)
		}
	}
	return o
}

func (o *oracle) check(t *testing.T, raw []byte) {
	t.Helper()
	form := samltest.Encode(raw)
	for i, c := range o.configs {
		a, err := testValidator().Validate(c.idp, o.sp, form, c.expected)
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
		for _, k := range o.known[i] {
			if reflect.DeepEqual(a, k) {
				ok = true
				break
			}
		}
		if !ok {
			t.Fatalf("config %d accepted a response whose signed content changed: %+v", i, a)
		}
	}
}

// TestRandomMutations runs the fuzz oracle over a fixed, seeded set of
// random mutations of every golden response (byte changes, deletions,
// duplicated spans), so plain `go test` covers more than the seeds.
func TestRandomMutations(t *testing.T) {
	o := newOracle(t)
	r := rand.New(rand.NewPCG(1, 2))
	for _, g := range golden {
		raw := readGolden(t, g.file)
		for range 40 {
			m := append([]byte(nil), raw...)
			for range 1 + r.IntN(4) {
				switch r.IntN(3) {
				case 0:
					m[r.IntN(len(m))] = byte(r.IntN(256))
				case 1:
					p := r.IntN(len(m))
					m = append(m[:p], m[min(len(m), p+1+r.IntN(50)):]...)
				default:
					p := r.IntN(len(m))
					dup := append([]byte(nil), m[p:min(len(m), p+1+r.IntN(2000))]...)
					at := r.IntN(len(m))
					m = append(m[:at], append(dup, m[at:]...)...)
				}
			}
			o.check(t, m)
		}
	}
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
