package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/gatehouse-id/gatehouse/internal/apiview"
	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// adminIdPHealthCmd prints what the console's Health card shows. --idp is
// accepted for --slug: the policy commands name a connection with --idp.
var adminIdPHealthCmd = func() *cobra.Command {
	c := idpCommand("health --org ORG --slug SLUG", "Show a connection's SSO health: state, open incident, recent sign-ins, checks, certificate expiry",
		func(ctx context.Context, a *app.App, cmd *cobra.Command, out io.Writer, org storage.Organization, c storage.IdPConnection) error {
			now := a.Now()
			cs, err := a.Health.ConnectionHealth(ctx, c, now)
			if err != nil {
				return cliErr(err)
			}
			h := apiview.ConnectionHealthFrom(cs, c, a.Health.Window(), now)
			if jsonOutput(cmd) {
				return printJSON(out, h)
			}
			return printHealth(out, h, now)
		})
	c.Flags().SetNormalizeFunc(func(_ *pflag.FlagSet, name string) pflag.NormalizedName {
		if name == "idp" {
			name = "slug"
		}
		return pflag.NormalizedName(name)
	})
	return c
}()

var healthStates = map[string]string{"operational": "Operational", "degraded": "Degraded", "down": "Down: an incident is open"}

func printHealth(out io.Writer, h apiview.ConnectionHealth, now time.Time) error {
	fmt.Fprintf(out, "%s (slug %s): %s\n", cell(h.Name), h.Slug, healthStates[h.State])
	var rows [][2]string
	if inc := h.Incident; inc != nil {
		rows = append(rows,
			[2]string{"Incident since", when(inc.StartedAt) + " (" + ago(now.Sub(inc.StartedAt)) + " ago)"},
			[2]string{"Cause", inc.CauseText + ": " + inc.Details})
	}
	last := "none yet"
	if h.LastOutcome != nil {
		last = h.LastOutcome.Kind + " at " + when(h.LastOutcome.At)
	}
	win := time.Duration(h.Window.WindowSeconds) * time.Second
	rows = append(rows,
		[2]string{"Last sign-in", last},
		[2]string{"Sign-ins, last " + ago(win), fmt.Sprintf("%d succeeded, %d failed (%d IdP errors, %d refused responses, %d abandoned); %d started",
			h.Window.Succeeded, h.Window.Failures, h.Window.IdPError, h.Window.Invalid, h.Window.Abandoned, h.Window.Started)},
		[2]string{"Last probe", checkText(h.LastProbe)},
		[2]string{"Last metadata refresh", checkText(h.LastRefresh)})
	kv(out, rows)
	fmt.Fprintln(out, "\nTrusted signing certificates:")
	certRows := make([][]string, 0, len(h.Certs))
	for _, cert := range h.Certs {
		certRows = append(certRows, []string{"  " + cert.SHA256Fingerprint, when(cert.NotAfter), expiryNote(cert.NotAfter, now)})
	}
	return table(out, []string{"  SHA-256 FINGERPRINT", "EXPIRES", ""}, certRows)
}

func checkText(c *apiview.HealthCheck) string {
	if c == nil {
		return "none recently"
	}
	s := "ok"
	if !c.OK {
		s = "FAILED"
	}
	s += " at " + when(c.At) + ", " + strconv.FormatInt(c.LatencyMS, 10) + " ms"
	if c.Detail != "" {
		s += ": " + c.Detail
	}
	return s
}

// ago words a duration for people: 15m, 3h, 2d.
func ago(d time.Duration) string {
	switch {
	case d < time.Hour:
		return strconv.Itoa(int(d.Minutes())) + "m"
	case d < 48*time.Hour:
		return strconv.Itoa(int(d.Hours())) + "h"
	default:
		return strconv.Itoa(int(d.Hours()/24)) + "d"
	}
}

var adminIncidentsCmd = &cobra.Command{
	Use:   "incidents --org ORG [--since 720h]",
	Short: "List an organization's SSO incidents (the last 90 days at most), newest first",
	Args:  cobra.NoArgs,
	PreRunE: requires("org").and(func(cmd *cobra.Command) error {
		_, err := parseSince(flag(cmd, "since"), time.Now())
		if err != nil {
			return fmt.Errorf("--since: %w", err)
		}
		return nil
	}),
	RunE: withOrg(func(ctx context.Context, a *app.App, cmd *cobra.Command, out io.Writer, org storage.Organization) error {
		now := a.Now()
		since, _ := parseSince(flag(cmd, "since"), now)
		incs, err := a.Health.ListIncidents(ctx, org.ID, now)
		if err != nil {
			return cliErr(err)
		}
		conns := map[string]storage.IdPConnection{}
		cs, err := a.IdPs.List(ctx, org.ID)
		if err != nil {
			return cliErr(err)
		}
		for _, c := range cs {
			conns[c.ID] = c
		}
		var list []apiview.Incident
		for _, inc := range incs {
			if !since.IsZero() && !inc.Open() && inc.EndedAt.Before(since) {
				continue
			}
			list = append(list, apiview.IncidentFrom(inc, conns[inc.ConnectionID]))
		}
		same := func(i apiview.Incident) apiview.Incident { return i }
		return printList(cmd, out, "incidents", list, same,
			[]string{"CONNECTION", "STARTED", "ENDED", "CAUSE", "DETAILS"}, func(i apiview.Incident) []string {
				name := i.ConnectionSlug
				if name == "" {
					name = i.ConnectionID + " (removed)"
				}
				ended := "ongoing"
				if i.EndedAt != nil {
					ended = when(*i.EndedAt)
				}
				return []string{name, when(i.StartedAt), ended, i.CauseText, i.Details}
			})
	}),
}

func init() {
	addOrgFlag(adminIncidentsCmd)
	adminIncidentsCmd.Flags().String("since", "", "only incidents still open or ended at or after: 720h, 7d, 2030-01-02 or RFC 3339")
	adminIdPCmd.AddCommand(adminIdPHealthCmd)
	adminCmd.AddCommand(adminIncidentsCmd)
}
