package lockout

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse-id/gatehouse/internal/errs"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// Code is the stable error code of *Error at every edge (the JSON API
// answers 409 with it).
const Code = "lockout"

// maxReasonLen bounds a force reason: it is stored in the audit log.
const maxReasonLen = 500

// Force lets a change through that Check would refuse. A non-empty Reason
// is required; the caller records it on the change's audit event.
type Force struct {
	Reason string
}

// Result says whether Check let an unsafe change through because it was
// forced, and whom it locks out.
type Result struct {
	Forced    bool
	Reason    string   // the force reason, when Forced
	LockedOut []Person // owners and admins who lose sign-in without the IdP
	// NoBreakGlass: the change enforces SSO with no break-glass owner
	// proven to have a second factor, and was forced.
	NoBreakGlass bool
}

// Annotate adds the force to an audit event's details (nothing when the
// change was safe): forced=true, the reason, and who is locked out.
func (r Result) Annotate(details map[string]string) {
	if !r.Forced {
		return
	}
	details["forced"] = "true"
	details["force_reason"] = r.Reason
	details["locked_out"] = emails(r.LockedOut)
	if r.NoBreakGlass {
		details["override_lockout"] = ReasonNoBreakGlass
	}
}

// Error refuses a change that would leave no owner able to sign in without
// the IdP. Its text names who would be locked out and how to keep an owner
// out of SSO; it is safe to show people.
type Error struct {
	// LockedOut are the owners and admins the change takes the password
	// sign-in from (owners first).
	LockedOut []Person
	// Remaining are the owners and admins who could still sign in without
	// the IdP afterwards (admins only, or nobody: else the change is safe).
	Remaining []Person
	// NoBreakGlass: the change enforces SSO and afterwards no break-glass
	// owner (SSO off, MFA required) is proven to have a second factor.
	NoBreakGlass bool
	// LastBreakGlass (with NoBreakGlass): the organization enforces SSO
	// and the change takes away its last break-glass owner with a second
	// factor (suspends, demotes or removes them, or unmakes their policy).
	LastBreakGlass bool
}

// ErrLockout is matched (errors.Is) by every *Error.
var ErrLockout error = errs.New(errs.PreconditionFailed, Code, "lockout: the change would lock every owner out")

// Code returns the stable code "lockout".
func (e *Error) Code() string { return Code }

// Kind reports PreconditionFailed: the change needs an owner kept out of
// SSO, or a force reason.
func (e *Error) Kind() errs.Kind { return errs.PreconditionFailed }

// InputField names what overrides the refusal ("force_reason").
func (e *Error) InputField() string { return "force_reason" }

// Is makes errors.Is(err, ErrLockout) true.
func (e *Error) Is(target error) bool { return target == ErrLockout }

func (e *Error) Error() string {
	bgWords := noBreakGlassWords
	if e.LastBreakGlass {
		bgWords = lastBreakGlassWords
	}
	if e.NoBreakGlass && len(e.LockedOut) == 0 && len(e.Remaining) == 0 {
		return bgWords
	}
	var b strings.Builder
	b.WriteString("This change would leave no owner able to sign in without the IdP, so an IdP outage or a wrong certificate would lock the organization out of Gatehouse.")
	if len(e.LockedOut) > 0 {
		b.WriteString(" It takes the password sign-in from ")
		for i, p := range e.LockedOut {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%s (%s", p.Email, p.Role)
			if why := lossWords[p.Reason]; why != "" {
				b.WriteString(": " + why)
			}
			b.WriteString(")")
		}
		b.WriteString(".")
	}
	if len(e.Remaining) > 0 {
		fmt.Fprintf(&b, " Only admins who are not owners (%s) could still sign in with a password.", emails(e.Remaining))
	}
	b.WriteString(" Keep one owner out: add yourself to a policy with SSO off (a break-glass policy), or keep the default policy optional; an owner also needs a password and an active account.")
	if e.NoBreakGlass {
		b.WriteString(" " + bgWords)
	}
	return b.String()
}

// Reasons a Person in Error.LockedOut loses the password sign-in, beside
// the Reason* constants of the rule itself.
const (
	ReasonDemoted = "demoted" // no longer an owner (an admin who still can does not count)
	ReasonGone    = "gone"    // no longer an active owner or admin
)

// lossWords says why someone loses the password sign-in, after their name.
var lossWords = map[string]string{
	ReasonSSOEnforced: "SSO would be enforced for them",
	ReasonNoPassword:  "no password set",
	ReasonSuspended:   "would be suspended",
	ReasonDemoted:     "would no longer be an owner",
	ReasonGone:        "would no longer be an owner or admin",
}

func emails(ps []Person) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.Email
	}
	return strings.Join(s, ", ")
}

// CheckReason validates a force reason: "" (no force) or printable text of
// at most 500 characters. It returns the trimmed reason.
func CheckReason(reason string) (string, error) {
	reason = strings.TrimSpace(reason)
	switch {
	case !utf8.ValidString(reason) || strings.ContainsFunc(reason, func(r rune) bool { return unicode.IsControl(r) && r != '\n' }):
		return "", errors.New("The force reason contains characters that are not allowed.")
	case utf8.RuneCountInString(reason) > maxReasonLen:
		return "", fmt.Errorf("The force reason must be at most %d characters.", maxReasonLen)
	}
	return reason, nil
}

// lockOwners locks the organization's owner rows for the rest of tx (in
// ID order, as the account service's last-owner check does), so two
// changes that are each safe alone but together lock every owner out
// cannot both pass on PostgreSQL's read committed isolation: the second
// waits, then Load reads what the first wrote.
func lockOwners(ctx context.Context, tx storage.Store, orgID string) error {
	accts, err := tx.ListAccounts(ctx, orgID)
	if err != nil {
		return fmt.Errorf("lockout: list accounts: %w", err)
	}
	var owners []string
	for _, a := range accts {
		if a.Role == storage.RoleOwner {
			owners = append(owners, a.ID)
		}
	}
	slices.Sort(owners)
	for _, id := range owners {
		_, err := tx.UpdateAccount(ctx, id, func(*storage.Account) error { return errLockOnly })
		if err != nil && !errors.Is(err, errLockOnly) && !errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("lockout: lock owners: %w", err)
		}
	}
	return nil
}

// Load reads the organization's configuration through st (a transaction
// or the store itself; it only reads).
func Load(ctx context.Context, st storage.Store, orgID string) (Config, error) {
	c := Config{OrgID: orgID, Members: map[string]string{}}
	accts, err := st.ListAccounts(ctx, orgID)
	if err != nil {
		return c, fmt.Errorf("lockout: list accounts: %w", err)
	}
	c.Accounts = accts
	ds, err := st.ListDomains(ctx, orgID)
	if err != nil {
		return c, fmt.Errorf("lockout: list domains: %w", err)
	}
	for _, d := range ds {
		if !d.VerifiedAt.IsZero() {
			c.VerifiedDomains = append(c.VerifiedDomains, d.Name)
		}
	}
	if c.Policies, err = st.ListPolicies(ctx, orgID); err != nil {
		return c, fmt.Errorf("lockout: list policies: %w", err)
	}
	for _, p := range c.Policies {
		if p.IsDefault {
			continue
		}
		ids, err := st.ListPolicyMembers(ctx, orgID, p.ID)
		if err != nil {
			return c, fmt.Errorf("lockout: list members of policy %q: %w", p.Name, err)
		}
		for _, id := range ids {
			c.Members[id] = p.ID
		}
	}
	if c.PolicyGroups, err = st.ListGroupPolicies(ctx, orgID); err != nil {
		return c, fmt.Errorf("lockout: list policy groups: %w", err)
	}
	if c.PolicyDomains, err = st.ListDomainPolicies(ctx, orgID); err != nil {
		return c, fmt.Errorf("lockout: list policy domains: %w", err)
	}
	if c.Groups, err = st.ListGroupedAccounts(ctx, orgID); err != nil {
		return c, fmt.Errorf("lockout: list account groups: %w", err)
	}
	if c.Connections, err = st.ListIdPConnections(ctx, orgID); err != nil {
		return c, fmt.Errorf("lockout: list IdP connections: %w", err)
	}
	return c, nil
}

// errLockOnly makes UpdateAccount take its row lock without writing.
var errLockOnly = errors.New("lockout: lock only")

// Check evaluates the configuration change would produce, before the
// caller writes it, in the caller's transaction tx. It returns an *Error
// when the change leaves no owner able to sign in without the IdP — or,
// when the organization was already in that state, when the change takes
// that ability from someone else still (so repairs stay possible). A force
// with a non-empty Reason lets the refused change through: the Result then
// says Forced, and the caller records it on its audit event (Annotate).
//
// A change that enforces SSO (Enforces) additionally needs, afterwards, a
// break-glass owner — an owner under a policy with SSO off and MFA
// required — whose second factor secondFactor confirms; without one it is
// refused with an *Error saying NoBreakGlass (or let through, when forced,
// with Result.NoBreakGlass). So is a change that, in an organization with
// a policy enforcing SSO, takes away the last such owner (see
// checkBreakGlass). A nil secondFactor proves nobody, so such changes need
// a force reason (fail closed).
func Check(ctx context.Context, tx storage.Store, orgID string, change func(*Config), force Force, secondFactor SecondFactorFunc) (Result, error) {
	if err := lockOwners(ctx, tx, orgID); err != nil {
		return Result{}, err
	}
	before, err := Load(ctx, tx, orgID)
	if err != nil {
		return Result{}, err
	}
	after := before.Clone()
	change(&after)
	force.Reason = strings.TrimSpace(force.Reason)
	res, lockErr := Compare(Evaluate(before), Evaluate(after), force)
	forcedBG, bgErr := checkBreakGlass(ctx, &before, &after, force, secondFactor)
	var le *Error
	switch {
	case bgErr != nil && !errors.As(bgErr, &le):
		return Result{}, bgErr
	case lockErr != nil && le != nil:
		lockErr.(*Error).NoBreakGlass, lockErr.(*Error).LastBreakGlass = true, le.LastBreakGlass
		return Result{}, lockErr
	case lockErr != nil:
		return Result{}, lockErr
	case bgErr != nil:
		return Result{}, bgErr
	}
	if forcedBG {
		res.Forced, res.Reason, res.NoBreakGlass = true, force.Reason, true
	}
	return res, nil
}

// Compare is Check's decision on the reports before and after a change.
func Compare(before, after Report, force Force) (Result, error) {
	if after.Safe {
		return Result{}, nil
	}
	lost := lostFrom(before.WithoutIdP, after)
	if !before.Safe && len(lost) == 0 {
		// Already unsafe, and this change takes nobody's way in: let
		// admins work towards a repair.
		return Result{}, nil
	}
	if reason := strings.TrimSpace(force.Reason); reason != "" {
		return Result{Forced: true, Reason: reason, LockedOut: lost}, nil
	}
	return Result{}, &Error{LockedOut: lost, Remaining: after.WithoutIdP}
}

// lostFrom lists who, in before's WithoutIdP, is not in after's in the same
// role (an owner demoted to admin keeps a password but no longer counts as
// an owner), each with the reason they lose it.
func lostFrom(before []Person, after Report) []Person {
	var lost []Person
	for _, p := range before {
		if slices.ContainsFunc(after.WithoutIdP, func(q Person) bool { return q.ID == p.ID && q.Role == p.Role }) {
			continue
		}
		p.Reason = ReasonGone
		if i := slices.IndexFunc(after.OnlyIdP, func(q Person) bool { return q.ID == p.ID }); i >= 0 {
			p.Reason = after.OnlyIdP[i].Reason
		} else if slices.ContainsFunc(after.WithoutIdP, func(q Person) bool { return q.ID == p.ID }) {
			p.Reason = ReasonDemoted
		}
		lost = append(lost, p)
	}
	return lost
}
