package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/apiview"
	"github.com/gatehouse-id/gatehouse/internal/mail"
	"github.com/gatehouse-id/gatehouse/internal/readiness/readinesstest"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore"
)

// `admin passkeys readiness` shows who is covered and who has a passkey;
// `admin passkeys remind` mails those without one once per 7 days.
func TestAdminPasskeysReadinessAndRemind(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cli) {
		c.ok("admin", "org", "create", "--name", "Acme Corp", "--slug", "acme")
		url := c.dbURL
		if url == "" {
			url = "sqlite://" + filepath.Join(c.dataDir, "gatehouse.db")
		}
		st, err := sqlstore.Open(context.Background(), url, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		org, err := st.GetOrganizationBySlug(t.Context(), "acme")
		if err != nil {
			t.Fatal(err)
		}
		f := readinesstest.SeedInto(t, st, org, time.Now())
		st.Close()
		without := []string{f.Member.Email, f.NoKey1.Email, f.NoKey2.Email}

		out := c.ok("admin", "passkeys", "readiness", "--org", "acme")
		for _, want := range []string{"Engineers", "5 covered, 1 with an emergency passkey, 2 with any passkey, 3 without", f.Emergency.Email, f.NoKey2.Email} {
			if !strings.Contains(out, want) {
				t.Errorf("readiness lacks %q:\n%s", want, out)
			}
		}
		var page apiview.ReadinessPage
		if err := json.Unmarshal([]byte(c.ok("admin", "passkeys", "readiness", "--org", "acme", "--without", "--json")), &page); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, p := range page.People {
			got = append(got, p.Email)
		}
		if !slices.Equal(got, without) || page.Summary.WithoutPasskey != 3 {
			t.Errorf("--without --json: %v, %+v", got, page.Summary)
		}

		if out := c.ok("admin", "passkeys", "remind", "--org", "acme", "--dry-run"); !strings.Contains(out, "Would remind 3") {
			t.Errorf("dry run printed %q", out)
		}
		var res apiview.ReminderResult
		if err := json.Unmarshal([]byte(c.ok("admin", "passkeys", "remind", "--org", "acme", "--email", f.NoKey1.Email, "--json")), &res); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(res.Mailed, []string{f.NoKey1.Email}) {
			t.Errorf("chosen reminder %+v", res)
		}
		out = c.ok("admin", "passkeys", "remind", "--org", "acme")
		if !strings.Contains(out, "Reminded 2") || !strings.Contains(out, "Skipped 1") {
			t.Errorf("remind printed %q", out)
		}
		msgs, err := mail.ReadOutbox(filepath.Join(c.dataDir, "outbox"))
		if err != nil {
			t.Fatal(err)
		}
		var to []string
		for _, m := range msgs {
			if strings.HasPrefix(m.Subject, "Set up emergency sign-in") {
				to = append(to, m.To)
			}
		}
		slices.Sort(to)
		if !slices.Equal(to, without) {
			t.Errorf("reminded %v, want %v", to, without)
		}
		c.fails("not an email address", "admin", "passkeys", "remind", "--org", "acme", "--email", "nope")
	})
}
