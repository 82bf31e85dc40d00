package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/apps"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

var consoleSecretRE = regexp.MustCompile(`ghs_[A-Za-z0-9_-]{43}`)

// An admin registers an app in the console, sees its secret once, changes
// its settings, rotates the secret and removes the app behind a
// confirmation page.
func TestAdminApps(t *testing.T) {
	e := newEnv(t)
	org, _, c := e.signedInOwner()
	if r := c.get("/admin"); !strings.Contains(r.body, `href="/admin/apps"`) {
		t.Error("the console navigation has no link to the apps")
	}
	r := c.get("/admin/apps")
	expect(t, r, http.StatusOK, "No apps yet", "Add an app")
	if !strings.Contains(r.body, `href="/admin/apps/new"`) {
		t.Error("the apps page does not link to the add form")
	}
	expect(t, c.get("/admin/apps/new"), http.StatusOK, "Add an app", "Redirect URIs", "Hosts")

	// A refusal keeps what was typed and names the field.
	form := url.Values{"name": {"Grafana"}, "type": {"confidential"},
		"redirect_uris": {"https://*.example.com/cb"}, "scopes": {"email", "groups"}}
	r = c.post("/admin/apps", form)
	expect(t, r, http.StatusBadRequest, "wildcards")
	if !strings.Contains(r.body, `id="redirect_uris" name="redirect_uris" rows="3" spellcheck="false" aria-describedby="redirect_uris-hint" aria-invalid="true"`) ||
		!strings.Contains(r.body, `value="Grafana"`) {
		t.Error("the refused form does not mark the redirect URIs or lost the name typed")
	}

	form.Set("redirect_uris", "https://grafana.example.com/login/generic_oauth\r\nhttp://localhost:3000/cb\r\n")
	form.Set("access_token_ttl", "10m")
	form.Set("groups", "ops\nEng Team")
	r = c.post("/admin/apps", form)
	expect(t, r, http.StatusCreated, "Copy it now: it will not be shown again", "/.well-known/openid-configuration")
	secret := consoleSecretRE.FindString(r.body)
	if secret == "" || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("the answer has no secret or may be cached (%q):\n%s", r.header.Get("Cache-Control"), text(r.body))
	}
	list, err := e.apps.List(adminCtx(org.ID), org.ID)
	if err != nil || len(list) != 1 {
		t.Fatalf("apps: %v %v", list, err)
	}
	app := list[0]
	if strings.Join(app.Groups, ",") != "ops,Eng Team" || len(app.RedirectURIs) != 2 || app.AccessTokenTTL.Minutes() != 10 {
		t.Fatalf("stored: %+v", app)
	}
	href := "/admin/apps/" + app.ID

	// Never shown again: not on the list, not on the app page.
	for _, p := range []string{"/admin/apps", href} {
		if r := c.get(p); r.status != http.StatusOK || strings.Contains(r.body, secret) || strings.Contains(r.body, "ghs_") {
			t.Fatalf("GET %s shows the secret (status %d)", p, r.status)
		}
	}
	expect(t, c.get("/admin/apps"), http.StatusOK, "Grafana", app.ClientID)

	// Settings: a host another app holds is refused on its field.
	if _, _, err := e.apps.Create(adminCtx(org.ID), org.ID, appInput("Wiki", "wiki.example.com")); err != nil {
		t.Fatal(err)
	}
	settings := url.Values{"name": {"Grafana"}, "redirect_uris": {"https://grafana.example.com/login/generic_oauth"},
		"hosts": {"wiki.example.com"}, "scopes": {"email"}, "signing_alg": {"ES256"}}
	expect(t, c.post(href, settings), http.StatusConflict, "belongs to another app")
	settings.Set("hosts", "grafana.example.com")
	expectRedirect(t, c.post(href, settings), href+"?notice=app-updated")
	expect(t, c.get(href+"?notice=app-updated"), http.StatusOK, "Settings saved", "grafana.example.com")
	if ev := e.lastAudit(org.ID); ev.Action != "app.update" {
		t.Errorf("last event %s, want app.update", ev.Action)
	}

	// Rotation shows the new secret once.
	r = c.post(href+"/rotate-secret", nil)
	expect(t, r, http.StatusOK, "will not be shown again")
	if s := consoleSecretRE.FindString(r.body); s == "" || s == secret || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("rotation answer: %q", s)
	}

	// Removal has a confirmation page of its own; GET removes nothing.
	expect(t, c.get(href+"/remove"), http.StatusOK, "Remove this app?", "Remove app")
	if _, err := e.apps.Get(adminCtx(org.ID), org.ID, app.ID); err != nil {
		t.Fatal("the confirmation page removed the app")
	}
	expectRedirect(t, c.post(href+"/remove", nil), "/admin/apps?notice=app-removed")
	expect(t, c.get(href), http.StatusNotFound)
	if ev := e.lastAudit(org.ID); ev.Action != "app.delete" {
		t.Errorf("last event %s, want app.delete", ev.Action)
	}
}

// The apps pages are the organization's own, for its admins only.
func TestAdminAppsForbiddenAndIsolated(t *testing.T) {
	e := newEnv(t)
	org, _ := e.setupOwner()
	a, _, err := e.apps.Create(adminCtx(org.ID), org.ID, appInput("Wiki", "wiki.example.com"))
	if err != nil {
		t.Fatal(err)
	}
	e.addMember(org.ID, "mia@acme.example", storage.RoleMember)
	c := e.client()
	c.signIn("mia@acme.example", memberPassword)
	for _, p := range []string{"/admin/apps", "/admin/apps/new", "/admin/apps/" + a.ID, "/admin/apps/" + a.ID + "/remove"} {
		expect(t, c.get(p), http.StatusForbidden)
	}
	expect(t, c.post("/admin/apps", url.Values{"name": {"X"}, "hosts": {"x.example.com"}}), http.StatusForbidden)
	expect(t, c.post("/admin/apps/"+a.ID+"/rotate-secret", nil), http.StatusForbidden)

	// An admin of another organization finds nothing.
	other, err := e.accounts.CreateOrganization(adminCtx(""), "Other", "other")
	if err != nil {
		t.Fatal(err)
	}
	e.addMember(other.ID, "olga@other.example", storage.RoleOwner)
	oc := e.client()
	oc.signIn("olga@other.example", memberPassword)
	for _, p := range []string{"/admin/apps/" + a.ID, "/admin/apps/" + a.ID + "/remove", "/admin/apps/Wiki"} {
		expect(t, oc.get(p), http.StatusNotFound)
	}
	expect(t, oc.post("/admin/apps/"+a.ID+"/remove", nil), http.StatusNotFound)
	expect(t, oc.post("/admin/apps/"+a.ID+"/rotate-secret", nil), http.StatusNotFound)
	if _, err := e.apps.Get(adminCtx(org.ID), org.ID, a.ID); err != nil {
		t.Fatal("another organization's admin removed the app")
	}
}

func appInput(name, host string) apps.Input { return apps.Input{Name: name, Hosts: []string{host}} }
