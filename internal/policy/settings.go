package policy

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// Bounds of the per-policy settings. Zero lifetimes mean "the
// deployment's" (config session.idle_timeout / max_lifetime); zero
// AutoFailbackAfter means automatic failback is off.
const (
	MinIdleTimeout        = time.Minute
	MaxIdleTimeout        = 30 * 24 * time.Hour
	MinMaxLifetime        = 5 * time.Minute
	MaxMaxLifetime        = 365 * 24 * time.Hour
	MinFailbackWindowDays = 1
	MaxFailbackWindowDays = 365
	MinAutoFailbackAfter  = time.Minute
	MaxAutoFailbackAfter  = 24 * time.Hour
	maxGroupLen           = 256
	maxGroups             = 100
)

// Settings are the optional settings of a policy beside its SSO mode; nil
// fields are left as they are (on Create: the defaults).
type Settings struct {
	Failback           *string        // storage.FailbackAllowed or FailbackDenied
	MFA                *string        // storage.MFARequired or MFAOptional
	IdleTimeout        *time.Duration // 0: the deployment's
	MaxLifetime        *time.Duration // 0: the deployment's
	FailbackWindowDays *int
	AutoFailbackAfter  *time.Duration // 0: off
	// AddGroups and RemoveGroups change the IdP groups whose members fall
	// under the policy (unless explicitly under another one).
	AddGroups    []string
	RemoveGroups []string
}

// apply sets s's fields on p, validates the result and returns the
// changed settings as audit details (name → new value).
func (s Settings) apply(p *storage.Policy) (map[string]string, error) {
	changed := map[string]string{}
	set := func(name string, cur *string, v string) {
		if *cur != v {
			changed[name] = v
			*cur = v
		}
	}
	*p = storage.WithPolicyDefaults(*p)
	if s.Failback != nil {
		if *s.Failback != storage.FailbackAllowed && *s.Failback != storage.FailbackDenied {
			return nil, invalid("failback", `Failback must be "allowed" or "denied".`)
		}
		set("failback", &p.Failback, *s.Failback)
	}
	if s.MFA != nil {
		if *s.MFA != storage.MFARequired && *s.MFA != storage.MFAOptional {
			return nil, invalid("mfa", `MFA must be "required" or "optional".`)
		}
		set("mfa", &p.MFA, *s.MFA)
	}
	dur := func(name string, cur *time.Duration, v *time.Duration, lo, hi time.Duration, msg string) error {
		if v == nil {
			return nil
		}
		if *v != 0 && (*v < lo || *v > hi) {
			return invalid(name, msg)
		}
		if *cur != *v {
			changed[name] = v.String()
			*cur = *v
		}
		return nil
	}
	if err := dur("idle_timeout", &p.IdleTimeout, s.IdleTimeout, MinIdleTimeout, MaxIdleTimeout,
		"The idle timeout must be between 1 minute and 30 days (0 uses the deployment's)."); err != nil {
		return nil, err
	}
	if err := dur("max_lifetime", &p.MaxLifetime, s.MaxLifetime, MinMaxLifetime, MaxMaxLifetime,
		"The maximum session lifetime must be between 5 minutes and 365 days (0 uses the deployment's)."); err != nil {
		return nil, err
	}
	if err := dur("auto_failback_after", &p.AutoFailbackAfter, s.AutoFailbackAfter, MinAutoFailbackAfter, MaxAutoFailbackAfter,
		"Automatic failback starts after between 1 minute and 24 hours of an incident (0 turns it off)."); err != nil {
		return nil, err
	}
	if p.IdleTimeout > 0 && p.MaxLifetime > 0 && p.IdleTimeout > p.MaxLifetime {
		return nil, invalid("idle_timeout", "The idle timeout cannot be longer than the maximum session lifetime.")
	}
	if s.FailbackWindowDays != nil {
		n := *s.FailbackWindowDays
		if n < MinFailbackWindowDays || n > MaxFailbackWindowDays {
			return nil, invalid("failback_window_days", "The failback window must be between 1 and 365 days.")
		}
		if p.FailbackWindowDays != n {
			changed["failback_window_days"] = strconv.Itoa(n)
			p.FailbackWindowDays = n
		}
	}
	return changed, nil
}

// cleanGroups validates group names (kept exactly as the IdP sends them,
// case included, but trimmed) and removes duplicates.
func cleanGroups(groups []string, field string) ([]string, error) {
	var out []string
	for _, g := range groups {
		g = strings.TrimSpace(g)
		switch {
		case g == "":
			return nil, invalid(field, "Name the IdP group.")
		case !utf8.ValidString(g) || strings.ContainsFunc(g, unicode.IsControl):
			return nil, invalid(field, "The group name contains characters that are not allowed.")
		case utf8.RuneCountInString(g) > maxGroupLen:
			return nil, invalid(field, fmt.Sprintf("A group name must be at most %d characters.", maxGroupLen))
		}
		if !slices.Contains(out, g) {
			out = append(out, g)
		}
	}
	if len(out) > maxGroups {
		return nil, invalid(field, fmt.Sprintf("Give at most %d groups at once.", maxGroups))
	}
	return out, nil
}

// applyGroups adds and removes the policy's groups through tx and records
// what changed in details.
func applyGroups(ctx context.Context, tx storage.Store, p storage.Policy, add, remove []string, details map[string]string) error {
	if len(add)+len(remove) == 0 {
		return nil
	}
	if p.IsDefault {
		return invalid("groups", "The default policy covers everyone not under another policy; give the groups to a named policy.")
	}
	cur, err := tx.ListPolicyGroups(ctx, p.OrgID, p.ID)
	if err != nil {
		return fmt.Errorf("policy: list groups of %q: %w", p.Name, err)
	}
	var added, removed []string
	for _, g := range add {
		if slices.Contains(cur, g) {
			continue // adding twice is no change
		}
		if err := tx.AddPolicyGroup(ctx, p.OrgID, p.ID, g); err != nil {
			return mapErr(err, "group "+quote(g))
		}
		added = append(added, g)
	}
	for _, g := range remove {
		if !slices.Contains(cur, g) {
			return invalid("remove_groups", fmt.Sprintf("The policy %q does not cover the group %q.", p.Name, g))
		}
		if err := tx.RemovePolicyGroup(ctx, p.OrgID, p.ID, g); err != nil {
			return mapErr(err, "group "+quote(g))
		}
		removed = append(removed, g)
	}
	if len(added) > 0 {
		details["groups_added"] = strings.Join(added, ",")
	}
	if len(removed) > 0 {
		details["groups_removed"] = strings.Join(removed, ",")
	}
	return nil
}

// Groups returns the IdP groups the policy covers, sorted.
func (s *Service) Groups(ctx context.Context, orgID, nameOrID string) ([]string, error) {
	p, err := s.find(ctx, s.store, orgID, nameOrID)
	if err != nil {
		return nil, err
	}
	gs, err := s.store.ListPolicyGroups(ctx, orgID, p.ID)
	if err != nil {
		return nil, fmt.Errorf("policy: list groups of %q: %w", p.Name, err)
	}
	return gs, nil
}

// requireOwnerForGroups refuses, unless the actor may act on owners, a
// change of groups that some active owner is in: it moves that owner to
// another policy.
func requireOwnerForGroups(ctx context.Context, tx storage.Store, orgID string, groups []string) error {
	if len(groups) == 0 {
		return nil
	}
	grouped, err := tx.ListGroupedAccounts(ctx, orgID)
	if err != nil {
		return fmt.Errorf("policy: list account groups: %w", err)
	}
	accts, err := tx.ListAccounts(ctx, orgID)
	if err != nil {
		return fmt.Errorf("policy: list accounts: %w", err)
	}
	for _, a := range accts {
		if a.Role != storage.RoleOwner || a.Status != storage.StatusActive {
			continue
		}
		if slices.ContainsFunc(grouped[a.ID], func(g string) bool { return slices.Contains(groups, g) }) {
			_, err := authz.RequireOwner(ctx, tx, orgID)
			return err
		}
	}
	return nil
}
