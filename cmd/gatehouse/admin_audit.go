package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse-id/gatehouse/internal/apiview"
	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

var adminAuditCmd = &cobra.Command{Use: "audit", Short: "Read, export and verify the audit log"}

var adminAuditListCmd = &cobra.Command{
	Use:   "list [--org ORG] [--actor WHO] [--action ACTION] [--outcome O] [--target-type T] [--target-id ID] [--since 24h|RFC3339] [--until …] [--newest] [--after SEQ|--before SEQ] [--limit N]",
	Short: "List audit events, oldest first (or newest first)",
	Long: `List audit events in the order they were recorded, oldest first, or
with --newest the newest first.

Without --org, events of every organization and of the deployment itself
(sign-in attempts for unknown emails, set-up) are merged by time.
--actor matches an actor ID or email; --action is exact, or a prefix ending
in "*" (login.*); --outcome is success, failure or denied; --target-type and
--target-id select what the event was done to. --since and --until take a
duration back from now (90m, 24h, 7d), a date (2030-01-02) or an RFC 3339
time. With --org, a full page ends with the --after value (--before with
--newest) that continues it.`,
	Args: cobra.NoArgs,
	PreRunE: func(cmd *cobra.Command, _ []string) error {
		_, err := auditFilterFlags(cmd, time.Now(), true)
		return err
	},
	RunE: withApp(func(ctx context.Context, a *app.App, cmd *cobra.Command, out io.Writer) error {
		f, err := auditFilterFlags(cmd, a.Now(), true)
		if err != nil {
			return err
		}
		var chains []storage.Organization // the chains to read; ID "" is the deployment's
		slugs := map[string]string{"": "-"}
		if flag(cmd, "org") != "" {
			org, err := orgFlag(ctx, a, cmd)
			if err != nil {
				return err
			}
			chains = []storage.Organization{org}
		} else {
			orgs, err := a.Accounts.ListOrganizations(ctx)
			if err != nil {
				return err
			}
			chains = append([]storage.Organization{{ID: "", Slug: "-"}}, orgs...)
		}
		var events []storage.AuditEvent
		more := false
		for _, c := range chains {
			slugs[c.ID] = c.Slug
			cf := f
			cf.OrgID = c.ID
			evs, m, err := a.Audit.ListPage(ctx, cf)
			if err != nil {
				return fmt.Errorf("read the audit log: %w", err)
			}
			more = more || m
			events = append(events, evs...)
		}
		if len(chains) > 1 {
			sort.SliceStable(events, func(i, j int) bool {
				if f.Newest {
					return events[i].Time.After(events[j].Time)
				}
				return events[i].Time.Before(events[j].Time)
			})
			if len(events) > f.Limit {
				events, more = events[:f.Limit], true
			}
		}

		var nextAfter, nextBefore *int64
		if more && len(chains) == 1 && len(events) > 0 {
			last := events[len(events)-1].Seq
			if f.Newest {
				nextBefore = &last
			} else {
				nextAfter = &last
			}
		}
		if jsonOutput(cmd) {
			page := apiview.AuditPage{Events: make([]audit.Entry, 0, len(events)), NextAfter: nextAfter, NextBefore: nextBefore}
			for _, e := range events {
				page.Events = append(page.Events, audit.EntryFrom(e))
			}
			return printJSON(out, page)
		}
		header := []string{"SEQ", "TIME", "ACTOR", "ACTION", "TARGET", "OUTCOME", "DETAILS"}
		if len(chains) > 1 {
			header = append([]string{"ORG"}, header...)
		}
		rows := make([][]string, 0, len(events))
		for _, e := range events {
			row := []string{strconv.FormatInt(e.Seq, 10), when(e.Time), actorCell(e), e.Action, targetCell(e), outcomeCell(e), detailsCell(e.Details)}
			if len(chains) > 1 {
				row = append([]string{slugs[e.OrgID]}, row...)
			}
			rows = append(rows, row)
		}
		if err := table(out, header, rows); err != nil {
			return err
		}
		if more {
			errw := cmd.ErrOrStderr()
			switch {
			case nextAfter != nil:
				fmt.Fprintf(errw, "More events match: continue with --after %d.\n", *nextAfter)
			case nextBefore != nil:
				fmt.Fprintf(errw, "More events match: continue with --newest --before %d.\n", *nextBefore)
			default:
				fmt.Fprintln(errw, "More events match: narrow with --since/--until, or use --org and --after to page.")
			}
		}
		return nil
	}),
}

func actorCell(e storage.AuditEvent) string {
	who := e.ActorEmail
	if who == "" {
		who = e.ActorID
	}
	if who == "" {
		return e.ActorType
	}
	return e.ActorType + ":" + who
}

func targetCell(e storage.AuditEvent) string {
	if e.TargetType == "" && e.TargetID == "" {
		return ""
	}
	return e.TargetType + ":" + e.TargetID
}

func outcomeCell(e storage.AuditEvent) string {
	if e.Reason != "" {
		return e.Outcome + " (" + e.Reason + ")"
	}
	return e.Outcome
}

func detailsCell(d map[string]string) string {
	keys := make([]string, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+"="+d[k])
	}
	return strings.Join(parts, " ")
}

var adminAuditExportCmd = &cobra.Command{
	Use:   "export --org ORG [--actor …] [--action …] [--outcome …] [--target-type …] [--target-id …] [--since …] [--until …] > audit.jsonl",
	Short: "Write an organization's audit events as JSON lines to stdout",
	Args:  cobra.NoArgs,
	PreRunE: requires("org").and(func(cmd *cobra.Command) error {
		_, err := auditFilterFlags(cmd, time.Now(), false)
		return err
	}),
	RunE: withOrg(func(ctx context.Context, a *app.App, cmd *cobra.Command, out io.Writer, org storage.Organization) error {
		f, err := auditFilterFlags(cmd, a.Now(), false)
		if err != nil {
			return err
		}
		f.OrgID = org.ID
		if err := a.Audit.ExportJSONL(ctx, f, out); err != nil {
			return fmt.Errorf("export the audit log: %w", err)
		}
		return nil
	}),
}

// errChainBroken makes `audit verify` exit non-zero after printing its report.
var errChainBroken = errors.New("the audit log does not verify")

var adminAuditVerifyCmd = &cobra.Command{
	Use:   "verify --org ORG [--expect-head HASH]",
	Short: "Recompute an organization's audit hash chain; exit 1 if it was tampered with",
	Long: `Recompute an organization's audit hash chain and compare its end with the
chain head every append records; exit 1 if an event was changed, removed
(in the middle or at the end) or reordered.

Someone able to rewrite the database can rewrite the events and the stored
head together. To catch that, keep the head hash outside the database (this
command prints it; every append logs it as "audit chain head"; an export
ends with it) and pass it later with --expect-head: the chain must still
contain that event unchanged.`,
	Args: cobra.NoArgs,
	PreRunE: requires("org").and(func(cmd *cobra.Command) error {
		if h := flag(cmd, "expect-head"); h != "" && !audit.ValidHeadHash(h) {
			return fmt.Errorf("--expect-head must be a chain head hash: 64 lowercase hex digits, not %q", h)
		}
		return nil
	}),
	RunE: withOrg(func(ctx context.Context, a *app.App, cmd *cobra.Command, out io.Writer, org storage.Organization) error {
		res, err := a.Audit.VerifyWith(ctx, org.ID, audit.VerifyOptions{ExpectHead: flag(cmd, "expect-head")})
		if err != nil {
			return fmt.Errorf("verify the audit log: %w", err)
		}
		switch {
		case jsonOutput(cmd):
			if err := printJSON(out, apiview.VerifyResultOf(res)); err != nil {
				return err
			}
		case res.OK && res.Head.Seq == 0:
			fmt.Fprintf(out, "The audit log of %s is empty.\n", org.Slug)
		case res.OK:
			fmt.Fprintf(out, "The audit log of %s verifies: %d event(s), every hash and link intact, ending at the chain head.\n", org.Slug, res.Events)
			fmt.Fprintf(out, "Head: event %d at %s, hash %s\n(keep it outside this database; pass it to --expect-head later)\n",
				res.Head.Seq, res.Head.Time.UTC().Format(time.RFC3339), res.Head.Hash)
		case res.BrokenAt > 0:
			fmt.Fprintf(out, "The audit log of %s is BROKEN at event %d: %s\n", org.Slug, res.BrokenAt, res.Problem)
		default:
			fmt.Fprintf(out, "The audit log of %s is BROKEN: %s\n", org.Slug, res.Problem)
		}
		if !res.OK {
			return fmt.Errorf("%w: %s: %s", errChainBroken, org.Slug, res.Problem)
		}
		return nil
	}),
}

// auditFilterFlags reads the filter flags (OrgID is left to the caller).
func auditFilterFlags(cmd *cobra.Command, now time.Time, paging bool) (storage.AuditFilter, error) {
	var f storage.AuditFilter
	var err error
	f.ActorID = flag(cmd, "actor")
	f.Action = flag(cmd, "action")
	f.TargetType, f.TargetID = flag(cmd, "target-type"), flag(cmd, "target-id")
	switch f.Outcome = flag(cmd, "outcome"); f.Outcome {
	case "", audit.OutcomeSuccess, audit.OutcomeFailure, "denied":
	default:
		return f, fmt.Errorf("--outcome must be success, failure or denied, not %q", f.Outcome)
	}
	if f.Since, err = parseSince(flag(cmd, "since"), now); err != nil {
		return f, fmt.Errorf("--since: %w", err)
	}
	if f.Until, err = parseSince(flag(cmd, "until"), now); err != nil {
		return f, fmt.Errorf("--until: %w", err)
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && f.Until.Before(f.Since) {
		return f, errors.New("--until is before --since")
	}
	if paging {
		limit, _ := cmd.Flags().GetInt("limit")
		if limit < 1 || limit > audit.MaxPageLimit {
			return f, fmt.Errorf("--limit must be from 1 to %d, not %d", audit.MaxPageLimit, limit)
		}
		f.Limit = limit
		after, _ := cmd.Flags().GetInt64("after")
		if after < 0 {
			return f, errors.New("--after must be 0 or more")
		}
		if after > 0 && flag(cmd, "org") == "" {
			return f, errors.New("--after needs --org: sequence numbers are per organization")
		}
		f.AfterSeq = after
		before, _ := cmd.Flags().GetInt64("before")
		if before < 0 {
			return f, errors.New("--before must be 1 or more")
		}
		if before > 0 && flag(cmd, "org") == "" {
			return f, errors.New("--before needs --org: sequence numbers are per organization")
		}
		f.BeforeSeq = before
		f.Newest, _ = cmd.Flags().GetBool("newest")
	}
	return f, nil
}

// parseSince reads "", a duration back from now ("90m", "24h", "7d"), a
// date ("2030-01-02", midnight UTC) or an RFC 3339 time.
func parseSince(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(days); err == nil && n >= 0 {
			return now.Add(-time.Duration(n) * 24 * time.Hour), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d < 0 {
			return time.Time{}, fmt.Errorf("%q: give a positive duration back from now", s)
		}
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is not a duration (24h, 7d), a date (2030-01-02) or an RFC 3339 time", s)
}

func init() {
	for _, c := range []*cobra.Command{adminAuditListCmd, adminAuditExportCmd} {
		c.Flags().String("actor", "", "only events by this actor (ID or email)")
		c.Flags().String("action", "", `only this action, or a prefix ending in "*" (login.*)`)
		c.Flags().String("since", "", "only events at or after: 24h, 7d, 2030-01-02 or RFC 3339")
		c.Flags().String("until", "", "only events before: same forms as --since")
		c.Flags().String("outcome", "", "only events with this outcome: success, failure or denied")
		c.Flags().String("target-type", "", "only events about a target of this type (account, app, domain, idp_connection, policy …)")
		c.Flags().String("target-id", "", "only events about the target with this ID")
	}
	adminAuditListCmd.Flags().String("org", "", "organization slug or ID (default: every organization)")
	adminAuditListCmd.Flags().Int("limit", audit.DefaultPageLimit, fmt.Sprintf("at most this many events (1–%d)", audit.MaxPageLimit))
	adminAuditListCmd.Flags().Int64("after", 0, "only events after this sequence number (needs --org)")
	adminAuditListCmd.Flags().Int64("before", 0, "only events before this sequence number (needs --org)")
	adminAuditListCmd.Flags().Bool("newest", false, "newest events first")
	addOrgFlag(adminAuditExportCmd, adminAuditVerifyCmd)
	adminAuditVerifyCmd.Flags().String("expect-head", "", "a chain head hash kept outside the database, which the chain must still contain")
	adminAuditCmd.AddCommand(adminAuditListCmd, adminAuditExportCmd, adminAuditVerifyCmd)
	adminCmd.AddCommand(adminAuditCmd)
}
