package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse-id/gatehouse/internal/apiview"
	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/emergency"
	"github.com/gatehouse-id/gatehouse/internal/errs"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

var adminEmergencyCmd = &cobra.Command{
	Use:   "emergency",
	Short: "Emergency sign-in (failback mode) when SSO is broken",
	Long: `Emergency mode lets eligible people whose policy enforces SSO sign in without
the IdP for a limited time: with an emergency passkey enrolled in advance, or
with a password set through the reset mail. It is time-boxed (default 4h, at
most 72h from its start), audited, and mailed to every owner and admin.

Eligible: active accounts under a policy that allows failback that signed in
through SSO within the policy's window (default 30 days) or were added by an
admin. Nobody else gets in, and no account is created by sign-in.

When it ends (by hand or at its deadline) passwords set during it stop
working; with --sign-out the sessions made during it end at once on every
node. See docs/RUNBOOK-SSO-OUTAGE.md.`,
}

// durationFlag parses an optional duration flag.
func durationFlag(cmd *cobra.Command, name string) (time.Duration, error) {
	v := strings.TrimSpace(flag(cmd, name))
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("--%s must be a positive duration such as 4h or 90m, not %q", name, v)
	}
	return d, nil
}

// emergencyErr names the flag at fault.
func emergencyErr(err error) error {
	flags := map[string]string{"reason": "reason", "for": "for", "policies": "policy"}
	if f, ok := flags[errs.FieldOf(err)]; ok && errs.KindOf(err) == errs.Invalid {
		text, _ := errs.Shown(err)
		return fmt.Errorf("--%s: %s", f, text)
	}
	if errors.Is(err, emergency.ErrActive) {
		return fmt.Errorf("%w (see: gatehouse admin emergency status)", err)
	}
	return cliErr(err)
}

// targetEmergency is --id, else the organization's emergency in force.
func targetEmergency(ctx context.Context, a *app.App, cmd *cobra.Command, org storage.Organization) (storage.Emergency, error) {
	if id := flag(cmd, "id"); id != "" {
		e, err := a.Emergencies.Get(ctx, org.ID, id)
		return e, emergencyErr(err)
	}
	e, ok, err := a.Emergencies.Active(ctx, org.ID)
	if err != nil {
		return e, emergencyErr(err)
	}
	if !ok {
		return e, fmt.Errorf("%s has no emergency in force (give --id for an earlier one)", org.Slug)
	}
	return e, nil
}

func describeEmergency(ctx context.Context, a *app.App, e storage.Emergency, now time.Time) string {
	scope := "whole organization"
	if e.Scoped {
		var names []string
		for _, id := range e.PolicyIDs {
			if p, err := a.Policies.Get(ctx, e.OrgID, id); err == nil {
				names = append(names, p.Name)
			} else {
				names = append(names, id)
			}
		}
		scope = "policies " + strings.Join(names, ", ")
	}
	state := "in force until " + when(e.EndsAt)
	switch {
	case !e.EndedAt.IsZero():
		state = e.EndReason + " at " + when(e.EndedAt)
	case !e.InForce(now):
		state = "ran out at " + when(e.EndsAt) + " (being ended)"
	}
	return fmt.Sprintf("Emergency %s: %s.\n  Reason: %s\n  Covers: %s\n  Started: %s by %s\n",
		e.ID, state, e.Reason, scope, when(e.StartedAt), firstNonEmpty(e.StartedByEmail, e.StartedByType+" "+e.StartedByID))
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if strings.TrimSpace(v) != "" {
			return v
		}
	}
	return ""
}

var adminEmergencyStartCmd = &cobra.Command{
	Use:   "start --org ORG --reason TEXT [--for 4h] [--policy NAME]... [--sign-out-at-end]",
	Short: "Start emergency mode (for the whole organization, or some policies)",
	Example: `  gatehouse admin emergency start --org acme --reason "Entra ID outage" --for 4h
  gatehouse admin emergency start --org acme --reason "Engineering app broken" --policy Engineering
  gatehouse admin emergency start --org acme --reason "Entra ID outage" --sign-out-at-end   # its sessions end when it ends`,
	Args:    cobra.NoArgs,
	PreRunE: requires("org", "reason").and(valid(func(cmd *cobra.Command) (time.Duration, error) { return durationFlag(cmd, "for") })),
	RunE: withOrg(func(ctx context.Context, a *app.App, cmd *cobra.Command, out io.Writer, org storage.Organization) error {
		d, _ := durationFlag(cmd, "for")
		policies, _ := cmd.Flags().GetStringArray("policy")
		e, err := a.Emergencies.Start(ctx, org.ID, emergency.StartInput{Reason: flag(cmd, "reason"), For: d, Policies: policies,
			SignOutAtEnd: boolFlag(cmd, "sign-out-at-end")})
		if err != nil {
			return emergencyErr(err)
		}
		return report(cmd, out, apiview.EmergencyFrom(e, a.Now()),
			"Emergency mode started in %s until %s (id %s). Every owner and admin has been mailed.\nEnd it with: gatehouse admin emergency end --org %s [--sign-out]\n",
			org.Slug, when(e.EndsAt), e.ID, org.Slug)
	}),
}

var adminEmergencyExtendCmd = &cobra.Command{
	Use:   "extend --org ORG (--for 2h | --sign-out-at-end=true|false) [--id ID]",
	Short: "Move the end of the emergency in force later, or change whether its sessions end when it ends",
	Example: `  gatehouse admin emergency extend --org acme --for 2h
  gatehouse admin emergency extend --org acme --sign-out-at-end=false   # let its sessions run to their own expiry`,
	Args: cobra.NoArgs,
	PreRunE: requires("org").and(func(cmd *cobra.Command) error {
		if !cmd.Flags().Changed("sign-out-at-end") {
			if err := requireFlags(cmd, "for"); err != nil {
				return err
			}
		}
		_, err := durationFlag(cmd, "for")
		return err
	}),
	RunE: withOrg(func(ctx context.Context, a *app.App, cmd *cobra.Command, out io.Writer, org storage.Organization) error {
		e, err := targetEmergency(ctx, a, cmd, org)
		if err != nil {
			return err
		}
		d, _ := durationFlag(cmd, "for")
		in := emergency.ExtendInput{For: d}
		if cmd.Flags().Changed("sign-out-at-end") {
			v := boolFlag(cmd, "sign-out-at-end")
			in.SignOutAtEnd = &v
		}
		e, err = a.Emergencies.Extend(ctx, org.ID, e.ID, in)
		if err != nil {
			return emergencyErr(err)
		}
		atEnd := "sessions made during it run to their own expiry"
		if e.SignOutAtEnd {
			atEnd = "everyone who signed in during it is signed out"
		}
		return report(cmd, out, apiview.EmergencyFrom(e, a.Now()), "Emergency mode in %s now ends %s; when it ends, %s.\n", org.Slug, when(e.EndsAt), atEnd)
	}),
}

var adminEmergencyEndCmd = &cobra.Command{
	Use:   "end --org ORG [--sign-out] [--id ID]",
	Short: "End the emergency now; passwords set during it stop working",
	Example: `  gatehouse admin emergency end --org acme
  gatehouse admin emergency end --org acme --sign-out   # also end every session made during it`,
	Args:    cobra.NoArgs,
	PreRunE: requires("org"),
	RunE: withOrg(func(ctx context.Context, a *app.App, cmd *cobra.Command, out io.Writer, org storage.Organization) error {
		e, err := targetEmergency(ctx, a, cmd, org)
		if err != nil {
			return err
		}
		res, err := a.Emergencies.End(ctx, org.ID, e.ID, emergency.EndInput{SignOutSessions: boolFlag(cmd, "sign-out")})
		if err != nil {
			return emergencyErr(err)
		}
		sessions := "Sessions made during it run to their own expiry."
		if boolFlag(cmd, "sign-out") {
			sessions = strconv.Itoa(res.SessionsRevoked) + " session(s) made during it were signed out on every node."
		}
		return report(cmd, out, map[string]any{
			"emergency": apiview.EmergencyFrom(res.Emergency, a.Now()), "passwords_cleared": res.PasswordsCleared, "sessions_revoked": res.SessionsRevoked,
		}, "Emergency mode in %s has ended. %d password(s) set during it no longer work. %s\n", org.Slug, res.PasswordsCleared, sessions)
	}),
}

var adminEmergencyStatusCmd = &cobra.Command{
	Use:     "status --org ORG",
	Short:   "Show the emergency in force, who could get in, and the history",
	Example: `  gatehouse admin emergency status --org acme`,
	Args:    cobra.NoArgs,
	PreRunE: requires("org"),
	RunE: withOrg(func(ctx context.Context, a *app.App, cmd *cobra.Command, out io.Writer, org storage.Organization) error {
		hist, err := a.Emergencies.History(ctx, org.ID)
		if err != nil {
			return emergencyErr(err)
		}
		ready, err := a.Emergencies.Readiness(ctx, org.ID)
		if err != nil {
			return emergencyErr(err)
		}
		now := a.Now()
		if jsonOutput(cmd) {
			list := make([]apiview.Emergency, 0, len(hist))
			var active *apiview.Emergency
			for _, e := range hist {
				v := apiview.EmergencyFrom(e, now)
				if v.Active {
					active = &v
				}
				list = append(list, v)
			}
			return printJSON(out, map[string]any{"active": active, "emergencies": list})
		}
		active := false
		for _, e := range hist {
			if e.InForce(now) {
				active = true
				fmt.Fprint(out, describeEmergency(ctx, a, e, now))
			}
		}
		if !active {
			fmt.Fprintf(out, "No emergency is in force in %s.\n", org.Slug)
		}
		fmt.Fprintln(out, "\nWho could sign in without SSO during an emergency, per policy:")
		rows := [][]string{}
		unchanged := false
		for _, r := range ready {
			covered := "no"
			if r.Covered {
				covered = "yes"
			}
			if r.Policy.SSO != storage.SSOEnforced {
				// Nothing to fail back from: counting its people as "not
				// eligible" read as if a break-glass admin were locked out.
				unchanged = true
				rows = append(rows, []string{r.Policy.Name, r.Policy.SSO, covered, "", "", ""})
				continue
			}
			passkeys := "unknown"
			if r.WithEmergencyPasskey >= 0 {
				passkeys = strconv.Itoa(r.WithEmergencyPasskey)
			}
			rows = append(rows, []string{r.Policy.Name, r.Policy.SSO, covered, strconv.Itoa(len(r.Eligible)), passkeys, strconv.Itoa(len(r.Ineligible))})
		}
		if err := table(out, []string{"POLICY", "SSO", "IN EMERGENCY", "ELIGIBLE", "WITH EMERGENCY PASSKEY", "NOT ELIGIBLE"}, rows); err != nil {
			return err
		}
		if unchanged {
			fmt.Fprintln(out, "(-: the policy does not enforce SSO, so an emergency changes nothing for its people; they sign in as usual.)")
		}
		if len(hist) > 0 {
			fmt.Fprintln(out, "\nHistory (newest first):")
			rows = rows[:0]
			for _, e := range hist {
				state := "in force"
				if !e.EndedAt.IsZero() {
					state = e.EndReason + " " + when(e.EndedAt)
				}
				rows = append(rows, []string{e.ID, when(e.StartedAt), state, e.Reason})
			}
			return table(out, []string{"ID", "STARTED", "END", "REASON"}, rows)
		}
		return nil
	}),
}

func init() {
	addOrgFlag(adminEmergencyStartCmd, adminEmergencyExtendCmd, adminEmergencyEndCmd, adminEmergencyStatusCmd)
	adminEmergencyStartCmd.Flags().String("reason", "", "why (audit log and the admins' mail) (required)")
	adminEmergencyStartCmd.Flags().String("for", "", "how long, e.g. 4h (default emergency.default_duration; at most emergency.max_duration)")
	adminEmergencyStartCmd.Flags().StringArray("policy", nil, "limit it to this policy (name or ID); repeat for several; none: the whole organization")
	adminEmergencyStartCmd.Flags().Bool("sign-out-at-end", false, "when it ends (by hand or when it runs out), sign out on every node everyone who signed in during it")
	adminEmergencyExtendCmd.Flags().String("for", "", "how much later it ends, e.g. 2h (required unless --sign-out-at-end is given)")
	adminEmergencyExtendCmd.Flags().Bool("sign-out-at-end", false, "change whether its sessions end when it ends (true or false)")
	adminEmergencyEndCmd.Flags().Bool("sign-out", false, "also sign out, on every node, everyone who signed in during the emergency")
	for _, c := range []*cobra.Command{adminEmergencyExtendCmd, adminEmergencyEndCmd} {
		c.Flags().String("id", "", "the emergency (default: the one in force)")
	}
	adminEmergencyCmd.AddCommand(adminEmergencyStartCmd, adminEmergencyExtendCmd, adminEmergencyEndCmd, adminEmergencyStatusCmd)
	adminCmd.AddCommand(adminEmergencyCmd)
}
