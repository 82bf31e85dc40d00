package policy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/lockout"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// DefaultName is the name of the policy EnsureDefault creates.
const DefaultName = "Default"

// DefaultRef names the organization's default policy (in any case)
// wherever a policy is named — API paths, CLI flags, console URLs — whatever
// its stored name, and whether or not it is stored yet. The service is the
// one place that resolves it.
const DefaultRef = "default"

// IsDefaultRef reports whether ref names the default policy.
func IsDefaultRef(ref string) bool {
	return strings.EqualFold(strings.TrimSpace(ref), DefaultRef)
}

// maxNameLen bounds policy names: they are shown in the console.
const maxNameLen = 100

// Service manages an organization's policies and routes sign-ins.
type Service struct {
	store storage.Store
	log   *slog.Logger
	now   func() time.Time

	emergencies Emergencies  // nil: no emergency is ever in force
	factors     FactorLookup // nil: nobody has a second factor enrolled
	// health, when set (SetHealth), says whether a tested connection
	// needs a new test before SSO is enforced through it.
	health FreshTestChecker
	// secondFactor proves break-glass owners to lockout.Check; see
	// SetSecondFactor. (factors serves the sign-in decision; production
	// wires the same lookup into both.)
	secondFactor lockout.SecondFactorFunc
}

// SetSecondFactor installs the second-factor lookup lockout.Check uses to
// prove a break-glass owner (at wiring). Without it nobody is proven, so a
// change that needs a break-glass owner is refused unless forced.
func (s *Service) SetSecondFactor(f lockout.SecondFactorFunc) { s.secondFactor = f }

// FreshTestChecker is SSO health (internal/health.Service): whether a
// connection has failed since its last test sign-in.
type FreshTestChecker interface {
	NeedsFreshTest(ctx context.Context, connectionID string) (bool, string, error)
}

// SetHealth installs the checker (optional; at wiring). With it, enforcing
// SSO through a connection with an open incident, or whose last sign-in
// failed, needs a test sign-in made after that (force overrides, audited).
func (s *Service) SetHealth(h FreshTestChecker) { s.health = h }

// checkFresh refuses enforcing SSO through conn when health says its last
// test is stale; force overrides and the override lands in details.
func (s *Service) checkFresh(ctx context.Context, conn storage.IdPConnection, force bool, details map[string]string) error {
	if s.health == nil {
		return nil
	}
	need, reason, err := s.health.NeedsFreshTest(ctx, conn.ID)
	if err != nil {
		return fmt.Errorf("policy: SSO health of %q: %w", conn.Slug, err)
	}
	if !need {
		return nil
	}
	if !force {
		return staleTest(conn, reason)
	}
	details["override"], details["override_reason"] = "stale_test", reason
	return nil
}

// New returns a Service. log and now may be nil (discard, time.Now).
func New(store storage.Store, log *slog.Logger, now func() time.Time) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, log: log, now: now}
}

// clock is now at storage precision, so returned records equal later reads.
func (s *Service) clock() time.Time { return storage.Truncate(s.now()) }

// UpdateInput changes a policy; nil fields stay as they are.
type UpdateInput struct {
	SSO *string // storage.SSOEnforced, SSOOptional or SSOOff
	// Connection is a connection slug or ID of the same organization; ""
	// clears it (only valid with SSO off).
	Connection *string
	// Force enforces SSO through a connection nobody has test-signed-in
	// through. It is allowed, and audited as an override.
	Force bool
	// ForceReason lets a change through that would leave no owner able to
	// sign in without the IdP (lockout.Check); it is audited with the
	// change. "" refuses such a change with a *lockout.Error.
	ForceReason string
	// Settings change MFA, failback, session lifetimes and IdP groups.
	Settings
}

// CreateInput describes a new named policy.
type CreateInput struct {
	Name string
	SSO  string // storage.SSOEnforced, SSOOptional or SSOOff
	// Connection (slug or ID) is required unless SSO is off.
	Connection string
	// Force enforces SSO through a connection nobody has test-signed-in
	// through yet; the override is audited.
	Force bool
	// Lockout (at most one) lets a policy be created enforcing SSO
	// although no break-glass owner with a second factor would remain;
	// its reason is audited.
	Lockout []lockout.Force
	Settings
}

// List returns the organization's policies, the default first.
func (s *Service) List(ctx context.Context, orgID string) ([]storage.Policy, error) {
	ps, err := s.store.ListPolicies(ctx, orgID)
	if err != nil {
		return nil, fmt.Errorf("policy: list policies: %w", err)
	}
	return ps, nil
}

// Get returns the organization's policy by name or ID; DefaultRef names
// the default policy (account.ErrNotFound while none is stored).
func (s *Service) Get(ctx context.Context, orgID, nameOrID string) (storage.Policy, error) {
	return s.find(ctx, s.store, orgID, nameOrID)
}

// GetForChange is Get for a caller about to change the policy: the
// default policy, which exists in principle (an organization without one
// signs everybody in with a password, as SSO off would), is stored with SSO
// off first if the organization has none yet.
func (s *Service) GetForChange(ctx context.Context, orgID, nameOrID string) (storage.Policy, error) {
	p, err := s.Get(ctx, orgID, nameOrID)
	if errors.Is(err, account.ErrNotFound) && IsDefaultRef(nameOrID) {
		return s.EnsureDefault(ctx, orgID)
	}
	return p, err
}

// Members returns the IDs of the accounts explicitly under the policy
// (accounts that fall to the default are not listed).
func (s *Service) Members(ctx context.Context, orgID, nameOrID string) ([]string, error) {
	p, err := s.find(ctx, s.store, orgID, nameOrID)
	if err != nil {
		return nil, err
	}
	ids, err := s.store.ListPolicyMembers(ctx, orgID, p.ID)
	if err != nil {
		return nil, fmt.Errorf("policy: list members of %q: %w", p.Name, err)
	}
	return ids, nil
}

// EnsureDefault returns the organization's default policy, creating it
// (SSO off) if it has none. Safe to call concurrently and repeatedly.
func (s *Service) EnsureDefault(ctx context.Context, orgID string) (storage.Policy, error) {
	var p storage.Policy
	err := s.store.InTx(ctx, func(tx storage.Store) error {
		var err error
		p, err = s.ensureDefaultTx(ctx, tx, orgID, s.clock())
		return err
	})
	if errors.Is(err, storage.ErrConflict) {
		// Another node created it between our read and our insert.
		return s.defaultPolicy(ctx, s.store, orgID)
	}
	return p, err
}

func (s *Service) ensureDefaultTx(ctx context.Context, tx storage.Store, orgID string, now time.Time) (storage.Policy, error) {
	p, err := s.defaultPolicy(ctx, tx, orgID)
	if err == nil || !errors.Is(err, account.ErrNotFound) {
		return p, err
	}
	if _, err := tx.GetOrganization(ctx, orgID); err != nil {
		return p, mapErr(err, "organization "+quote(orgID))
	}
	p = storage.Policy{
		ID: uuid.NewString(), OrgID: orgID, Name: DefaultName, IsDefault: true, SSO: storage.SSOOff,
		CreatedAt: now, UpdatedAt: now, Version: 1,
	}
	if err := tx.CreatePolicy(ctx, p); err != nil {
		return p, fmt.Errorf("policy: create default policy: %w", err)
	}
	err = s.record(ctx, tx, now, storage.AuditEvent{
		OrgID: orgID, Action: "policy.create", TargetType: "policy", TargetID: p.ID,
		Details: map[string]string{"name": p.Name, "sso": p.SSO, "default": "true"},
	})
	return p, err
}

// defaultPolicy finds the org's default; account.ErrNotFound if none.
func (s *Service) defaultPolicy(ctx context.Context, st storage.Policies, orgID string) (storage.Policy, error) {
	ps, err := st.ListPolicies(ctx, orgID)
	if err != nil {
		return storage.Policy{}, fmt.Errorf("policy: list policies: %w", err)
	}
	for _, p := range ps {
		if p.IsDefault {
			return p, nil
		}
	}
	return storage.Policy{}, mapErr(storage.ErrNotFound, "default policy")
}

// Create adds a named policy. sso is storage.SSOEnforced, SSOOptional or
// SSOOff; connection (slug or ID) is required unless SSO is off. Enforcing
// at creation needs a tested connection (CreateForced overrides).
//
// A policy created enforcing SSO needs a break-glass owner with a second
// factor (lockout.Check); force (at most one) with a reason overrides.
func (s *Service) Create(ctx context.Context, orgID, name, sso, connection string, force ...lockout.Force) (storage.Policy, error) {
	return s.CreateWith(ctx, orgID, CreateInput{Name: name, SSO: sso, Connection: connection, Lockout: force})
}

// CreateForced is Create that may enforce SSO through a connection nobody
// has test-signed-in through yet; the override is recorded on the
// policy.create event, in the same transaction as the policy.
func (s *Service) CreateForced(ctx context.Context, orgID, name, sso, connection string, force ...lockout.Force) (storage.Policy, error) {
	return s.CreateWith(ctx, orgID, CreateInput{Name: name, SSO: sso, Connection: connection, Force: true, Lockout: force})
}

// CreateWith adds a named policy with its settings (Create's rules; nil
// settings take their defaults). The settings and groups are recorded on
// the policy.create event.
func (s *Service) CreateWith(ctx context.Context, orgID string, in CreateInput) (storage.Policy, error) {
	name, sso, connection, force := in.Name, in.SSO, in.Connection, in.Force
	f, err := oneForce(in.Lockout)
	if err != nil {
		return storage.Policy{}, err
	}
	name, err = cleanName(name)
	if err != nil {
		return storage.Policy{}, err
	}
	if err := checkSSO(sso); err != nil {
		return storage.Policy{}, err
	}
	add, err := cleanGroups(in.AddGroups, "add_groups")
	if err != nil {
		return storage.Policy{}, err
	}
	now := s.clock()
	p := storage.Policy{ID: uuid.NewString(), OrgID: orgID, Name: name, SSO: sso, CreatedAt: now, UpdatedAt: now, Version: 1}
	settings, err := in.Settings.apply(&p)
	if err != nil {
		return storage.Policy{}, err
	}
	err = s.store.InTx(ctx, func(tx storage.Store) error {
		// Fail closed: only an actor who may change orgID gets further.
		if _, err := authz.RequireAdmin(ctx, tx, orgID); err != nil {
			return err
		}
		if _, err := s.ensureDefaultTx(ctx, tx, orgID, now); err != nil {
			return err
		}
		var conn storage.IdPConnection
		if connection != "" {
			if conn, err = findConnection(ctx, tx, orgID, connection); err != nil {
				return err
			}
			p.ConnectionID = conn.ID
		}
		if err := checkConnection(p); err != nil {
			return err
		}
		details := map[string]string{"name": p.Name, "sso": p.SSO, "connection": conn.Slug}
		for k, v := range settings {
			details[k] = v
		}
		if p.SSO == storage.SSOEnforced && conn.TestedAt.IsZero() {
			if !force {
				return untested(conn)
			}
			details["override"] = "untested_connection"
		}
		if p.SSO == storage.SSOEnforced && !conn.TestedAt.IsZero() {
			if err := s.checkFresh(ctx, conn, force, details); err != nil {
				return err
			}
		}
		// Checked first: a failing INSERT would poison a PostgreSQL tx, and
		// the message should name the policy.
		if _, err := tx.GetPolicyByName(ctx, orgID, name); err == nil {
			return mapErr(storage.ErrConflict, "a policy named "+quote(name))
		}
		// A new policy has no members, but one created enforcing SSO is
		// enforcing SSO all the same: it needs a break-glass owner.
		res, err := lockout.Check(ctx, tx, orgID, func(c *lockout.Config) { c.Policies = append(c.Policies, p) }, f, s.secondFactor)
		if err != nil {
			return err
		}
		res.Annotate(details)
		if err := tx.CreatePolicy(ctx, p); err != nil {
			return mapErr(err, "a policy named "+quote(name))
		}
		if err := applyGroups(ctx, tx, p, add, nil, details); err != nil {
			return err
		}
		return s.record(ctx, tx, now, storage.AuditEvent{
			OrgID: orgID, Action: "policy.create", TargetType: "policy", TargetID: p.ID, Details: details,
		})
	})
	if err != nil {
		return storage.Policy{}, err
	}
	return p, nil
}

// Update changes a policy's SSO mode and connection. Enforcing SSO (turning
// it on, or pointing an enforced policy at another connection) is refused
// unless an admin completed a test sign-in through the connection, because
// a wrong certificate or entity ID would otherwise lock every member out;
// in.Force overrides, and the override is audited.
func (s *Service) Update(ctx context.Context, orgID, nameOrID string, in UpdateInput) (storage.Policy, error) {
	force, err := checkForce(in.ForceReason)
	if err != nil {
		return storage.Policy{}, err
	}
	if in.SSO != nil {
		if err := checkSSO(*in.SSO); err != nil {
			return storage.Policy{}, err
		}
	}
	add, err := cleanGroups(in.AddGroups, "add_groups")
	if err != nil {
		return storage.Policy{}, err
	}
	remove, err := cleanGroups(in.RemoveGroups, "remove_groups")
	if err != nil {
		return storage.Policy{}, err
	}
	now := s.clock()
	var out storage.Policy
	err = s.store.InTx(ctx, func(tx storage.Store) error {
		// Fail closed: only an actor who may change orgID gets further.
		if _, err := authz.RequireAdmin(ctx, tx, orgID); err != nil {
			return err
		}
		cur, err := s.find(ctx, tx, orgID, nameOrID)
		if err != nil {
			return err
		}
		next := cur
		var conn storage.IdPConnection
		if in.Connection != nil && *in.Connection != "" {
			if conn, err = findConnection(ctx, tx, orgID, *in.Connection); err != nil {
				return err
			}
			next.ConnectionID = conn.ID
		} else if in.Connection != nil {
			next.ConnectionID = ""
		} else if next.ConnectionID != "" {
			if conn, err = tx.GetIdPConnection(ctx, next.ConnectionID); err != nil || conn.OrgID != orgID {
				return mapErr(storage.ErrNotFound, "the policy's IdP connection")
			}
		}
		if in.SSO != nil {
			next.SSO = *in.SSO
		}
		if err := checkConnection(next); err != nil {
			return err
		}
		settings, err := in.Settings.apply(&next)
		if err != nil {
			return err
		}
		ssoChanged := next.SSO != cur.SSO || next.ConnectionID != cur.ConnectionID
		if !ssoChanged && len(settings) == 0 && len(add)+len(remove) == 0 {
			out = cur // nothing to change, nothing to audit
			return nil
		}
		if (ssoChanged && next.SSO != storage.SSOOff) || len(settings) > 0 {
			// Sending an owner's sign-in through a connection, or changing
			// how an owner signs in (MFA, failback, lifetimes), is an
			// owner's call.
			if err := authz.RequireOwnerForPolicy(ctx, tx, orgID, cur.ID); err != nil {
				return err
			}
		}
		if err := requireOwnerForGroups(ctx, tx, orgID, append(slices.Clone(add), remove...)); err != nil {
			return err
		}
		details := map[string]string{
			"name": cur.Name, "sso": next.SSO, "previous_sso": cur.SSO, "connection": conn.Slug,
		}
		for k, v := range settings {
			details[k] = v
		}
		if ssoChanged && next.SSO == storage.SSOEnforced && conn.TestedAt.IsZero() {
			if !in.Force {
				return untested(conn)
			}
			details["override"] = "untested_connection"
		}
		// Only (re-)enforcing needs the fresh test: changing a setting of a
		// policy that already enforces SSO, such as opting in to automatic
		// failback during the very incident, must not be refused by it.
		if ssoChanged && next.SSO == storage.SSOEnforced && !conn.TestedAt.IsZero() {
			if err := s.checkFresh(ctx, conn, in.Force, details); err != nil {
				return err
			}
		}
		res, err := lockout.Check(ctx, tx, orgID, func(c *lockout.Config) {
			if p := c.Policy(cur.ID); p != nil {
				p.SSO, p.ConnectionID = next.SSO, next.ConnectionID
				p.MFA, p.Failback = next.MFA, next.Failback
			}
			if len(add)+len(remove) > 0 {
				if c.PolicyGroups == nil {
					c.PolicyGroups = map[string][]string{}
				}
				gs := slices.DeleteFunc(slices.Clone(c.PolicyGroups[cur.ID]), func(g string) bool { return slices.Contains(remove, g) })
				for _, g := range add {
					if !slices.Contains(gs, g) {
						gs = append(gs, g)
					}
				}
				c.PolicyGroups[cur.ID] = gs
			}
		}, force, s.secondFactor)
		if err != nil {
			return err
		}
		res.Annotate(details)
		out, err = tx.UpdatePolicy(ctx, orgID, cur.ID, func(p *storage.Policy) error {
			if p.Version != cur.Version {
				return fmt.Errorf("policy %q changed meanwhile: %w", cur.Name, storage.ErrConflict)
			}
			p.SSO, p.ConnectionID, p.UpdatedAt = next.SSO, next.ConnectionID, now
			p.Failback, p.MFA, p.IdleTimeout, p.MaxLifetime = next.Failback, next.MFA, next.IdleTimeout, next.MaxLifetime
			p.FailbackWindowDays, p.AutoFailbackAfter = next.FailbackWindowDays, next.AutoFailbackAfter
			return nil
		})
		if err != nil {
			return fmt.Errorf("policy: update %q: %w", cur.Name, err)
		}
		if err := applyGroups(ctx, tx, cur, add, remove, details); err != nil {
			return err
		}
		return s.record(ctx, tx, now, storage.AuditEvent{
			OrgID: orgID, Action: "policy.update", TargetType: "policy", TargetID: cur.ID, Details: details,
		})
	})
	if err != nil {
		return storage.Policy{}, err
	}
	return out, nil
}

// Delete removes a named policy; its members fall back to the default.
// It is refused with a *lockout.Error when that leaves no owner able to
// sign in without the IdP, unless force (at most one) carries a reason.
func (s *Service) Delete(ctx context.Context, orgID, nameOrID string, force ...lockout.Force) error {
	f, err := oneForce(force)
	if err != nil {
		return err
	}
	now := s.clock()
	return s.store.InTx(ctx, func(tx storage.Store) error {
		// Fail closed: only an actor who may change orgID gets further.
		if _, err := authz.RequireAdmin(ctx, tx, orgID); err != nil {
			return err
		}
		p, err := s.find(ctx, tx, orgID, nameOrID)
		if err != nil {
			return err
		}
		if p.IsDefault {
			return ErrDefaultPolicy
		}
		res, err := lockout.Check(ctx, tx, orgID, func(c *lockout.Config) { c.RemovePolicy(p.ID) }, f, s.secondFactor)
		if err != nil {
			return err
		}
		if err := tx.DeletePolicy(ctx, orgID, p.ID); err != nil {
			return mapErr(err, "policy "+quote(nameOrID))
		}
		details := map[string]string{"name": p.Name}
		res.Annotate(details)
		return s.record(ctx, tx, now, storage.AuditEvent{
			OrgID: orgID, Action: "policy.delete", TargetType: "policy", TargetID: p.ID,
			Details: details,
		})
	})
}

// RemoveMember sends the organization's account with the email, which
// must be explicitly under the policy nameOrID, back to the default
// policy (account.ErrNotFound if it is not under it). force is passed on to
// SetMember.
func (s *Service) RemoveMember(ctx context.Context, orgID, nameOrID, email string, force ...lockout.Force) error {
	p, err := s.Get(ctx, orgID, nameOrID)
	if err != nil {
		return err
	}
	norm, err := account.NormalizeEmail(email)
	if err != nil {
		return err
	}
	acct, err := s.store.GetAccountByEmail(ctx, norm)
	if err == nil && acct.OrgID != orgID {
		err = storage.ErrNotFound // another org's account reads as missing
	}
	if err != nil {
		return mapErr(err, "account "+quote(norm))
	}
	ids, err := s.store.ListPolicyMembers(ctx, orgID, p.ID)
	if err != nil {
		return fmt.Errorf("policy: list members of %q: %w", p.Name, err)
	}
	if !slices.Contains(ids, acct.ID) {
		return fmt.Errorf("%w %s is not a member of the policy %q.", account.ErrNotFound, acct.Email, p.Name)
	}
	return s.SetMember(ctx, orgID, acct.Email, "", force...)
}

// SetMember puts the organization's account with the email under the
// named policy; policyName "" or DefaultRef sends it back to the default
// policy. It is
// refused with a *lockout.Error when that leaves no owner able to sign in
// without the IdP, unless force (at most one) carries a reason.
func (s *Service) SetMember(ctx context.Context, orgID, email, policyName string, force ...lockout.Force) error {
	f, err := oneForce(force)
	if err != nil {
		return err
	}
	norm, err := account.NormalizeEmail(email)
	if err != nil {
		return err
	}
	now := s.clock()
	return s.store.InTx(ctx, func(tx storage.Store) error {
		// Fail closed: only an actor who may change orgID gets further.
		if _, err := authz.RequireAdmin(ctx, tx, orgID); err != nil {
			return err
		}
		acct, err := tx.GetAccountByEmail(ctx, norm)
		if err == nil && acct.OrgID != orgID {
			err = storage.ErrNotFound // another org's account reads as missing
		}
		if err != nil {
			return mapErr(err, "account "+quote(norm))
		}
		if err := authz.RequireOwnerForMember(ctx, tx, acct); err != nil {
			return err
		}
		policyID, shown := "", DefaultName+" (default)"
		if policyName != "" && !IsDefaultRef(policyName) {
			p, err := s.find(ctx, tx, orgID, policyName)
			if err != nil {
				return err
			}
			policyID, shown = p.ID, p.Name
			if p.IsDefault {
				policyID = "" // no explicit membership in the catch-all
			}
		}
		res, err := lockout.Check(ctx, tx, orgID, func(c *lockout.Config) {
			if policyID == "" {
				delete(c.Members, acct.ID)
			} else {
				c.Members[acct.ID] = policyID
			}
		}, f, s.secondFactor)
		if err != nil {
			return err
		}
		if err := tx.SetPolicyMember(ctx, orgID, acct.ID, policyID); err != nil {
			return mapErr(err, "account "+quote(norm))
		}
		details := map[string]string{"email": norm, "policy": shown, "policy_id": policyID}
		res.Annotate(details)
		return s.record(ctx, tx, now, storage.AuditEvent{
			OrgID: orgID, Action: "policy.member_set", TargetType: "account", TargetID: acct.ID,
			Details: details,
		})
	})
}

// Lockout reports which of the organization's owners and admins can sign
// in without the IdP, and whether the organization is safe (lockout.Evaluate
// on the stored configuration).
func (s *Service) Lockout(ctx context.Context, orgID string) (lockout.Report, error) {
	c, err := lockout.Load(ctx, s.store, orgID)
	if err != nil {
		return lockout.Report{}, fmt.Errorf("policy: %w", err)
	}
	return lockout.Evaluate(c), nil
}

// find returns the org's policy by ID, else by name.
func (s *Service) find(ctx context.Context, st storage.Policies, orgID, nameOrID string) (storage.Policy, error) {
	if strings.TrimSpace(nameOrID) == "" {
		return storage.Policy{}, invalid("policy", "Name the policy.")
	}
	if IsDefaultRef(nameOrID) {
		ps, err := st.ListPolicies(ctx, orgID)
		if err != nil {
			return storage.Policy{}, fmt.Errorf("policy: list policies: %w", err)
		}
		for _, p := range ps {
			if p.IsDefault {
				return p, nil
			}
		}
		return storage.Policy{}, fmt.Errorf("%w The organization has no default policy yet; it is created, with SSO off, the first time one is set.", account.ErrNotFound)
	}
	p, err := st.GetPolicy(ctx, orgID, nameOrID)
	if errors.Is(err, storage.ErrNotFound) {
		p, err = st.GetPolicyByName(ctx, orgID, strings.TrimSpace(nameOrID))
	}
	if err != nil {
		return p, mapErr(err, "policy "+quote(nameOrID))
	}
	return p, nil
}

// findConnection returns the org's connection by slug, else by ID. Another
// organization's connection reads as missing.
func findConnection(ctx context.Context, st storage.IdPConnections, orgID, slugOrID string) (storage.IdPConnection, error) {
	c, err := st.GetIdPConnectionBySlug(ctx, slugOrID)
	if err != nil || c.OrgID != orgID {
		c, err = st.GetIdPConnection(ctx, slugOrID)
	}
	if err == nil && c.OrgID != orgID {
		err = storage.ErrNotFound
	}
	if err != nil {
		return c, mapErr(err, "IdP connection "+quote(slugOrID))
	}
	return c, nil
}

func checkSSO(sso string) error {
	switch sso {
	case storage.SSOEnforced, storage.SSOOptional, storage.SSOOff:
		return nil
	}
	return invalid("sso", `SSO must be "enforced", "optional" or "off".`)
}

func checkConnection(p storage.Policy) error {
	if p.SSO != storage.SSOOff && p.ConnectionID == "" {
		return invalid("connection", "Choose the IdP connection members sign in through.")
	}
	return nil
}

func cleanName(name string) (string, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return "", invalid("name", "Give the policy a name.")
	case IsDefaultRef(name) || strings.EqualFold(name, DefaultName):
		// "default" names the default policy wherever a policy is named
		// (API paths, CLI flags); a named policy by that name would shadow it.
		return "", invalid("name", `"default" names the organization's default policy, which always exists; change it instead of creating one.`)
	case !utf8.ValidString(name) || strings.ContainsFunc(name, unicode.IsControl):
		return "", invalid("name", "The policy name contains characters that are not allowed.")
	case utf8.RuneCountInString(name) > maxNameLen:
		return "", invalid("name", fmt.Sprintf("The policy name must be at most %d characters.", maxNameLen))
	case !nameShape(name):
		return "", invalid("name", "A policy name starts with a letter or digit and contains only letters, digits, spaces, dashes (-), underscores (_) and dots (.), like \"Break glass\" or \"eng-contractors\".")
	}
	return name, nil
}

// nameShape is the slug-like rule for policy names: a letter or digit
// first, then letters, digits, spaces, '-', '_' and '.'. Names are path
// segments of the API (/api/v1/policies/{name}) and CLI arguments, so "..",
// "a/b", "%2F" or a leading "-" must never be one; spaces and letters of
// any script stay allowed, since people read these names in the console.
func nameShape(name string) bool {
	for i, r := range name {
		alnum := unicode.IsLetter(r) || unicode.IsDigit(r)
		if i == 0 && !alnum {
			return false
		}
		if !alnum && r != ' ' && r != '-' && r != '_' && r != '.' {
			return false
		}
	}
	return true
}

// record writes an audit event through tx with the service's clock.
func (s *Service) record(ctx context.Context, tx storage.Audit, now time.Time, e storage.AuditEvent) error {
	e.Time = now
	if err := audit.Record(ctx, tx, e); err != nil {
		return fmt.Errorf("policy: %w", err)
	}
	return nil
}
