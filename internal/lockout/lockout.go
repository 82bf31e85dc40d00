// Package lockout answers the one question Gatehouse exists for: can the
// organization still get into its own console when its IdP is down or
// misconfigured? It holds a pure evaluation of an organization's sign-in
// configuration (Evaluate) and the guard every configuration change runs
// inside its transaction before writing (Check).
//
// An owner or admin "can sign in without the IdP" when they are active,
// have a password, and the sign-in decision (policy.Decide) offers them the
// password form: their email's domain is not verified by the organization,
// or their policy has SSO off or optional, or it names a connection that is
// gone (Decide degrades to the password form then). The organization is
// safe when at least one owner can. The rule is restated here rather than
// imported because policy imports this package; a test in internal/policy
// cross-checks the two for a table of cases.
//
// The package is a leaf: it imports only internal/storage and the standard
// library, so the account, domain, idp and policy services can all call it.
package lockout

import (
	"cmp"
	"slices"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// Reasons a Person can or cannot sign in without the IdP. They mirror the
// policy package's decision reasons, plus the account-level ones.
const (
	ReasonUnmanagedDomain   = "unmanaged_domain"   // the email's domain is not verified by the org: password
	ReasonNoPolicy          = "no_policy"          // managed, but the org has no default policy yet: password
	ReasonSSOOff            = "sso_off"            // the policy does not use SSO: password
	ReasonSSOOptional       = "sso_optional"       // the policy offers the password beside SSO
	ReasonConnectionMissing = "connection_missing" // the policy's connection is gone: Decide offers the password form
	ReasonInvalidPolicy     = "invalid_policy"     // unknown SSO mode: Decide offers the password form
	ReasonSSOEnforced       = "sso_enforced"       // only the IdP: locked out when it fails
	ReasonNoPassword        = "no_password"        // the account never set a password
	ReasonSuspended         = "suspended"          // the account may not sign in at all
)

// Config is the part of an organization's configuration that decides how
// its owners and admins sign in. Load reads it from storage; a change under
// Check edits a copy of it the way the write is about to edit the database.
type Config struct {
	OrgID    string
	Accounts []storage.Account
	// VerifiedDomains are the names this organization has verified; an
	// account whose domain is not among them is not managed by it (a name
	// verified by another organization does not manage this org's accounts
	// either, so only this org's verifications matter).
	VerifiedDomains []string
	Policies        []storage.Policy // the default among them
	// Members maps an account ID to the ID of the named (non-default)
	// policy it is explicitly under; accounts not listed fall to the default.
	Members     map[string]string
	Connections []storage.IdPConnection
	// PolicyGroups maps a policy ID to the IdP groups it covers, and
	// Groups an account ID to its synced IdP groups:
	// an account that is no explicit member falls under the first policy
	// by name naming one of its groups, as storage's PolicyFor resolves.
	PolicyGroups map[string][]string
	Groups       map[string][]string
	// PolicyDomains maps a policy ID to the email domains it names: an
	// account that neither membership nor group places falls under the
	// policy naming its email's domain, as storage's PolicyFor resolves.
	PolicyDomains map[string][]string
}

// Clone returns a deep copy that a change may edit freely.
func (c Config) Clone() Config {
	out := c
	out.Accounts = slices.Clone(c.Accounts)
	out.VerifiedDomains = slices.Clone(c.VerifiedDomains)
	out.Policies = slices.Clone(c.Policies)
	out.Connections = slices.Clone(c.Connections)
	out.Members = make(map[string]string, len(c.Members))
	for k, v := range c.Members {
		out.Members[k] = v
	}
	out.PolicyGroups = cloneGroups(c.PolicyGroups)
	out.Groups = cloneGroups(c.Groups)
	out.PolicyDomains = cloneGroups(c.PolicyDomains)
	return out
}

// Account returns a pointer to the account with id, nil if absent.
func (c *Config) Account(id string) *storage.Account {
	for i := range c.Accounts {
		if c.Accounts[i].ID == id {
			return &c.Accounts[i]
		}
	}
	return nil
}

// Policy returns a pointer to the policy with id, nil if absent.
func (c *Config) Policy(id string) *storage.Policy {
	for i := range c.Policies {
		if c.Policies[i].ID == id {
			return &c.Policies[i]
		}
	}
	return nil
}

// RemovePolicy drops the policy and sends its members to the default, as
// deleting it does.
func (c *Config) RemovePolicy(id string) {
	c.Policies = slices.DeleteFunc(c.Policies, func(p storage.Policy) bool { return p.ID == id })
	for a, p := range c.Members {
		if p == id {
			delete(c.Members, a)
		}
	}
	delete(c.PolicyGroups, id)
	delete(c.PolicyDomains, id)
}

// RemoveAccount drops the account and its policy membership.
func (c *Config) RemoveAccount(id string) {
	c.Accounts = slices.DeleteFunc(c.Accounts, func(a storage.Account) bool { return a.ID == id })
	delete(c.Members, id)
}

// RemoveConnection drops the connection; policies naming it then fall
// back to the password form, as Decide does for a missing connection.
func (c *Config) RemoveConnection(id string) {
	c.Connections = slices.DeleteFunc(c.Connections, func(x storage.IdPConnection) bool { return x.ID == id })
}

// PolicyOf returns the policy that applies to the account, nil if the
// organization has no default. The order is storage's PolicyFor's: its
// explicit policy, else the first by name of the policies naming one of
// its IdP groups, else the policy naming its email's domain, else the
// default.
func (c *Config) PolicyOf(accountID string) *storage.Policy {
	if id, ok := c.Members[accountID]; ok {
		if p := c.Policy(id); p != nil {
			return p
		}
	}
	if groups := c.Groups[accountID]; len(groups) > 0 {
		var best *storage.Policy
		for i := range c.Policies {
			p := &c.Policies[i]
			if p.IsDefault || !slices.ContainsFunc(c.PolicyGroups[p.ID], func(g string) bool { return slices.Contains(groups, g) }) {
				continue
			}
			if best == nil || p.Name < best.Name || (p.Name == best.Name && p.ID < best.ID) {
				best = p
			}
		}
		if best != nil {
			return best
		}
	}
	if p := c.domainPolicy(accountID); p != nil {
		return p
	}
	for i := range c.Policies {
		if c.Policies[i].IsDefault {
			return &c.Policies[i]
		}
	}
	return nil
}

// domainPolicy returns the named policy that names the account's email
// domain (at most one does; the first by name if a hand-edited
// configuration has several), nil if none.
func (c *Config) domainPolicy(accountID string) *storage.Policy {
	a := c.Account(accountID)
	if a == nil || len(c.PolicyDomains) == 0 {
		return nil
	}
	_, domain, ok := strings.Cut(a.Email, "@")
	if !ok {
		return nil
	}
	var best *storage.Policy
	for i := range c.Policies {
		p := &c.Policies[i]
		if p.IsDefault || !slices.Contains(c.PolicyDomains[p.ID], domain) {
			continue
		}
		if best == nil || p.Name < best.Name || (p.Name == best.Name && p.ID < best.ID) {
			best = p
		}
	}
	return best
}

// Managed reports whether the organization manages email: its domain is
// one the organization verified.
func (c *Config) Managed(email string) bool {
	_, domain, ok := strings.Cut(email, "@")
	return ok && slices.Contains(c.VerifiedDomains, domain)
}

// Route says whether the account's sign-in method, by the organization's
// policies alone, offers the password form (true) or only the IdP (false),
// with the reason. It restates policy.Decide for an account of this
// organization, ignoring the account's status and password.
func (c *Config) Route(a storage.Account) (password bool, reason string) {
	if !c.Managed(a.Email) {
		return true, ReasonUnmanagedDomain
	}
	p := c.PolicyOf(a.ID)
	if p == nil || p.OrgID != c.OrgID {
		return true, ReasonNoPolicy
	}
	switch p.SSO {
	case storage.SSOOff:
		return true, ReasonSSOOff
	case storage.SSOEnforced, storage.SSOOptional:
	default:
		return true, ReasonInvalidPolicy
	}
	if p.ConnectionID == "" || !slices.ContainsFunc(c.Connections, func(x storage.IdPConnection) bool {
		return x.ID == p.ConnectionID && x.OrgID == c.OrgID
	}) {
		return true, ReasonConnectionMissing
	}
	if p.SSO == storage.SSOEnforced {
		return false, ReasonSSOEnforced
	}
	return true, ReasonSSOOptional
}

// CanSignInWithoutIdP reports whether the account can sign in while the
// IdP is unreachable or broken, and why (a Reason* constant).
func (c *Config) CanSignInWithoutIdP(a storage.Account) (bool, string) {
	if a.Status != storage.StatusActive {
		return false, ReasonSuspended
	}
	ok, reason := c.Route(a)
	if ok && a.PasswordHash == "" {
		return false, ReasonNoPassword
	}
	return ok, reason
}

// Person is an owner or admin as the report names them.
type Person struct {
	ID     string
	Email  string
	Role   storage.Role
	Reason string // why they can or cannot sign in without the IdP
}

// Report is what Evaluate finds.
type Report struct {
	// WithoutIdP lists the active owners and admins who can sign in without
	// the IdP, owners first, then by email. Members are never counted.
	WithoutIdP []Person
	// OnlyIdP lists the other owners and admins (suspended ones too),
	// with why they cannot.
	OnlyIdP []Person
	// Safe: at least one owner can sign in without the IdP.
	Safe bool
}

// Owners returns the IDs of the owners among r.WithoutIdP.
func (r Report) Owners() []string {
	var ids []string
	for _, p := range r.WithoutIdP {
		if p.Role == storage.RoleOwner {
			ids = append(ids, p.ID)
		}
	}
	return ids
}

// Evaluate reports which owners and admins of c can sign in without the
// IdP and whether the organization is safe. It is a pure function.
func Evaluate(c Config) Report {
	var r Report
	for _, a := range c.Accounts {
		if !a.Role.IsAdmin() {
			continue
		}
		ok, reason := c.CanSignInWithoutIdP(a)
		p := Person{ID: a.ID, Email: a.Email, Role: a.Role, Reason: reason}
		if ok {
			r.WithoutIdP = append(r.WithoutIdP, p)
			r.Safe = r.Safe || a.Role == storage.RoleOwner
		} else {
			r.OnlyIdP = append(r.OnlyIdP, p)
		}
	}
	order := func(a, b Person) int {
		if a.Role != b.Role {
			if a.Role == storage.RoleOwner {
				return -1
			}
			if b.Role == storage.RoleOwner {
				return 1
			}
		}
		return cmp.Compare(a.Email, b.Email)
	}
	slices.SortFunc(r.WithoutIdP, order)
	slices.SortFunc(r.OnlyIdP, order)
	return r
}

func cloneGroups(m map[string][]string) map[string][]string {
	if m == nil {
		return nil
	}
	out := make(map[string][]string, len(m))
	for k, v := range m {
		out[k] = slices.Clone(v)
	}
	return out
}
