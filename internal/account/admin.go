package account

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/lockout"
	"github.com/gatehouse-id/gatehouse/internal/reqctx"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// CreateOrganization creates an organization; slug defaults from name.
func (s *Service) CreateOrganization(ctx context.Context, name, slug string) (storage.Organization, error) {
	name, err := cleanText("name", "The organization name", name, 100, false)
	if err != nil {
		return storage.Organization{}, err
	}
	if slug, err = cleanSlug(slug); err != nil {
		return storage.Organization{}, err
	}
	now := s.clock()
	var org storage.Organization
	err = s.store.InTx(ctx, func(tx storage.Store) error {
		org, err = s.createOrgTx(ctx, tx, name, slug, now)
		return err
	})
	if err != nil {
		return storage.Organization{}, err
	}
	return org, nil
}

// cleanSlug checks an explicit slug ("" stays "": derive one from the name).
func cleanSlug(slug string) (string, error) {
	slug, err := cleanText("slug", "The slug", slug, maxSlugLen, true)
	if err != nil || slug == "" {
		return "", err
	}
	slug = strings.ToLower(slug)
	if !slugRE.MatchString(slug) {
		return "", &InvalidInputError{Field: "slug", Message: "The slug may contain only letters a–z, digits and single dashes between them, like acme-corp."}
	}
	return slug, nil
}

// GetOrganization returns an organization by ID or slug.
func (s *Service) GetOrganization(ctx context.Context, idOrSlug string) (storage.Organization, error) {
	if err := checkID("organization", "organization", idOrSlug); err != nil {
		return storage.Organization{}, err
	}
	org, err := s.store.GetOrganization(ctx, idOrSlug)
	if errors.Is(err, storage.ErrNotFound) {
		org, err = s.store.GetOrganizationBySlug(ctx, strings.ToLower(idOrSlug))
	}
	return org, mapErr(err, "organization "+strconv.Quote(idOrSlug))
}

// ListOrganizations lists every organization.
func (s *Service) ListOrganizations(ctx context.Context) ([]storage.Organization, error) {
	orgs, err := s.store.ListOrganizations(ctx)
	return orgs, mapErr(err, "organizations")
}

// SoleOrganization returns the organization of a single-organization
// deployment, or ErrNotFound when there are none or several.
func (s *Service) SoleOrganization(ctx context.Context) (storage.Organization, error) {
	o, err := s.store.SoleOrganization(ctx)
	return o, mapErr(err, "a single organization")
}

// MemberInput describes a member to add.
type MemberInput struct {
	Email       string
	DisplayName string
	Role        storage.Role // default member
	Password    string       // optional initial password
	Invite      bool         // mail a set-password link (valid InviteTTL)
}

func checkRole(r storage.Role) error {
	switch r {
	case storage.RoleOwner, storage.RoleAdmin, storage.RoleMember:
		return nil
	}
	return &InvalidInputError{Field: "role", Message: "The role must be owner, admin or member."}
}

// AddMember adds a person to an organization.
func (s *Service) AddMember(ctx context.Context, orgID string, in MemberInput) (storage.Account, error) {
	if err := checkID("org_id", "organization", orgID); err != nil {
		return storage.Account{}, err
	}
	email, err := NormalizeEmail(in.Email)
	if err != nil {
		return storage.Account{}, err
	}
	display, err := cleanText("display_name", "The name", in.DisplayName, 100, true)
	if err != nil {
		return storage.Account{}, err
	}
	if in.Role == "" {
		in.Role = storage.RoleMember
	}
	if err := checkRole(in.Role); err != nil {
		return storage.Account{}, err
	}
	now := s.clock()
	a := storage.Account{
		ID: uuid.NewString(), OrgID: orgID, Email: email, DisplayName: display,
		Role: in.Role, Status: storage.StatusActive, CreatedAt: now, UpdatedAt: now, Version: 1,
	}
	if in.Password != "" {
		if err := CheckPassword(in.Password, email); err != nil {
			return storage.Account{}, err
		}
		if a.PasswordHash, err = s.hashPassword(ctx, in.Password); err != nil {
			return storage.Account{}, err
		}
		a.PasswordChangedAt = now
	}
	var org storage.Organization
	var acct storage.Account
	var secret string
	err = s.store.InTx(ctx, func(tx storage.Store) error {
		if org, err = tx.GetOrganization(ctx, orgID); err != nil {
			return mapErr(err, "organization "+strconv.Quote(orgID))
		}
		// Creating an owner is granting ownership, like SetRole: otherwise
		// an admin could invite an address they control as owner.
		if err := requireAdminFor(ctx, tx, orgID, a.Role == storage.RoleOwner); err != nil {
			return err
		}
		details := map[string]string{}
		if in.Invite {
			details["invited"] = "true"
		}
		if a.PasswordHash != "" {
			if err := s.stampPassword(ctx, tx, &a, now); err != nil {
				return err
			}
		}
		if acct, err = s.createAccountTx(ctx, tx, a, now, details); err != nil {
			return err
		}
		if in.Invite {
			secret, err = s.newOneTimeToken(ctx, tx, storage.PurposeInvite, acct, s.cfg.InviteTTL, reqctx.From(ctx).IP, now)
		}
		return err
	})
	if err != nil {
		return storage.Account{}, err
	}
	if in.Invite {
		s.sendLater(ctx, inviteMail(org, acct, s.link("/reset", secret, "invite=1"), s.cfg.InviteTTL, s.ssoLogin(ctx, acct)))
	}
	return acct, nil
}

// GetMember returns an account of orgID by ID or email.
func (s *Service) GetMember(ctx context.Context, orgID, idOrEmail string) (storage.Account, error) {
	if err := checkID("org_id", "organization", orgID); err != nil {
		return storage.Account{}, err
	}
	if strings.Contains(idOrEmail, "@") {
		email, err := NormalizeEmail(idOrEmail)
		if err != nil {
			return storage.Account{}, err
		}
		a, err := s.store.GetAccountByEmail(ctx, email)
		if err == nil && a.OrgID != orgID {
			err = storage.ErrNotFound
		}
		return a, mapErr(err, "account "+strconv.Quote(email)+" in this organization")
	}
	return memberOf(ctx, s.store, orgID, idOrEmail)
}

// memberOf returns account id if it belongs to orgID. An account of another
// organization is simply not found: IDs must not reach across tenants.
func memberOf(ctx context.Context, st storage.Accounts, orgID, id string) (storage.Account, error) {
	if err := checkID("account_id", "account", id); err != nil {
		return storage.Account{}, err
	}
	a, err := st.GetAccount(ctx, id)
	if err == nil && a.OrgID != orgID {
		return storage.Account{}, notFound("account " + strconv.Quote(id) + " in this organization")
	}
	if err != nil {
		return storage.Account{}, mapErr(err, "account "+strconv.Quote(id)+" in this organization")
	}
	return a, nil
}

// ListMembers lists an organization's accounts, ordered by email.
func (s *Service) ListMembers(ctx context.Context, orgID string) ([]storage.Account, error) {
	if err := checkID("org_id", "organization", orgID); err != nil {
		return nil, err
	}
	if _, err := s.store.GetOrganization(ctx, orgID); err != nil {
		return nil, mapErr(err, "organization "+strconv.Quote(orgID))
	}
	if _, err := authz.RequireReader(ctx, s.store, orgID); err != nil {
		return nil, err
	}
	accts, err := s.store.ListAccounts(ctx, orgID)
	return accts, mapErr(err, "members")
}

// Listing is a member as the console lists them: the account and whether
// it is linked to an IdP subject.
type Listing struct {
	storage.Account
	SSOLinked bool
}

// ListMembersWithSSO lists an organization's accounts like ListMembers,
// each marked with whether it signs in through a linked IdP subject. It
// asks storage twice whatever the number of members.
func (s *Service) ListMembersWithSSO(ctx context.Context, orgID string) ([]Listing, error) {
	accts, err := s.ListMembers(ctx, orgID)
	if err != nil {
		return nil, err
	}
	linked, err := s.store.ListLinkedAccountIDs(ctx, orgID)
	if err != nil {
		return nil, mapErr(err, "SSO links")
	}
	isLinked := make(map[string]bool, len(linked))
	for _, id := range linked {
		isLinked[id] = true
	}
	out := make([]Listing, len(accts))
	for i, a := range accts {
		out[i] = Listing{Account: a, SSOLinked: isLinked[a.ID]}
	}
	return out, nil
}

// MemberWithSSO is GetMember with whether the account is linked to an IdP
// subject.
func (s *Service) MemberWithSSO(ctx context.Context, orgID, ref string) (Listing, error) {
	a, err := s.GetMember(ctx, orgID, ref)
	if err != nil {
		return Listing{}, err
	}
	links, err := s.store.ListAccountSSOLinks(ctx, a.ID)
	if err != nil {
		return Listing{}, mapErr(err, "SSO links")
	}
	return Listing{Account: a, SSOLinked: len(links) > 0}, nil
}

// SetRole grants or revokes admin (or ownership); the last owner cannot be
// demoted. A change that leaves no owner able to sign in without the IdP
// is refused with a *lockout.Error unless force (at most one) has a reason.
func (s *Service) SetRole(ctx context.Context, orgID, accountID string, role storage.Role, force ...lockout.Force) (storage.Account, error) {
	if err := checkID("org_id", "organization", orgID); err != nil {
		return storage.Account{}, err
	}
	f, err := oneForce(force)
	if err != nil {
		return storage.Account{}, err
	}
	if err := checkRole(role); err != nil {
		return storage.Account{}, err
	}
	now := s.clock()
	var out storage.Account
	err = s.store.InTx(ctx, func(tx storage.Store) error {
		if err := requireAdminFor(ctx, tx, orgID, role == storage.RoleOwner); err != nil {
			return err
		}
		a, err := memberOf(ctx, tx, orgID, accountID)
		if err != nil {
			return err
		}
		if a.Role == role {
			out = a
			return nil // nothing changes, nothing to audit
		}
		if err := authz.RequireOwnerForMember(ctx, tx, a); err != nil {
			return err
		}
		if a.Role == storage.RoleOwner && a.Status == storage.StatusActive {
			if err := keepAnOwner(ctx, tx, orgID, a.ID); err != nil {
				return err
			}
		}
		res, err := lockout.Check(ctx, tx, orgID, func(c *lockout.Config) {
			if x := c.Account(a.ID); x != nil {
				x.Role = role
			}
		}, f, s.secondFactor)
		if err != nil {
			return err
		}
		if out, err = tx.UpdateAccount(ctx, a.ID, func(c *storage.Account) error {
			c.Role, c.UpdatedAt = role, now
			return nil
		}); err != nil {
			return mapUpdateErr(err, a.ID)
		}
		details := map[string]string{"email": a.Email, "from": string(a.Role), "to": string(role)}
		res.Annotate(details)
		return s.record(ctx, tx, now, storage.AuditEvent{
			OrgID: orgID, Action: "account.role_change", TargetType: "account", TargetID: a.ID,
			Details: details,
		})
	})
	if err != nil {
		return storage.Account{}, err
	}
	return out, nil
}

// SetStatus suspends or reactivates an account; suspending revokes its
// sessions. A suspension that leaves no owner able to sign in without the
// IdP is refused with a *lockout.Error unless force (at most one) has a reason.
func (s *Service) SetStatus(ctx context.Context, orgID, accountID string, status storage.AccountStatus, force ...lockout.Force) (storage.Account, error) {
	if err := checkID("org_id", "organization", orgID); err != nil {
		return storage.Account{}, err
	}
	f, err := oneForce(force)
	if err != nil {
		return storage.Account{}, err
	}
	if status != storage.StatusActive && status != storage.StatusSuspended {
		return storage.Account{}, &InvalidInputError{Field: "status", Message: "The status must be active or suspended."}
	}
	now := s.clock()
	var out storage.Account
	err = s.store.InTx(ctx, func(tx storage.Store) error {
		if err := requireAdminFor(ctx, tx, orgID, false); err != nil {
			return err
		}
		a, err := memberOf(ctx, tx, orgID, accountID)
		if err != nil {
			return err
		}
		if a.Status == status {
			out = a
			return nil
		}
		suspend := status == storage.StatusSuspended
		if err := authz.RequireOwnerForMember(ctx, tx, a); err != nil {
			return err
		}
		if suspend && a.Role == storage.RoleOwner {
			if err := keepAnOwner(ctx, tx, orgID, a.ID); err != nil {
				return err
			}
		}
		// Suspending oneself signs one out at once with no way back in
		// until another admin acts; a selection of "everyone on this
		// page" would do it by accident. Another admin or owner must
		// (the last owner hears the last-owner rule first).
		if info := reqctx.From(ctx); suspend && info.ActorType == "account" && info.ActorID == a.ID {
			return ErrSuspendSelf
		}
		res, err := lockout.Check(ctx, tx, orgID, func(c *lockout.Config) {
			if x := c.Account(a.ID); x != nil {
				x.Status = status
			}
		}, f, s.secondFactor)
		if err != nil {
			return err
		}
		if out, err = tx.UpdateAccount(ctx, a.ID, func(c *storage.Account) error {
			c.Status, c.UpdatedAt = status, now
			return nil
		}); err != nil {
			return mapUpdateErr(err, a.ID)
		}
		e := storage.AuditEvent{
			OrgID: orgID, Action: "account.reactivate", TargetType: "account", TargetID: a.ID,
			Details: map[string]string{"email": a.Email},
		}
		res.Annotate(e.Details)
		if suspend {
			e.Action = "account.suspend"
			n, err := revokeAll(ctx, tx, a.ID, "", "suspended", now)
			if err != nil {
				return err
			}
			e.Details["sessions_revoked"] = strconv.Itoa(n)
			// Links mailed before the suspension must not work after a
			// reactivation either.
			for _, p := range []string{storage.PurposeReset, storage.PurposeInvite, storage.PurposeRecovery} {
				if err := tx.InvalidateTokens(ctx, a.ID, p, now); err != nil {
					return fmt.Errorf("account: invalidate links: %w", err)
				}
			}
		}
		return s.record(ctx, tx, now, e)
	})
	if err != nil {
		return storage.Account{}, err
	}
	return out, nil
}

// errLockOnly makes UpdateAccount take its row lock without writing.
var errLockOnly = errors.New("account: lock only")

// keepAnOwner returns ErrLastOwner unless orgID has an active owner besides
// except. It locks every owner row (in ID order, so two such checks cannot
// deadlock each other) before counting: two admins demoting the last two
// owners at once must not both see the other one still there.
func keepAnOwner(ctx context.Context, tx storage.Store, orgID, except string) error {
	accts, err := tx.ListAccounts(ctx, orgID)
	if err != nil {
		return fmt.Errorf("account: list owners: %w", err)
	}
	var ids []string
	for _, a := range accts {
		if a.Role == storage.RoleOwner {
			ids = append(ids, a.ID)
		}
	}
	slices.Sort(ids)
	others := 0
	for _, id := range ids {
		_, err := tx.UpdateAccount(ctx, id, func(a *storage.Account) error {
			if a.ID != except && a.Role == storage.RoleOwner && a.Status == storage.StatusActive {
				others++
			}
			return errLockOnly
		})
		if err != nil && !errors.Is(err, errLockOnly) && !errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("account: lock owners: %w", err)
		}
	}
	if others == 0 {
		return ErrLastOwner
	}
	return nil
}

// RevokeSessions ends every session of an organization's account (admin action).
func (s *Service) RevokeSessions(ctx context.Context, orgID, accountID string) (int, error) {
	if err := checkID("org_id", "organization", orgID); err != nil {
		return 0, err
	}
	now := s.clock()
	var n int
	err := s.store.InTx(ctx, func(tx storage.Store) error {
		if err := requireAdminFor(ctx, tx, orgID, false); err != nil {
			return err
		}
		a, err := memberOf(ctx, tx, orgID, accountID)
		if err != nil {
			return err
		}
		if err := authz.RequireOwnerForMember(ctx, tx, a); err != nil {
			return err
		}
		if n, err = revokeAll(ctx, tx, a.ID, "", "admin", now); err != nil {
			return err
		}
		return s.record(ctx, tx, now, storage.AuditEvent{
			OrgID: orgID, Action: "session.revoke_all", TargetType: "account", TargetID: a.ID,
			Details: map[string]string{"email": a.Email, "sessions_revoked": strconv.Itoa(n)},
		})
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// requireAdminFor refuses, before anything is read or written, an actor
// who may not change orgID's members (authz.ErrForbidden), and one who is
// not an owner when owner is set (authz.ErrOwnerOnly): granting ownership.
func requireAdminFor(ctx context.Context, tx storage.Store, orgID string, owner bool) error {
	if owner {
		_, err := authz.RequireOwner(ctx, tx, orgID)
		return err
	}
	_, err := authz.RequireAdmin(ctx, tx, orgID)
	return err
}

// oneForce accepts at most one lockout.Force (the optional trailing
// argument of SetRole and SetStatus) and validates its reason.
func oneForce(force []lockout.Force) (lockout.Force, error) {
	if len(force) > 1 {
		return lockout.Force{}, &InvalidInputError{Field: "force_reason", Message: "Give one force reason."}
	}
	if len(force) == 0 {
		return lockout.Force{}, nil
	}
	r, err := lockout.CheckReason(force[0].Reason)
	if err != nil {
		return lockout.Force{}, &InvalidInputError{Field: "force_reason", Message: err.Error()}
	}
	return lockout.Force{Reason: r}, nil
}
