package apiview

import (
	"context"
	"slices"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/idp"
	"github.com/gatehouse-id/gatehouse/internal/policy"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// Policy is the JSON of an authentication policy.
type Policy struct {
	ID             string `json:"id"`
	Name           string `json:"name"`
	IsDefault      bool   `json:"is_default"`
	SSO            string `json:"sso"`             // enforced, optional or off
	ConnectionID   string `json:"connection_id"`   // "" when none is chosen
	ConnectionSlug string `json:"connection_slug"` // "" when none is chosen
	// Members are the emails of the accounts explicitly under the policy.
	// The default policy lists none: it catches everyone else.
	Members []string `json:"members"`
	// Groups are the IdP groups whose members fall under the policy
	// (unless explicitly under another one).
	Groups []string `json:"groups"`
	// Domains are the verified email domains whose accounts fall under the
	// policy (unless placed by membership or group).
	Domains  []string `json:"domains"`
	Failback string   `json:"failback"` // allowed or denied
	MFA      string   `json:"mfa"`      // required or optional
	// Session lifetimes in seconds; 0 means the deployment's.
	IdleTimeoutSeconds int64 `json:"idle_timeout_seconds"`
	MaxLifetimeSeconds int64 `json:"max_lifetime_seconds"`
	FailbackWindowDays int   `json:"failback_window_days"`
	// AutoFailbackAfterSeconds: 0 means automatic failback is off.
	AutoFailbackAfterSeconds int64     `json:"auto_failback_after_seconds"`
	CreatedAt                time.Time `json:"created_at"`
	UpdatedAt                time.Time `json:"updated_at"`
}

// PoliciesFrom converts policies, naming their connections by slug and
// their members by email. idps may be nil (slugs are then left empty).
func PoliciesFrom(ctx context.Context, accounts *account.Service, idps *idp.Service, policies *policy.Service, orgID string, ps []storage.Policy) ([]Policy, error) {
	slugs := map[string]string{}
	if idps != nil {
		cs, err := idps.List(ctx, orgID)
		if err != nil {
			return nil, err
		}
		for _, c := range cs {
			slugs[c.ID] = c.Slug
		}
	}
	emails := map[string]string{}
	if len(ps) > 0 {
		ms, err := accounts.ListMembers(ctx, orgID)
		if err != nil {
			return nil, err
		}
		for _, m := range ms {
			emails[m.ID] = m.Email
		}
	}
	out := make([]Policy, 0, len(ps))
	for _, p := range ps {
		ids, err := policies.Members(ctx, orgID, p.ID)
		if err != nil {
			return nil, err
		}
		members := make([]string, 0, len(ids))
		for _, id := range ids {
			if e, ok := emails[id]; ok {
				members = append(members, e)
			}
		}
		slices.Sort(members)
		groups, err := policies.Groups(ctx, orgID, p.ID)
		if err != nil {
			return nil, err
		}
		if groups == nil {
			groups = []string{}
		}
		domains, err := policies.Domains(ctx, orgID, p.ID)
		if err != nil {
			return nil, err
		}
		if domains == nil {
			domains = []string{}
		}
		p = storage.WithPolicyDefaults(p)
		out = append(out, Policy{
			ID: p.ID, Name: p.Name, IsDefault: p.IsDefault, SSO: p.SSO,
			ConnectionID: p.ConnectionID, ConnectionSlug: slugs[p.ConnectionID], Members: members,
			Groups: groups, Domains: domains, Failback: p.Failback, MFA: p.MFA,
			IdleTimeoutSeconds: int64(p.IdleTimeout.Seconds()), MaxLifetimeSeconds: int64(p.MaxLifetime.Seconds()),
			FailbackWindowDays: p.FailbackWindowDays, AutoFailbackAfterSeconds: int64(p.AutoFailbackAfter.Seconds()),
			CreatedAt: p.CreatedAt.UTC(), UpdatedAt: p.UpdatedAt.UTC(),
		})
	}
	return out, nil
}
