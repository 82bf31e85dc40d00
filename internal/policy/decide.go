// Package policy holds authentication policies (which accounts must sign in
// with which method) and the login decision the identifier-first sign-in
// page acts on.
//
// The decision itself is Decide, a pure function of what the caller looked
// up, so every combination is covered by a table test; Service.Route does
// the lookups.
package policy

import "github.com/gatehouse-id/gatehouse/internal/storage"

// Login methods a Decision can name.
const (
	MethodPassword = "password" // show the password form
	MethodSSO      = "sso"      // redirect to the IdP connection
	MethodChoice   = "choice"   // offer "Continue with SSO" and the password form
)

// Reasons a Decision gives. They are for logs and the admin console, never
// for the person signing in: "unmanaged_domain" is deliberately the same for
// a known and an unknown email, so the answer cannot be used to enumerate
// accounts.
const (
	ReasonUnmanagedDomain   = "unmanaged_domain"   // the email's domain is not verified by the account's org
	ReasonNoPolicy          = "no_policy"          // managed, but the org has no policy (no default yet)
	ReasonSSOOff            = "sso_off"            // the policy does not use SSO
	ReasonSSOEnforced       = "sso_enforced"       // the policy requires SSO
	ReasonSSOOptional       = "sso_optional"       // the policy offers SSO beside the password
	ReasonConnectionMissing = "connection_missing" // the policy names a connection that is gone
	ReasonInvalidPolicy     = "invalid_policy"     // the stored SSO mode is not one we know
)

// Input is everything the decision depends on.
type Input struct {
	// Account is the account with the typed email, nil if there is none.
	Account *storage.Account
	// ManagedByOrg is the organization that verified the email's domain,
	// "" if none has.
	ManagedByOrg string
	// Policy is the policy that applies: the account's, or for an unknown
	// email the managing organization's default. nil if none.
	Policy *storage.Policy
	// Connection is the IdP connection Policy names, nil if it is missing.
	Connection *storage.IdPConnection
}

// Decision says which sign-in method to offer, and which first factors
// may actually sign the account in.
//
// Method, ConnectionSlug and Reason are the same for an unknown email and
// for any account under the same policy, so a page built from them cannot
// tell the two apart. AllowPassword and AllowSSO are the account's own:
// the sign-in engine consults them only after a first factor was
// submitted, and answers a refused one exactly like a wrong password.
type Decision struct {
	Method         string // MethodPassword, MethodSSO or MethodChoice
	ConnectionSlug string // set for MethodSSO and MethodChoice
	Reason         string // Reason* constant, for logs and the console

	// AllowPassword: a correct password signs the account in (the policy
	// does not enforce SSO, and the account is active).
	AllowPassword bool
	// AllowSSO: a sign-in through ConnectionSlug signs the account in.
	AllowSSO bool
	// Factors are the further factors required after the first (RFC 8176
	// amr names). None yet: MFA arrives with the next policy settings.
	Factors string
}

// Public is d without what only the account's own state decides: the part
// a page may show.
func (d Decision) Public() Decision {
	return Decision{Method: d.Method, ConnectionSlug: d.ConnectionSlug, Reason: d.Reason}
}

// Decide returns the sign-in method for in. It never returns a dead end:
// whenever SSO cannot be used (no connection, an inconsistent policy), the
// answer is the password form, so a broken SSO set-up degrades to the
// failback every account can be recovered through (password reset).
func Decide(in Input) Decision {
	d := decide(in)
	d.AllowPassword = d.Method == MethodPassword || d.Method == MethodChoice
	d.AllowSSO = d.Method == MethodSSO || d.Method == MethodChoice
	// A suspended account gets the same page as everyone (no enumeration),
	// and no first factor may sign it in.
	if in.Account != nil && in.Account.Status != storage.StatusActive {
		d.AllowPassword, d.AllowSSO = false, false
	}
	return d
}

func decide(in Input) Decision {
	password := func(reason string) Decision { return Decision{Method: MethodPassword, Reason: reason} }

	// An organization manages only the accounts of domains it verified. An
	// account of an unverified domain (or of a domain another organization
	// verified) is not subject to its organization's SSO policy; an unknown
	// email in such a domain gets exactly the same answer.
	if in.ManagedByOrg == "" {
		return password(ReasonUnmanagedDomain)
	}
	if in.Account != nil && in.Account.OrgID != in.ManagedByOrg {
		return password(ReasonUnmanagedDomain)
	}
	// A policy of another organization than the one managing the domain is
	// a caller bug; never let it send the person to that org's IdP.
	if in.Policy == nil || in.Policy.OrgID != in.ManagedByOrg {
		return password(ReasonNoPolicy)
	}
	switch in.Policy.SSO {
	case storage.SSOOff:
		return password(ReasonSSOOff)
	case storage.SSOEnforced, storage.SSOOptional:
	default:
		return password(ReasonInvalidPolicy)
	}
	c := in.Connection
	if c == nil || in.Policy.ConnectionID == "" || c.ID != in.Policy.ConnectionID || c.OrgID != in.ManagedByOrg {
		return password(ReasonConnectionMissing)
	}
	if in.Policy.SSO == storage.SSOEnforced {
		return Decision{Method: MethodSSO, ConnectionSlug: c.Slug, Reason: ReasonSSOEnforced}
	}
	return Decision{Method: MethodChoice, ConnectionSlug: c.Slug, Reason: ReasonSSOOptional}
}
