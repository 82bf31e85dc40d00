package apps

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

func TestReturnAllowed(t *testing.T) {
	e := newEnv(t, sqltest.NewSQLite(t))
	e.create(Input{Name: "Grafana", RedirectURIs: []string{"https://grafana.example.com/login/generic_oauth", "http://127.0.0.1:9000/cb"}})
	e.create(Input{Name: "Wiki", Hosts: []string{"wiki.example.com", "docs.example.com:8443"}})
	ctx := t.Context()
	for _, tc := range []struct {
		url  string
		want bool
	}{
		{"https://id.example.com/account", true},
		{"https://id.example.com:443/account", true},
		{"https://ID.example.com/", true},
		{"https://grafana.example.com/d/abc?x=1", true},
		{"https://wiki.example.com/page", true},
		{"https://WIKI.example.com/page", true},
		{"https://docs.example.com:8443/x", true},

		{"http://id.example.com/account", false},   // http vs https on our own host
		{"http://wiki.example.com/page", false},    // http vs https on an app host
		{"https://docs.example.com/x", false},      // port variant
		{"https://wiki.example.com:8443/x", false}, // port variant
		{"https://id.example.com:8443/", false},
		{"http://127.0.0.1:9000/cb", false}, // plain http only when Gatehouse runs on it
		{"https://wiki.example.com.evil.com/", false},
		{"https://evilwiki.example.com/", false},
		{"https://wiki.example.com@evil.com/", false},
		{"https://user@wiki.example.com/", false},
		{"https://evil.com/?next=https://wiki.example.com/", false},
		{"https://evil.com#https://wiki.example.com", false},
		{"//evil.com/", false},
		{"//wiki.example.com/", false},
		{"/relative", false},
		{"javascript:alert(1)", false},
		{"data:text/html,<script>", false},
		{"ftp://wiki.example.com/", false},
		{"https:wiki.example.com/", false},
		{"https:/wiki.example.com/", false},
		{"HTTPS://wiki.example.com/", false},
		{"https://wiki.example.com\\@evil.com/", false},
		{"https://evil.com\\.wiki.example.com/", false},
		{"https://wiki.example.com\t.evil.com/", false},
		{"https://wiki.example.com\n/", false},
		{"https://wiki%2eexample.com/", false},
		{"https://wiki.example.com./", false},
		{"https://wiki.example.com/" + string(make([]byte, 0)) + repeat("a", 2048), false},
		{"", false},
	} {
		if got := e.svc.ReturnAllowed(ctx, tc.url); got != tc.want {
			t.Errorf("ReturnAllowed(%q) = %v, want %v", tc.url, got, tc.want)
		}
	}

	// Gatehouse on plain http (development) accepts the loopback app too.
	dev := New(e.st, "http://localhost:8080", nil, nil)
	for url, want := range map[string]bool{
		"http://localhost:8080/account": true,
		"http://127.0.0.1:9000/cb":      true,
		"http://localhost:8081/":        false,
		"https://localhost:8080/":       false,
		"http://evil.com/":              false,
	} {
		if got := dev.ReturnAllowed(ctx, url); got != want {
			t.Errorf("development ReturnAllowed(%q) = %v, want %v", url, got, want)
		}
	}
}

func repeat(s string, n int) string {
	out := make([]byte, 0, len(s)*n)
	for range n {
		out = append(out, s...)
	}
	return string(out)
}

func TestByHost(t *testing.T) {
	e := newEnv(t, sqltest.NewSQLite(t))
	wiki, _ := e.create(Input{Name: "Wiki", Hosts: []string{"wiki.example.com", "docs.example.com:8443"}})
	ctx := t.Context()
	for host, want := range map[string]bool{
		"wiki.example.com":          true,
		"WIKI.Example.COM":          true,
		"wiki.example.com:443":      true,
		"docs.example.com:8443":     true,
		"docs.example.com":          false,
		"wiki.example.com:8443":     false,
		"wiki.example.com.evil.com": false,
		"evil.wiki.example.com":     false,
		"example.com":               false,
		"":                          false,
		"wiki.example.com/":         false,
		"user@wiki.example.com":     false,
		"wiki.example.com.":         false,
	} {
		a, ok, err := e.svc.ByHost(ctx, host)
		if err != nil || ok != want || (ok && a.ID != wiki.ID) {
			t.Errorf("ByHost(%q) = %v %v %v, want %v", host, a.Name, ok, err, want)
		}
	}
}

// Another node's change reaches this node through the invalidation feed,
// well before the periodic reload.
func TestRunSeesAnotherNodesChange(t *testing.T) {
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		// Both nodes on the wall clock, as in a deployment: the feed is
		// read by time.
		e.svc = New(st, "https://id.example.com", nil, nil)
		other := New(st, "https://id.example.com", nil, nil)
		other.pollInterval, other.refresh = 20*time.Millisecond, time.Hour
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { other.Run(ctx); close(done) }()
		defer func() { cancel(); <-done }()

		waitFor := func(what string, cond func() bool) {
			t.Helper()
			deadline := time.Now().Add(10 * time.Second)
			for !cond() {
				if time.Now().After(deadline) {
					t.Fatalf("the other node never saw %s", what)
				}
				time.Sleep(10 * time.Millisecond)
			}
		}
		has := func(host string) func() bool {
			return func() bool { _, ok, _ := other.ByHost(t.Context(), host); return ok }
		}
		waitFor("its first load", func() bool { return other.snap.Load() != nil })
		a, _ := e.create(Input{Name: "Wiki", Hosts: []string{"wiki.example.com"}})
		waitFor("the new app", has("wiki.example.com"))
		in := InputOf(a)
		in.Hosts = []string{"kb.example.com"}
		if _, err := e.svc.Update(e.ctx, e.org, a.ID, in); err != nil {
			t.Fatal(err)
		}
		waitFor("the changed host", has("kb.example.com"))
		if err := e.svc.Delete(e.ctx, e.org, a.ID); err != nil {
			t.Fatal(err)
		}
		waitFor("the deletion", func() bool { return !has("kb.example.com")() })
	})
}
