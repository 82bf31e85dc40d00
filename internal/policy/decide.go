// Package policy holds authentication policies (which accounts must sign in
// with which method) and the login decision the identifier-first sign-in
// page acts on.
//
// The decision itself is Decide, a pure function of what the caller looked
// up, so every combination is covered by a table test; Service.Route does
// the lookups.
package policy

import (
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// Login methods a Decision can name.
const (
	MethodPassword = "password" // show the password form
	MethodSSO      = "sso"      // redirect to the IdP connection
	MethodChoice   = "choice"   // offer "Continue with SSO" and the password form
	// MethodEmergency: the organization has an emergency in force; the
	// page offers a passkey, the password form, setting or resetting the
	// password (the /forgot flow) and "Try SSO" — to every address of the
	// domain, whoever the emergency covers.
	MethodEmergency = "emergency"
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
	ReasonEmergency         = "emergency"          // an emergency is in force in the organization
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

	// Emergency is the emergency in force for Policy, nil if none.
	Emergency *ActiveEmergency
	// EmergencyInOrg: some emergency of ManagedByOrg is in force, whatever
	// its scope (the page then offers the failback ways to everyone).
	EmergencyInOrg bool
	// LastSSO is the account's latest SSO sign-in (zero if never), Now the
	// time of the decision: the failback window is measured between them.
	LastSSO, Now time.Time
	// HasFactor: the account has a second factor enrolled (TOTP).
	HasFactor bool
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
	// AllowPasskey: a passkey may be the first factor (it then counts as
	// both): the policy lets the account use a password, or the account is
	// in Emergency.
	AllowPasskey bool
	// MFA: a second factor is required after the first — the policy
	// requires one, the account is a break-glass admin (IsBreakGlass), or
	// it enrolled one under an optional policy.
	MFA bool
	// Emergency is the emergency the account signs in under: its policy
	// enforces SSO, an emergency covers the policy, and the account is
	// eligible (Eligibility). nil otherwise.
	Emergency *ActiveEmergency
	// Ineligible is why an account an emergency covers may not fail back
	// (Ineligible* constants); for the organization's audit log only.
	Ineligible string
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
//
// Passwords: a password works where the policy lets the account use one
// and it was not set during an emergency. During an emergency an eligible
// account under an enforced policy may use a password set while SSO was
// not enforced (PasswordOpen) or during this very emergency; a password
// set during an emergency that is no longer in force never works, so a
// later policy change cannot revive it.
func Decide(in Input) Decision {
	d := decide(in)
	policyPassword := d.Method == MethodPassword || d.Method == MethodChoice
	d.AllowPassword = policyPassword
	d.AllowSSO = d.Method == MethodSSO || d.Method == MethodChoice
	d.AllowPasskey = policyPassword
	d = emergencyPage(d, in.EmergencyInOrg)
	a := in.Account
	if a == nil {
		return d
	}
	if a.PasswordOrigin == storage.PasswordEmergency {
		d.AllowPassword = false
	}
	managed := in.ManagedByOrg != "" && a.OrgID == in.ManagedByOrg && in.Policy != nil && in.Policy.OrgID == in.ManagedByOrg
	if managed {
		p := *in.Policy
		d.MFA = storage.WithPolicyDefaults(p).MFA == storage.MFARequired || IsBreakGlass(*a, p)
		if in.Emergency != nil && p.SSO == storage.SSOEnforced {
			if ok, reason := Eligibility(*a, p, in.LastSSO, in.Now); ok {
				em := *in.Emergency
				d.Emergency = &em
				d.AllowPasskey = true
				d.AllowPassword = a.PasswordOrigin == storage.PasswordOpen ||
					(a.PasswordOrigin == storage.PasswordEmergency && a.PasswordEmergencyID == em.ID)
			} else {
				d.Ineligible = reason
			}
		}
	}
	if in.ManagedByOrg == "" && in.Policy != nil && in.Policy.OrgID == a.OrgID {
		// Unmanaged domain: the organization's SSO policy cannot route the
		// address, but its second-factor rule still binds its member.
		p := *in.Policy
		d.MFA = storage.WithPolicyDefaults(p).MFA == storage.MFARequired || IsBreakGlass(*a, p)
	}
	d.MFA = d.MFA || in.HasFactor
	// A suspended account gets the same page as everyone (no enumeration),
	// and no first factor may sign it in.
	if a.Status != storage.StatusActive {
		d.AllowPassword, d.AllowSSO, d.AllowPasskey, d.Emergency = false, false, false, nil
	}
	return d
}

// emergencyPage turns an SSO or choice page into the emergency page when
// an emergency is in force in the organization. The connection stays, for
// "Try SSO".
func emergencyPage(d Decision, inOrg bool) Decision {
	if inOrg && (d.Method == MethodSSO || d.Method == MethodChoice) {
		d.Method, d.Reason = MethodEmergency, ReasonEmergency
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
