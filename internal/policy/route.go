package policy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// Routing is the decision for one typed email, in two parts.
type Routing struct {
	// Email is the normalised address.
	Email string
	// OrgID is the organization that verified the email's domain, "" if
	// none did. Public: anyone can look up the TXT record.
	OrgID string
	// Page is what the sign-in pages show: it depends only on the email's
	// domain (the managing organization's default policy, and whether that
	// organization uses SSO at all), never on the account, so every address
	// of a domain — unknown, ordinary or break-glass — gets the same page.
	Page Decision
	// Account is the decision for the account itself (for an unknown email:
	// what the default policy would give a new account). The sign-in
	// engine uses it to pick the IdP connection and to refuse a first
	// factor the account may not use; pages never show it.
	Account Decision
	// Policy is the policy the account's decision was made under (the
	// default for an unknown email), nil if none: the engine takes the
	// session lifetimes from it.
	Policy *storage.Policy
	// EmergencyUntil is when the organization's emergency ends, when one is
	// in force and the emergency state says (EmergencyDeadlines); the page
	// shows it. Zero otherwise.
	EmergencyUntil time.Time
	// HasFactor: the account has a second factor enrolled (the lookup
	// SetFactors installed), so the sign-in engine need not ask again.
	HasFactor bool
}

// EmergencyDeadlines is optionally implemented by the Emergencies given to
// SetEmergencies: the latest end of the organization's emergencies in
// force, for the emergency page's "until …".
type EmergencyDeadlines interface {
	ActiveUntil(ctx context.Context, orgID string, now time.Time) (time.Time, error)
}

// Route decides how the person who typed email signs in. It returns an
// *account.InvalidInputError for something that is not an email address;
// otherwise only lookup failures are errors.
func (s *Service) Route(ctx context.Context, email string) (Routing, error) {
	norm, err := account.NormalizeEmail(email)
	if err != nil {
		return Routing{}, err
	}
	r := Routing{Email: norm}
	in := Input{}
	acct, err := s.store.GetAccountByEmail(ctx, norm)
	switch {
	case err == nil:
		in.Account = &acct
	case !errors.Is(err, storage.ErrNotFound):
		return Routing{}, fmt.Errorf("policy: route: look up account: %w", err)
	}
	if in.ManagedByOrg, err = ManagingOrg(ctx, s.store, norm); err != nil {
		return Routing{}, fmt.Errorf("policy: route: %w", err)
	}
	r.OrgID = in.ManagedByOrg
	if in.ManagedByOrg == "" {
		// No organization routes this domain, but an existing account is
		// still its organization's member: its policy's second-factor rule
		// (and break-glass status) applies, and a factor it enrolled is
		// asked for. Otherwise an owner kept outside the SSO domain as a
		// break-glass admin would sign in with the password alone.
		if err := s.unmanagedAccountState(ctx, &in); err != nil {
			return Routing{}, err
		}
		r.Policy = in.Policy
		r.Account, r.HasFactor = Decide(in), in.HasFactor
		r.Page = Decide(Input{}).Public()
		return r, nil
	}

	policies, err := s.store.ListPolicies(ctx, in.ManagedByOrg)
	if err != nil {
		return Routing{}, fmt.Errorf("policy: route: policies: %w", err)
	}
	var def *storage.Policy
	for i := range policies {
		if policies[i].IsDefault {
			def = &policies[i]
		}
	}
	conns := map[string]*storage.IdPConnection{}
	connection := func(p *storage.Policy) (*storage.IdPConnection, error) {
		if p == nil || p.SSO == storage.SSOOff || p.ConnectionID == "" {
			return nil, nil
		}
		if c, ok := conns[p.ConnectionID]; ok {
			return c, nil
		}
		c, err := s.store.GetIdPConnection(ctx, p.ConnectionID)
		switch {
		case errors.Is(err, storage.ErrNotFound):
			conns[p.ConnectionID] = nil
			return nil, nil
		case err != nil:
			return nil, fmt.Errorf("policy: route: IdP connection: %w", err)
		}
		conns[p.ConnectionID] = &c
		return &c, nil
	}

	// A new account of the domain falls under the policy naming the
	// domain, else the default (the order PolicyFor resolves once the
	// account exists); the page is decided as for such an account, so it
	// says nothing about who has an account.
	if _, dom, ok := strings.Cut(norm, "@"); ok {
		p, err := s.store.DomainPolicy(ctx, in.ManagedByOrg, dom)
		switch {
		case err == nil:
			def = &p
		case !errors.Is(err, storage.ErrNotFound):
			return Routing{}, fmt.Errorf("policy: route: domain policy: %w", err)
		}
	}
	defConn, err := connection(def)
	if err != nil {
		return Routing{}, err
	}
	now := s.clock()
	in.Now = now
	if s.emergencies != nil {
		if in.EmergencyInOrg, err = s.emergencies.ActiveInOrg(ctx, in.ManagedByOrg, now); err != nil {
			return Routing{}, fmt.Errorf("policy: route: emergencies: %w", err)
		}
		if dl, ok := s.emergencies.(EmergencyDeadlines); ok && in.EmergencyInOrg {
			if r.EmergencyUntil, err = dl.ActiveUntil(ctx, in.ManagedByOrg, now); err != nil {
				return Routing{}, fmt.Errorf("policy: route: emergency deadline: %w", err)
			}
		}
	}
	r.Page = Decide(Input{ManagedByOrg: in.ManagedByOrg, Policy: def, Connection: defConn}).Public()
	if r.Page.Method == MethodPassword {
		// The default keeps the password, but a named policy may send some
		// people through SSO: offer the button to the whole domain, so
		// those people find it and nobody learns who they are.
		for i := range policies {
			c, err := connection(&policies[i])
			if err != nil {
				return Routing{}, err
			}
			if c != nil {
				r.Page = Decision{Method: MethodChoice, ConnectionSlug: c.Slug, Reason: r.Page.Reason}
				break
			}
		}
	}
	r.Page = emergencyPage(r.Page, in.EmergencyInOrg)

	// The account: its own policy (an unknown email falls under its
	// domain's policy or the default, so JIT provisioning works where SSO
	// is enforced).
	in.Policy = def
	if in.Account != nil {
		if in.Account.OrgID != in.ManagedByOrg {
			in.Policy = nil // managed by another org: Decide answers unmanaged
		} else {
			p, err := s.store.PolicyFor(ctx, in.Account.OrgID, in.Account.ID)
			switch {
			case errors.Is(err, storage.ErrNotFound):
				in.Policy = nil // no default yet: Decide answers password
			case err != nil:
				return Routing{}, fmt.Errorf("policy: route: policy: %w", err)
			default:
				in.Policy = &p
			}
		}
	}
	if in.Connection, err = connection(in.Policy); err != nil {
		return Routing{}, err
	}
	if err := s.accountState(ctx, &in); err != nil {
		return Routing{}, err
	}
	r.Policy = in.Policy
	r.Account, r.HasFactor = Decide(in), in.HasFactor
	if r.Account.Reason == ReasonConnectionMissing {
		// Never a dead end, but an admin should hear about it.
		s.log.WarnContext(ctx, "SSO policy names a missing IdP connection; offering the password form",
			"org_id", in.ManagedByOrg, "policy", in.Policy.Name)
	}
	return r, nil
}

// accountState looks up what the account's decision needs beyond its
// policy: the emergency covering the policy, the latest SSO sign-in (only
// then: it decides eligibility) and whether a second factor is enrolled.
func (s *Service) accountState(ctx context.Context, in *Input) error {
	if in.Account == nil || in.Policy == nil {
		return nil
	}
	if s.emergencies != nil && in.EmergencyInOrg {
		em, ok, err := s.emergencies.ActiveFor(ctx, in.ManagedByOrg, in.Policy.ID, in.Now)
		if err != nil {
			return fmt.Errorf("policy: route: emergency: %w", err)
		}
		if ok {
			in.Emergency = &em
			if in.LastSSO, err = LastSSO(ctx, s.store, in.Account.ID); err != nil {
				return fmt.Errorf("policy: route: %w", err)
			}
		}
	}
	if s.factors != nil {
		has, err := s.factors(ctx, in.Account.ID)
		if err != nil {
			return fmt.Errorf("policy: route: second factor: %w", err)
		}
		in.HasFactor = has
	}
	return nil
}

// unmanagedAccountState fills in the policy and the second-factor state
// of an account whose domain no organization verified. The policy is the
// account's own organization's; Decide takes only its MFA rule from it.
func (s *Service) unmanagedAccountState(ctx context.Context, in *Input) error {
	if in.Account == nil || in.Account.OrgID == "" {
		return nil
	}
	p, err := s.store.PolicyFor(ctx, in.Account.OrgID, in.Account.ID)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		in.Policy = nil
	case err != nil:
		return fmt.Errorf("policy: route: policy: %w", err)
	default:
		in.Policy = &p
	}
	return s.accountState(ctx, in)
}

// FactorLookup reports whether an account has a second factor enrolled.
type FactorLookup func(ctx context.Context, accountID string) (bool, error)

// SetFactors installs the second-factor lookup Route consults (the MFA
// service's TOTPEnrolled). Without it no account counts as enrolled, and
// only the policy (MFA required, break-glass) asks for a second factor.
func (s *Service) SetFactors(f FactorLookup) { s.factors = f }
