package devidp

import (
	"net/url"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/saml"
)

// FuzzDecodeRedirectRequest feeds the SAMLRequest reader what a browser
// could send: it must never panic, and whatever it accepts must name an ACS
// URL the IdP may post to.
func FuzzDecodeRedirectRequest(f *testing.F) {
	for _, acs := range []string{acsURL, "https://evil.example/acs"} {
		_, req := saml.NewAuthnRequest(saml.AuthnRequestParams{SPEntityID: spEntityID, ACSURL: acs, IdPSSOURL: "http://127.0.0.1:8081/sso", Now: testNow})
		redirect, err := saml.RedirectURL("http://127.0.0.1:8081/sso", req, "", nil)
		if err != nil {
			f.Fatal(err)
		}
		u, _ := url.Parse(redirect)
		f.Add(u.Query().Get("SAMLRequest"))
	}
	f.Add("")
	f.Add("AAAA")
	kp, err := GenerateKeypair(testNow)
	if err != nil {
		f.Fatal(err)
	}
	idp, err := New(Config{BaseURL: "http://127.0.0.1:8081", Users: testUsers, Key: kp.Key, Cert: kp.Cert})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, samlRequest string) {
		tg, err := idp.decodeRedirectRequest(samlRequest)
		if err != nil {
			return
		}
		if tg.RequestID == "" || tg.Audience == "" || idp.checkACS(tg.ACSURL) != nil {
			t.Fatalf("accepted %+v", tg)
		}
	})
}
