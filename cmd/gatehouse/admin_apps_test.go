package main

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/apiview"
)

var cliSecretRE = regexp.MustCompile(`ghs_[A-Za-z0-9_-]{43}`)

// An operator registers an OpenID Connect app and a forward-auth site,
// copies the secret printed once, rotates it, changes and removes apps.
func TestAdminCLIApps(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cli) {
		c.ok("admin", "org", "create", "--name", "Acme Corp", "--slug", "acme")
		out := c.ok("admin", "app", "add", "--org", "acme", "--name", "Grafana",
			"--redirect-uri", "https://grafana.example.com/login/generic_oauth", "--redirect-uri", "http://localhost:3000/cb",
			"--scope", "email", "--scope", "groups", "--group", "ops", "--signing-alg", "ES256", "--access-token-ttl", "10m",
			"--refresh-token-ttl", "30d")
		secret := cliSecretRE.FindString(out)
		if secret == "" || !strings.Contains(out, "Client ID") || !strings.Contains(out, "will not be shown again") ||
			!strings.Contains(out, "/.well-known/openid-configuration") || !strings.Contains(out, "Issuer") {
			t.Fatalf("app add printed:\n%s", out)
		}

		var shown apiview.App
		if err := json.Unmarshal([]byte(c.ok("admin", "app", "show", "--org", "acme", "--app", "Grafana", "--json")), &shown); err != nil {
			t.Fatal(err)
		}
		if shown.SigningAlg != "ES256" || shown.AccessTokenTTLSeconds != 600 || shown.RefreshTokenTTLSeconds != 30*86400 ||
			len(shown.RedirectURIs) != 2 || strings.Join(shown.Groups, ",") != "ops" {
			t.Fatalf("show: %+v", shown)
		}
		// The secret is never printed again.
		for _, args := range [][]string{{"show", "--app", "Grafana"}, {"list"}} {
			if out := c.ok(append(append([]string{"admin", "app"}, args...), "--org", "acme")...); strings.Contains(out, secret) || strings.Contains(out, "ghs_") {
				t.Fatalf("%v printed the secret:\n%s", args, out)
			}
		}

		out = c.ok("admin", "app", "add", "--org", "acme", "--name", "Wiki", "--host", "Wiki.Example.com")
		if strings.Contains(out, "ghs_") == false || !strings.Contains(out, "Client ID") {
			t.Fatalf("wiki add:\n%s", out)
		}
		out = c.ok("admin", "app", "add", "--org", "acme", "--name", "Mobile", "--public", "--redirect-uri", "com.example.mobile:/cb")
		if strings.Contains(out, "ghs_") || !strings.Contains(out, "public app") {
			t.Fatalf("public add:\n%s", out)
		}
		out = c.ok("admin", "app", "list", "--org", "acme")
		if !strings.HasPrefix(out, "NAME") || !strings.Contains(out, "wiki.example.com") || !strings.Contains(out, "public") {
			t.Fatalf("list:\n%s", out)
		}

		c.fails("--redirect-uri", "admin", "app", "add", "--org", "acme", "--name", "Bad", "--redirect-uri", "https://*.example.com/cb")
		c.fails("--redirect-uri", "admin", "app", "add", "--org", "acme", "--name", "Bad", "--redirect-uri", "http://app.example.com/cb")
		c.fails("--host", "admin", "app", "add", "--org", "acme", "--name", "Bad", "--host", "https://x.example.com/")
		c.fails("--host", "admin", "app", "add", "--org", "acme", "--name", "Bad", "--host", "wiki.example.com")
		c.fails("--name", "admin", "app", "add", "--org", "acme", "--name", "Wiki", "--host", "wiki2.example.com")
		c.fails("--access-token-ttl", "admin", "app", "add", "--org", "acme", "--name", "Bad", "--host", "b.example.com", "--access-token-ttl", "soon")
		c.fails("--access-token-ttl", "admin", "app", "add", "--org", "acme", "--name", "Bad", "--host", "b.example.com", "--access-token-ttl", "30s")
		c.fails("--scope", "admin", "app", "add", "--org", "acme", "--name", "Bad", "--host", "b.example.com", "--scope", "admin")
		c.fails("no app", "admin", "app", "show", "--org", "acme", "--app", "Nope")
		c.fails("no client secret", "admin", "app", "rotate-secret", "--org", "acme", "--app", "Mobile")

		out = c.ok("admin", "app", "rotate-secret", "--org", "acme", "--app", "Grafana")
		newSecret := cliSecretRE.FindString(out)
		if newSecret == "" || newSecret == secret || !strings.Contains(out, "will not be shown again") {
			t.Fatalf("rotate-secret:\n%s", out)
		}

		out = c.ok("admin", "app", "update", "--org", "acme", "--app", "Wiki", "--name", "Team wiki", "--host", "wiki.example.com", "--host", "kb.example.com")
		if !strings.Contains(out, "Team wiki") || !strings.Contains(out, "kb.example.com") {
			t.Fatalf("update:\n%s", out)
		}
		c.ok("admin", "app", "remove", "--org", "acme", "--app", "Team wiki")
		c.fails("no app", "admin", "app", "show", "--org", "acme", "--app", "Team wiki")

		var page apiview.AuditPage
		if err := json.Unmarshal([]byte(c.ok("admin", "audit", "list", "--org", "acme", "--action", "app.*", "--json")), &page); err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, ev := range page.Events {
			actions = append(actions, ev.Action)
			if ev.ActorType != "cli" {
				t.Errorf("event %s by %s, want cli", ev.Action, ev.ActorType)
			}
		}
		if strings.Join(actions, " ") != "app.create app.create app.create app.secret_rotate app.update app.delete" {
			t.Errorf("audit: %v", actions)
		}
	})
}
