package account

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// memberEvents is how many audit events a member's page shows; the audit
// log, filtered on the member, has the rest.
const memberEvents = 20

// MemberLink is an SSO link as a member's page shows it: the connection's
// name beside the IdP's subject.
type MemberLink struct {
	storage.SSOLink
	ID             string // LinkID, for UnlinkSSO
	ConnectionName string
	ConnectionSlug string
}

// MemberDetail is what an admin sees about one member beside the account:
// their last sign-in, live sessions, SSO links, IdP groups and the newest
// audit events naming them as target or actor.
type MemberDetail struct {
	Account storage.Account
	// LastSignInAt is when they last signed in (kept on the account, so it
	// outlives pruned sessions); zero when never.
	LastSignInAt time.Time
	// LastSignIn is their newest session, whatever its state; nil when
	// they never signed in (or it was pruned long after it ended).
	LastSignIn *storage.Session
	// Sessions are the live ones (not revoked, not past their absolute
	// or idle end), newest first.
	Sessions []storage.Session
	Links    []MemberLink
	Groups   []string
	Events   []storage.AuditEvent // newest first, at most 20
	// Invited: they never signed in nor set a password, so an invitation
	// can be resent (ResendInvitation).
	Invited bool
}

// MemberDetail returns what a member's page shows. Readers may see it
// (authz.RequireReader); another organization's member is not found.
func (s *Service) MemberDetail(ctx context.Context, orgID, accountID string) (MemberDetail, error) {
	if err := checkID("org_id", "organization", orgID); err != nil {
		return MemberDetail{}, err
	}
	if _, err := authz.RequireReader(ctx, s.store, orgID); err != nil {
		return MemberDetail{}, err
	}
	a, err := memberOf(ctx, s.store, orgID, accountID)
	if err != nil {
		return MemberDetail{}, err
	}
	d := MemberDetail{Account: a}
	now := s.clock()
	last, err := s.store.LastSession(ctx, a.ID)
	switch {
	case err == nil:
		d.LastSignIn = &last
	case !errors.Is(err, storage.ErrNotFound):
		return MemberDetail{}, fmt.Errorf("account: last session: %w", err)
	}
	if d.LastSignInAt, err = s.store.LastSignInAt(ctx, a.ID); err != nil {
		return MemberDetail{}, fmt.Errorf("account: last sign-in: %w", err)
	}
	all, err := s.store.ListSessions(ctx, a.ID, now)
	if err != nil {
		return MemberDetail{}, fmt.Errorf("account: list sessions: %w", err)
	}
	for _, x := range all {
		if x.IdleTimeout > 0 && !now.Before(x.LastSeenAt.Add(x.IdleTimeout)) {
			continue // idle past its limit: over, though not yet marked
		}
		d.Sessions = append(d.Sessions, x)
	}
	links, err := s.store.ListAccountSSOLinks(ctx, a.ID)
	if err != nil {
		return MemberDetail{}, fmt.Errorf("account: SSO links: %w", err)
	}
	for _, l := range links {
		ml := MemberLink{SSOLink: l, ID: LinkID(l), ConnectionName: l.ConnectionID}
		if c, err := s.store.GetIdPConnection(ctx, l.ConnectionID); err == nil && c.OrgID == orgID {
			ml.ConnectionName, ml.ConnectionSlug = c.Name, c.Slug
		} else if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return MemberDetail{}, fmt.Errorf("account: read connection: %w", err)
		}
		d.Links = append(d.Links, ml)
	}
	if d.Groups, err = s.store.ListAccountGroups(ctx, a.ID); err != nil {
		return MemberDetail{}, fmt.Errorf("account: groups: %w", err)
	}
	if d.Events, err = s.store.ListAuditAbout(ctx, orgID, a.ID, memberEvents); err != nil {
		return MemberDetail{}, fmt.Errorf("account: audit events: %w", err)
	}
	d.Invited = a.PasswordHash == "" && d.LastSignIn == nil && d.LastSignInAt.IsZero() && len(links) == 0
	return d, nil
}
