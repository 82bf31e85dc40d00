package account_test

import (
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore/sqltest"
)

func TestSetupLinkLifecycle(t *testing.T) {
	t.Parallel()
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		in := account.SetupInput{OrgName: "Acme Corp", Email: ownerEmail, DisplayName: "Ada", Password: ownerPassword}

		first, err := e.svc.EnsureSetupLink(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(first, publicURL+"/setup?token=") {
			t.Fatalf("set-up link %q does not point at %s/setup", first, publicURL)
		}
		wantErr(t, "fresh link", e.svc.CheckSetupToken(e.ctx, tokenOf(t, first)), nil)
		wantErr(t, "made-up token", e.svc.CheckSetupToken(e.ctx, "not-a-token"), account.ErrInvalidLink)
		if ev := e.lastEvent("", "setup.link_issued"); ev.Outcome != "success" {
			t.Fatalf("setup.link_issued outcome %q", ev.Outcome)
		}

		// A restart prints a new link; the old one stops working.
		second, err := e.svc.EnsureSetupLink(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if second == first {
			t.Fatal("EnsureSetupLink returned the same link twice")
		}
		wantErr(t, "superseded link", e.svc.CheckSetupToken(e.ctx, tokenOf(t, first)), account.ErrInvalidLink)
		_, _, err = e.svc.CompleteSetup(e.ctx, tokenOf(t, first), in)
		wantErr(t, "complete with superseded link", err, account.ErrInvalidLink)

		// Valid for one hour.
		e.clk.Advance(59*time.Minute + 59*time.Second)
		wantErr(t, "link at 59m59s", e.svc.CheckSetupToken(e.ctx, tokenOf(t, second)), nil)
		e.clk.Advance(time.Second)
		wantErr(t, "link at 1h", e.svc.CheckSetupToken(e.ctx, tokenOf(t, second)), account.ErrInvalidLink)
		_, _, err = e.svc.CompleteSetup(e.ctx, tokenOf(t, second), in)
		wantErr(t, "complete with expired link", err, account.ErrInvalidLink)

		// Bad input changes nothing: the link still works afterwards.
		third, err := e.svc.EnsureSetupLink(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		bad := in
		bad.Password = "short"
		_, _, err = e.svc.CompleteSetup(e.ctx, tokenOf(t, third), bad)
		wantInvalid(t, "short password", err, "password")
		bad = in
		bad.OrgName = "  "
		_, _, err = e.svc.CompleteSetup(e.ctx, tokenOf(t, third), bad)
		wantInvalid(t, "empty organization name", err, "org_name")
		bad = in
		bad.Email = "ada"
		_, _, err = e.svc.CompleteSetup(e.ctx, tokenOf(t, third), bad)
		wantInvalid(t, "bad email", err, "email")

		org, owner, err := e.svc.CompleteSetup(e.ctx, tokenOf(t, third), in)
		if err != nil {
			t.Fatalf("CompleteSetup: %v", err)
		}
		if org.Name != "Acme Corp" || org.Slug != "acme-corp" {
			t.Fatalf("organization = %+v", org)
		}
		if owner.Email != ownerEmail || owner.Role != storage.RoleOwner || owner.Status != storage.StatusActive || owner.OrgID != org.ID {
			t.Fatalf("owner = %+v", owner)
		}
		if _, err := e.signIn(ownerEmail, ownerPassword, testIP); err != nil {
			t.Fatalf("owner cannot sign in after set-up: %v", err)
		}

		// Single use, and no more links once an owner exists.
		_, _, err = e.svc.CompleteSetup(e.ctx, tokenOf(t, third), in)
		wantErr(t, "second use", err, account.ErrSetupDone)
		wantErr(t, "check after set-up", e.svc.CheckSetupToken(e.ctx, tokenOf(t, third)), account.ErrSetupDone)
		if link, err := e.svc.EnsureSetupLink(e.ctx); link != "" || err != nil {
			t.Fatalf("EnsureSetupLink after set-up = %q, %v; want \"\"", link, err)
		}

		for _, want := range []struct{ org, action string }{
			{"", "setup.complete"}, {org.ID, "organization.create"}, {org.ID, "account.create"},
		} {
			ev := e.lastEvent(want.org, want.action)
			if ev.ActorID != owner.ID || ev.ActorEmail != ownerEmail {
				t.Errorf("%s actor = %s/%s, want the new owner", want.action, ev.ActorType, ev.ActorID)
			}
		}
	})
}

func TestCreateOrganizationSlugs(t *testing.T) {
	t.Parallel()
	sqltest.ForEachBackend(t, func(t *testing.T, st storage.Store) {
		e := newEnv(t, st)
		long := strings.Repeat("Very Long Name ", 5)
		tests := []struct {
			name, slug string
			want       string // slug, or "!field" for an *InvalidInputError, "exists" for ErrExists
		}{
			{"Acme Corp", "", "acme-corp"},
			{"ACME  corp!", "", "acme-corp-2"},
			{"acme---corp", "", "acme-corp-3"},
			{"Müller & Söhne GmbH", "", "m-ller-s-hne-gmbh"},
			{"!!!", "", "org"},
			{"日本", "", "org-2"},
			{long, "", "very-long-name-very-long-name-very-long"},
			{long, "", "very-long-name-very-long-name-very-lon-2"},
			{"Globex", "globex-eu", "globex-eu"},
			{"Globex again", "globex-eu", "exists"},
			{"Globex", "Globex_EU", "!slug"},
			{"Globex", "-globex", "!slug"},
			{"", "", "!name"},
			{strings.Repeat("x", 101), "", "!name"},
			{"Bad\x00Name", "", "!name"},
			{"Bad\xffName", "", "!name"},
		}
		for _, tt := range tests {
			org, err := e.svc.CreateOrganization(e.ctx, tt.name, tt.slug)
			switch {
			case tt.want == "exists":
				wantErr(t, "CreateOrganization "+tt.name, err, account.ErrExists)
			case strings.HasPrefix(tt.want, "!"):
				wantInvalid(t, "CreateOrganization "+tt.name, err, tt.want[1:])
			case err != nil:
				t.Fatalf("CreateOrganization(%q, %q): %v", tt.name, tt.slug, err)
			case org.Slug != tt.want:
				t.Errorf("CreateOrganization(%q, %q) slug = %q, want %q", tt.name, tt.slug, org.Slug, tt.want)
			}
		}
		got, err := e.svc.GetOrganization(e.ctx, "acme-corp-2")
		if err != nil || got.Name != "ACME  corp!" {
			t.Fatalf("GetOrganization by slug = %+v, %v", got, err)
		}
		if byID, err := e.svc.GetOrganization(e.ctx, got.ID); err != nil || byID.Slug != "acme-corp-2" {
			t.Fatalf("GetOrganization by ID = %+v, %v", byID, err)
		}
		_, err = e.svc.GetOrganization(e.ctx, "nope")
		wantErr(t, "unknown organization", err, account.ErrNotFound)
		if ev := e.lastEvent(got.ID, "organization.create"); ev.Details["slug"] != "acme-corp-2" || ev.ActorType != "cli" {
			t.Fatalf("organization.create event = %+v", ev)
		}
	})
}
