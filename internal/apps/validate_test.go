package apps

import (
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/errs"
)

func TestRedirectURIRules(t *testing.T) {
	for _, tc := range []struct {
		uri    string
		public bool
		ok     bool
	}{
		{"https://app.example.com/callback", false, true},
		{"https://app.example.com:8443/cb?x=1", false, true},
		{"http://localhost:8080/cb", false, true},
		{"http://127.0.0.1/cb", true, true},
		{"http://[::1]:5000/cb", true, true},
		{"com.example.app:/oauth2redirect", true, true},
		{"com.example.app:/oauth2redirect", false, false}, // confidential apps: https
		{"myapp:/cb", true, false},                        // no dot: not a reversed domain
		{"javascript:alert(1)", true, false},
		{"data:text/html,x", true, false},
		{"http://app.example.com/cb", false, false}, // plain http off loopback
		{"http://localhost.evil.com/cb", false, false},
		{"http://127.0.0.1.evil.com/cb", false, false},
		{"https://*.example.com/cb", false, false},
		{"https://app.example.com/*", false, false},
		{"https://app.example.com/cb#frag", false, false},
		{"https://app.example.com/cb#", false, false},
		{"https://user:pw@app.example.com/cb", false, false},
		{"https://user@app.example.com/cb", false, false},
		{"/relative/cb", false, false},
		{"//app.example.com/cb", false, false},
		{"https:///cb", false, false},
		{"https://app.example.com\\@evil.com/", false, false},
		{"https://app.example.com/c b", false, false},
		{"https://app.example.com/\x00", false, false},
		{"https://exa_mple.com/cb", false, false},
		{"https://app.example.com/" + strings.Repeat("a", 2048), false, false},
	} {
		err := checkRedirectURI(tc.uri, tc.public)
		if (err == nil) != tc.ok {
			t.Errorf("checkRedirectURI(%q, public=%v) = %v, want ok=%v", tc.uri, tc.public, err, tc.ok)
		}
	}
}

func TestInputRules(t *testing.T) {
	ok := Input{Name: "App", RedirectURIs: []string{"https://app.example.com/cb"}}
	for _, tc := range []struct {
		name  string
		edit  func(in *Input)
		field string
	}{
		{"empty name", func(in *Input) { in.Name = "  " }, "name"},
		{"long name", func(in *Input) { in.Name = strings.Repeat("é", 101) }, "name"},
		{"control in name", func(in *Input) { in.Name = "a\nb" }, "name"},
		{"neither redirect nor host", func(in *Input) { in.RedirectURIs = nil }, "redirect_uris"},
		{"bad redirect", func(in *Input) { in.RedirectURIs = []string{"https://*.example.com/"} }, "redirect_uris"},
		{"bad post-logout", func(in *Input) { in.PostLogoutRedirectURIs = []string{"http://evil.com/"} }, "post_logout_redirect_uris"},
		{"unknown scope", func(in *Input) { in.Scopes = []string{"admin"} }, "scopes"},
		{"host with scheme", func(in *Input) { in.Hosts = []string{"https://app.example.com"} }, "hosts"},
		{"host with path", func(in *Input) { in.Hosts = []string{"app.example.com/x"} }, "hosts"},
		{"host with user", func(in *Input) { in.Hosts = []string{"u@app.example.com"} }, "hosts"},
		{"host wildcard", func(in *Input) { in.Hosts = []string{"*.example.com"} }, "hosts"},
		{"host bad port", func(in *Input) { in.Hosts = []string{"app.example.com:99999"} }, "hosts"},
		{"host IP", func(in *Input) { in.Hosts = []string{"10.0.0.1"} }, "hosts"},
		{"host underscore", func(in *Input) { in.Hosts = []string{"a_b.example.com"} }, "hosts"},
		{"access ttl short", func(in *Input) { in.AccessTokenTTL = 30 * time.Second }, "access_token_ttl"},
		{"id ttl long", func(in *Input) { in.IDTokenTTL = 25 * time.Hour }, "id_token_ttl"},
		{"refresh ttl short", func(in *Input) { in.RefreshTokenTTL = time.Minute }, "refresh_token_ttl"},
		{"refresh ttl long", func(in *Input) { in.RefreshTokenTTL = 91 * 24 * time.Hour }, "refresh_token_ttl"},
		{"signing alg", func(in *Input) { in.SigningAlg = "HS256" }, "signing_alg"},
		{"none alg", func(in *Input) { in.SigningAlg = "none" }, "signing_alg"},
	} {
		in := ok
		tc.edit(&in)
		_, err := clean(in)
		if errs.KindOf(err) != errs.Invalid || errs.FieldOf(err) != tc.field {
			t.Errorf("%s: %v (field %q), want invalid %s", tc.name, err, errs.FieldOf(err), tc.field)
		}
		if text, shown := errs.Shown(err); err != nil && !shown {
			t.Errorf("%s: error %q is not a sentence to show", tc.name, text)
		}
	}

	got, err := clean(Input{Name: " Site ", Hosts: []string{"App.Example.com", "app.example.com", "localhost:8080"},
		Scopes: []string{"openid", "groups", "groups"}, RefreshTokenTTL: 90 * 24 * time.Hour, AccessTokenTTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "Site" || strings.Join(got.Hosts, " ") != "app.example.com localhost:8080" ||
		strings.Join(got.Scopes, " ") != "groups" || got.SigningAlg != AlgRS256 {
		t.Fatalf("clean: %+v", got)
	}
}
