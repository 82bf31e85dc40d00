package saml

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	crewjam "github.com/crewjam/saml"
)

func readMetadataFile(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "metadata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func fingerprints(certs []*x509.Certificate) []string {
	out := make([]string, len(certs))
	for i, c := range certs {
		out[i] = Fingerprint(c)
	}
	return out
}

func TestParseIdPMetadataRealShapes(t *testing.T) {
	idp1, idp2 := mdKeypair(t, "idp1"), mdKeypair(t, "idp2")
	const entraSSO = "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/saml2"
	const oktaSSO = "https://dev-31415926.okta.com/app/dev-31415926_gatehouse_1/exk1fcia6d6EMsf331d8/sso/saml"
	cases := []struct {
		file string
		want IdPMetadata
	}{
		{
			// Two signing keys during a rollover; the RoleDescriptors'
			// keys are not read; the byte order mark is tolerated.
			file: "entra_federationmetadata.xml",
			want: IdPMetadata{
				EntityID:            "https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/",
				SSOURLRedirect:      entraSSO,
				SSOURLPost:          entraSSO,
				SigningCertificates: []*x509.Certificate{idp1.Cert, idp2.Cert},
			},
		},
		{
			file: "okta_metadata.xml",
			want: IdPMetadata{
				EntityID:            "http://www.okta.com/exk1fcia6d6EMsf331d8",
				SSOURLRedirect:      oktaSSO,
				SSOURLPost:          oktaSSO,
				SigningCertificates: []*x509.Certificate{idp1.Cert},
				NameIDFormats:       []string{NameIDFormatUnspecified, NameIDFormatEmailAddress},
			},
		},
		{
			// The encryption key (idp2) is not a signing key, and the
			// SPSSODescriptor ADFS also publishes is ignored.
			file: "adfs_federationmetadata.xml",
			want: IdPMetadata{
				EntityID:            "http://adfs.corp.example/adfs/services/trust",
				SSOURLRedirect:      "https://adfs.corp.example/adfs/ls/",
				SSOURLPost:          "https://adfs.corp.example/adfs/ls/",
				SigningCertificates: []*x509.Certificate{idp1.Cert},
				NameIDFormats:       []string{NameIDFormatEmailAddress, NameIDFormatPersistent, NameIDFormatTransient},
			},
		},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			got, err := ParseIdPMetadata(readMetadataFile(t, c.file))
			if err != nil {
				t.Fatal(err)
			}
			if got.EntityID != c.want.EntityID || got.SSOURLRedirect != c.want.SSOURLRedirect || got.SSOURLPost != c.want.SSOURLPost {
				t.Errorf("got entity %q redirect %q post %q\nwant entity %q redirect %q post %q",
					got.EntityID, got.SSOURLRedirect, got.SSOURLPost, c.want.EntityID, c.want.SSOURLRedirect, c.want.SSOURLPost)
			}
			if g, w := fingerprints(got.SigningCertificates), fingerprints(c.want.SigningCertificates); !equalStringSlices(g, w) {
				t.Errorf("signing certificates %v, want %v", g, w)
			}
			if !equalStringSlices(got.NameIDFormats, c.want.NameIDFormats) {
				t.Errorf("NameID formats %v, want %v", got.NameIDFormats, c.want.NameIDFormats)
			}
			if !got.ValidUntil.IsZero() || got.WantAuthnRequestsSigned {
				t.Errorf("ValidUntil %v WantAuthnRequestsSigned %v, want zero and false", got.ValidUntil, got.WantAuthnRequestsSigned)
			}
		})
	}
}

func equalStringSlices(a, b []string) bool {
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

// mdEntity is a minimal IdP EntityDescriptor for the error cases.
func mdEntity(entityID, inner string) string {
	return `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="` + entityID + `">` + inner + `</md:EntityDescriptor>`
}

func mdIDP(attrs, inner string) string {
	return `<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"` + attrs + `>` + inner + `</md:IDPSSODescriptor>`
}

func mdKey(use, certB64 string) string {
	u := ""
	if use != "" {
		u = ` use="` + use + `"`
	}
	return `<md:KeyDescriptor` + u + `><ds:KeyInfo><ds:X509Data><ds:X509Certificate>` + certB64 + `</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`
}

const mdSSO = `<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example/sso"/>`

func TestParseIdPMetadataVariants(t *testing.T) {
	idp1, idp2 := mdKeypair(t, "idp1"), mdKeypair(t, "idp2")
	c1 := base64.StdEncoding.EncodeToString(idp1.Cert.Raw)
	c2 := base64.StdEncoding.EncodeToString(idp2.Cert.Raw)
	// Certificates wrapped at 64 columns, as ADFS and Shibboleth write them.
	var wrapped strings.Builder
	for i := 0; i < len(c1); i += 64 {
		wrapped.WriteString("\n      " + c1[i:min(i+64, len(c1))])
	}
	wrapped.WriteString("\n")

	cases := []struct {
		name      string
		doc       string
		check     func(t *testing.T, md IdPMetadata)
		wantErr   error
		errSubstr string
	}{
		{
			name: "KeyDescriptor without use counts as signing",
			doc:  mdEntity("https://idp.example", mdIDP("", mdKey("", c1)+mdSSO)),
			check: func(t *testing.T, md IdPMetadata) {
				if len(md.SigningCertificates) != 1 || !md.SigningCertificates[0].Equal(idp1.Cert) {
					t.Errorf("certificates %v", fingerprints(md.SigningCertificates))
				}
				if md.SSOURLPost != "" {
					t.Errorf("SSOURLPost %q, want empty", md.SSOURLPost)
				}
			},
		},
		{
			name: "wrapped base64 and a duplicate key are read once",
			doc:  mdEntity("https://idp.example", mdIDP("", mdKey("signing", wrapped.String())+mdKey("signing", c1)+mdKey("encryption", c2)+mdSSO)),
			check: func(t *testing.T, md IdPMetadata) {
				if g := fingerprints(md.SigningCertificates); !equalStringSlices(g, []string{Fingerprint(idp1.Cert)}) {
					t.Errorf("certificates %v", g)
				}
			},
		},
		{
			name: "validUntil: the earliest of the enclosing descriptors",
			doc: `<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" validUntil="2026-06-01T00:00:00Z">` +
				strings.Replace(mdEntity("https://idp.example", mdIDP(` WantAuthnRequestsSigned="true"`, mdKey("signing", c1)+mdSSO)), `entityID=`, `validUntil="2026-04-01T00:00:00Z" entityID=`, 1) +
				`</md:EntitiesDescriptor>`,
			check: func(t *testing.T, md IdPMetadata) {
				if want := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC); !md.ValidUntil.Equal(want) {
					t.Errorf("ValidUntil %v, want %v", md.ValidUntil, want)
				}
				if !md.WantAuthnRequestsSigned {
					t.Error("WantAuthnRequestsSigned not read")
				}
			},
		},
		{
			name: "EntitiesDescriptor with one IdP among SPs, nested",
			doc: `<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"><md:EntitiesDescriptor>` +
				mdEntity("https://sp.example", `<md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"/>`) +
				`</md:EntitiesDescriptor>` + mdEntity("https://idp.example", mdIDP("", mdKey("signing", c1)+mdSSO)) + `</md:EntitiesDescriptor>`,
			check: func(t *testing.T, md IdPMetadata) {
				if md.EntityID != "https://idp.example" {
					t.Errorf("EntityID %q", md.EntityID)
				}
			},
		},
		{
			name: "EntitiesDescriptor with two IdPs",
			doc: `<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata">` +
				mdEntity("https://a.example", mdIDP("", mdKey("signing", c1)+mdSSO)) +
				mdEntity("https://b.example", mdIDP("", mdKey("signing", c2)+mdSSO)) + `</md:EntitiesDescriptor>`,
			wantErr:   ErrMetadataSeveralIdPs,
			errSubstr: `"https://a.example", "https://b.example"`,
		},
		{
			name:    "SP metadata only",
			doc:     mdEntity("https://sp.example", `<md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"/>`),
			wantErr: ErrMetadataNoIdP,
		},
		{
			name:      "IdP for SAML 1.1 only",
			doc:       mdEntity("https://idp.example", strings.Replace(mdIDP("", mdKey("signing", c1)+mdSSO), "urn:oasis:names:tc:SAML:2.0:protocol", "urn:oasis:names:tc:SAML:1.1:protocol", 1)),
			wantErr:   ErrMetadataNoIdP,
			errSubstr: "for SAML 2.0",
		},
		{
			name:    "encryption key only",
			doc:     mdEntity("https://idp.example", mdIDP("", mdKey("encryption", c1)+mdSSO)),
			wantErr: ErrMetadataNoSigningCert,
		},
		{
			name:    "no KeyDescriptor",
			doc:     mdEntity("https://idp.example", mdIDP("", mdSSO)),
			wantErr: ErrMetadataNoSigningCert,
		},
		{
			name:      "certificate that is not base64",
			doc:       mdEntity("https://idp.example", mdIDP("", mdKey("signing", "not*base64")+mdSSO)),
			errSubstr: "not valid base64",
		},
		{
			name:      "certificate that is not DER",
			doc:       mdEntity("https://idp.example", mdIDP("", mdKey("signing", base64.StdEncoding.EncodeToString([]byte("hello")))+mdSSO)),
			errSubstr: "cannot be read",
		},
		{
			name:    "only SOAP and Artifact endpoints",
			doc:     mdEntity("https://idp.example", mdIDP("", mdKey("signing", c1)+`<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:SOAP" Location="https://idp.example/soap"/>`)),
			wantErr: ErrMetadataNoSSOEndpoint,
		},
		{
			name:      "SSO Location that is not a URL",
			doc:       mdEntity("https://idp.example", mdIDP("", mdKey("signing", c1)+`<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="javascript:alert(1)"/>`)),
			errSubstr: "not an http(s) URL",
		},
		{
			name:      "no entityID",
			doc:       mdEntity("", mdIDP("", mdKey("signing", c1)+mdSSO)),
			errSubstr: "no entityID",
		},
		{
			name:      "bad validUntil",
			doc:       strings.Replace(mdEntity("https://idp.example", mdIDP("", mdKey("signing", c1)+mdSSO)), `entityID=`, `validUntil="next tuesday" entityID=`, 1),
			errSubstr: "validUntil",
		},
		{
			name:      "not metadata",
			doc:       `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"/>`,
			errSubstr: "not a SAML 2.0 EntityDescriptor",
		},
		{
			name:      "metadata element in the wrong namespace",
			doc:       `<EntityDescriptor xmlns="urn:example" entityID="x"/>`,
			errSubstr: "not a SAML 2.0 EntityDescriptor",
		},
		{
			name: "DOCTYPE with an external entity (XXE)",
			doc: `<?xml version="1.0"?><!DOCTYPE md [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>` +
				mdEntity("https://idp.example&xxe;", mdIDP("", mdKey("signing", c1)+mdSSO)),
			errSubstr: "DTD",
		},
		{
			name:      "billion laughs",
			doc:       `<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="&lol2;"/>`,
			errSubstr: "DTD",
		},
		{
			name:      "not XML",
			doc:       `{"issuer": "https://idp.example"}`,
			errSubstr: "not well-formed XML",
		},
		{
			name:      "HTML error page",
			doc:       `<html><body><h1>Sign in</h1><br></body></html>`,
			errSubstr: "not well-formed XML",
		},
		{
			name:      "empty",
			doc:       "  \n",
			errSubstr: "empty",
		},
		{
			name:    "too large",
			doc:     mdEntity("https://idp.example", "<!--"+strings.Repeat("x", MaxMetadataBytes)+"-->"),
			wantErr: ErrMetadataTooLarge,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			md, err := ParseIdPMetadata([]byte(c.doc))
			if c.check != nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				c.check(t, md)
				return
			}
			if err == nil {
				t.Fatalf("accepted: %+v", md)
			}
			if c.wantErr != nil && !errors.Is(err, c.wantErr) {
				t.Errorf("error %q, want %q", err, c.wantErr)
			}
			if c.errSubstr != "" && !strings.Contains(err.Error(), c.errSubstr) {
				t.Errorf("error %q does not mention %q", err, c.errSubstr)
			}
		})
	}
}

func TestFetchMetadata(t *testing.T) {
	okta := readMetadataFile(t, "okta_metadata.xml")
	mux := http.NewServeMux()
	mux.HandleFunc("/metadata", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/samlmetadata+xml")
		w.Write(okta)
	})
	mux.HandleFunc("/missing", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) })
	mux.HandleFunc("/huge", func(w http.ResponseWriter, r *http.Request) {
		// Chunked, so the limit must hold without a Content-Length.
		chunk := []byte(strings.Repeat("x", 64<<10))
		for range MaxMetadataBytes/len(chunk) + 2 {
			w.Write(chunk)
			w.(http.Flusher).Flush()
		}
	})
	mux.HandleFunc("/huge-declared", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(MaxMetadataBytes+1))
		w.Write(make([]byte, MaxMetadataBytes+1))
	})
	mux.HandleFunc("/hang", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	plain := httptest.NewServer(mux)
	defer plain.Close()
	mux.HandleFunc("/to-http", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, plain.URL+"/metadata", http.StatusFound)
	})
	mux.HandleFunc("/to-https", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/metadata", http.StatusFound)
	})
	tlsSrv := httptest.NewUnstartedServer(mux)
	// The untrusted-certificate case makes the server log a handshake error.
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0)
	tlsSrv.StartTLS()
	defer tlsSrv.Close()
	ctx := context.Background()

	t.Run("https", func(t *testing.T) {
		body, err := FetchMetadata(ctx, tlsSrv.Client(), tlsSrv.URL+"/metadata")
		if err != nil || string(body) != string(okta) {
			t.Fatalf("body %d bytes, err %v", len(body), err)
		}
	})
	t.Run("https redirect to https", func(t *testing.T) {
		if _, err := FetchMetadata(ctx, tlsSrv.Client(), tlsSrv.URL+"/to-https"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("http on loopback (the development IdP)", func(t *testing.T) {
		if _, err := FetchMetadata(ctx, nil, plain.URL+"/metadata"); err != nil {
			t.Fatal(err)
		}
		local := strings.Replace(plain.URL, "127.0.0.1", "localhost", 1)
		if _, err := FetchMetadata(ctx, nil, local+"/metadata"); err != nil {
			t.Fatal(err)
		}
	})
	errCases := []struct {
		name    string
		client  *http.Client
		url     string
		wantErr error
		substr  string
	}{
		{"http elsewhere", nil, "http://idp.example/metadata", ErrMetadataURLNotAllowed, ""},
		{"http to a private address", nil, "http://10.0.0.8/metadata", ErrMetadataURLNotAllowed, ""},
		{"not a URL", nil, "idp.example/metadata", nil, "not an absolute http(s) URL"},
		{"ftp", nil, "ftp://idp.example/metadata", nil, "not an absolute http(s) URL"},
		{"redirect from https to http", tlsSrv.Client(), tlsSrv.URL + "/to-http", ErrMetadataRedirectNotHTTP, ""},
		{"404", tlsSrv.Client(), tlsSrv.URL + "/missing", nil, "404 Not Found"},
		{"body over 1 MiB", tlsSrv.Client(), tlsSrv.URL + "/huge", ErrMetadataTooLarge, ""},
		{"Content-Length over 1 MiB", tlsSrv.Client(), tlsSrv.URL + "/huge-declared", ErrMetadataTooLarge, ""},
		{"untrusted TLS certificate", nil, tlsSrv.URL + "/metadata", nil, "certificate"},
	}
	for _, c := range errCases {
		t.Run(c.name, func(t *testing.T) {
			_, err := FetchMetadata(ctx, c.client, c.url)
			if err == nil {
				t.Fatal("no error")
			}
			if c.wantErr != nil && !errors.Is(err, c.wantErr) {
				t.Errorf("error %q, want %q", err, c.wantErr)
			}
			if c.substr != "" && !strings.Contains(err.Error(), c.substr) {
				t.Errorf("error %q does not mention %q", err, c.substr)
			}
		})
	}
	t.Run("the caller's deadline applies", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		_, err := FetchMetadata(ctx, nil, plain.URL+"/hang")
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("error %v, want a deadline error", err)
		}
	})
	t.Run("the caller's client keeps its redirect policy", func(t *testing.T) {
		c := tlsSrv.Client()
		if c.CheckRedirect != nil {
			t.Fatal("test assumes no redirect policy")
		}
		FetchMetadata(ctx, c, tlsSrv.URL+"/to-http")
		if c.CheckRedirect != nil {
			t.Error("FetchMetadata changed the caller's client")
		}
	})
}

func TestIsLoopbackHost(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost": true, "LOCALHOST.": true, "devidp.localhost": true, "127.0.0.1": true, "127.8.9.10": true,
		"::1": true, "[::1]": true, "localhost.example": false, "10.0.0.1": false, "0.0.0.0": false, "example.com": false, "": false,
	} {
		if got := IsLoopbackHost(host); got != want {
			t.Errorf("IsLoopbackHost(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestSPMetadata(t *testing.T) {
	sp, idp2 := mdKeypair(t, "sp"), mdKeypair(t, "idp2")
	out, err := SPMetadata(SPMetadataConfig{
		EntityID:             "https://gatehouse.test/saml/metadata",
		ACSURL:               "https://gatehouse.test/saml/acs",
		SigningCert:          sp.Cert,
		EncryptionCert:       idp2.Cert,
		NameIDFormat:         NameIDFormatEmailAddress,
		WantAssertionsSigned: true,
		AuthnRequestsSigned:  true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if e := checkXML(out); e != nil {
		t.Fatalf("our own XML check rejects it: %v", e)
	}
	// An independent reader: crewjam/saml's metadata types.
	var ed crewjam.EntityDescriptor
	if err := xml.Unmarshal(out, &ed); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if ed.EntityID != "https://gatehouse.test/saml/metadata" || len(ed.SPSSODescriptors) != 1 {
		t.Fatalf("entity %q with %d SPSSODescriptors\n%s", ed.EntityID, len(ed.SPSSODescriptors), out)
	}
	d := ed.SPSSODescriptors[0]
	if d.AuthnRequestsSigned == nil || !*d.AuthnRequestsSigned || d.WantAssertionsSigned == nil || !*d.WantAssertionsSigned {
		t.Errorf("AuthnRequestsSigned %v WantAssertionsSigned %v", d.AuthnRequestsSigned, d.WantAssertionsSigned)
	}
	if d.ProtocolSupportEnumeration != nsProtocol {
		t.Errorf("protocolSupportEnumeration %q", d.ProtocolSupportEnumeration)
	}
	if len(d.AssertionConsumerServices) != 1 {
		t.Fatalf("%d ACS", len(d.AssertionConsumerServices))
	}
	acs := d.AssertionConsumerServices[0]
	if acs.Binding != BindingHTTPPost || acs.Location != "https://gatehouse.test/saml/acs" || acs.Index != 0 || acs.IsDefault == nil || !*acs.IsDefault {
		t.Errorf("ACS %+v", acs)
	}
	if len(d.NameIDFormats) != 1 || string(d.NameIDFormats[0]) != NameIDFormatEmailAddress {
		t.Errorf("NameIDFormats %v", d.NameIDFormats)
	}
	uses := map[string]string{}
	for _, kd := range d.KeyDescriptors {
		if len(kd.KeyInfo.X509Data.X509Certificates) != 1 {
			t.Fatalf("KeyDescriptor %q has %d certificates", kd.Use, len(kd.KeyInfo.X509Data.X509Certificates))
		}
		der, _ := base64.StdEncoding.DecodeString(kd.KeyInfo.X509Data.X509Certificates[0].Data)
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		uses[kd.Use] = Fingerprint(c)
	}
	if uses["signing"] != Fingerprint(sp.Cert) || uses["encryption"] != Fingerprint(idp2.Cert) || len(uses) != 2 {
		t.Errorf("key descriptors %v", uses)
	}
	// It is SP metadata: pasting it as the IdP's is caught.
	if _, err := ParseIdPMetadata(out); !errors.Is(err, ErrMetadataNoIdP) {
		t.Errorf("ParseIdPMetadata(SP metadata) = %v, want ErrMetadataNoIdP", err)
	}

	t.Run("minimal", func(t *testing.T) {
		out, err := SPMetadata(SPMetadataConfig{EntityID: "urn:gatehouse:acme", ACSURL: "http://127.0.0.1:8080/saml/acs"})
		if err != nil {
			t.Fatal(err)
		}
		s := string(out)
		for _, frag := range []string{`AuthnRequestsSigned="false"`, `WantAssertionsSigned="false"`, `isDefault="true"`} {
			if !strings.Contains(s, frag) {
				t.Errorf("missing %s in\n%s", frag, s)
			}
		}
		for _, frag := range []string{"KeyDescriptor", "NameIDFormat"} {
			if strings.Contains(s, frag) {
				t.Errorf("unexpected %s in\n%s", frag, s)
			}
		}
	})
	t.Run("escaping", func(t *testing.T) {
		out, err := SPMetadata(SPMetadataConfig{EntityID: `urn:x:"<&>`, ACSURL: "https://gatehouse.test/acs?a=1&b=2"})
		if err != nil {
			t.Fatal(err)
		}
		var ed crewjam.EntityDescriptor
		if err := xml.Unmarshal(out, &ed); err != nil {
			t.Fatal(err)
		}
		if ed.EntityID != `urn:x:"<&>` || ed.SPSSODescriptors[0].AssertionConsumerServices[0].Location != "https://gatehouse.test/acs?a=1&b=2" {
			t.Errorf("round trip: %q %q", ed.EntityID, ed.SPSSODescriptors[0].AssertionConsumerServices[0].Location)
		}
	})
	for name, cfg := range map[string]SPMetadataConfig{
		"no entity ID":                 {ACSURL: "https://gatehouse.test/acs"},
		"relative ACS URL":             {EntityID: "x", ACSURL: "/saml/acs"},
		"signed requests without cert": {EntityID: "x", ACSURL: "https://gatehouse.test/acs", AuthnRequestsSigned: true},
	} {
		if _, err := SPMetadata(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func FuzzParseIdPMetadata(f *testing.F) {
	for _, name := range []string{"entra_federationmetadata.xml", "okta_metadata.xml", "adfs_federationmetadata.xml"} {
		f.Add(readMetadataFile(f, name))
	}
	f.Add([]byte(`<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"><md:EntityDescriptor entityID="a"/></md:EntitiesDescriptor>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		md, err := ParseIdPMetadata(data)
		if err != nil {
			return
		}
		if md.EntityID == "" || len(md.SigningCertificates) == 0 || (md.SSOURLRedirect == "" && md.SSOURLPost == "") {
			t.Fatalf("accepted incomplete metadata: %+v", md)
		}
	})
}
