package saml

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Claim URIs Entra ID (and ADFS) send, used by DefaultMapping.
const (
	ClaimEmailAddress = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress"
	ClaimName         = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name"
	ClaimGivenName    = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname"
	ClaimSurname      = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname"
	ClaimDisplayName  = "http://schemas.microsoft.com/identity/claims/displayname"
	ClaimGroups       = "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups"
	ClaimObjectID     = "http://schemas.microsoft.com/identity/claims/objectidentifier"
	// ClaimGroupsLink replaces the groups claim when a user is in more than
	// 150 groups (Entra's "overage"): the groups must then be read from
	// Microsoft Graph or provisioned by SCIM.
	ClaimGroupsLink = "http://schemas.microsoft.com/claims/groups.link"
)

// Bounds on the identifiers an assertion hands to storage: the subject keys
// the SSO link and each group name keys a membership, and PostgreSQL refuses
// index entries over about 2.7 kB with an error rather than a rejection.
// They are far above what IdPs send: SAML core §8.3.7 caps persistent
// NameIDs at 256 characters, and Entra sends at most 150 groups.
const (
	maxSubjectBytes   = 1024
	maxGroups         = 1000
	maxGroupNameBytes = 1024
)

// Mapping keys: the Identity fields an attribute can be mapped to.
const (
	MapEmail       = "email"
	MapGivenName   = "given_name"
	MapSurname     = "surname"
	MapDisplayName = "display_name"
	MapGroups      = "groups"
	MapSubject     = "subject"
)

// Mapping maps an Identity field (a Map* key) to the SAML attribute Name
// that carries it. A connection stores only its overrides; MapIdentity fills
// in DefaultMapping for the other keys.
type Mapping map[string]string

// ErrNoEmail means the assertion carried nothing usable as the user's email
// address, so it cannot be linked to an account.
var ErrNoEmail = errors.New("The IdP did not send an email address")

// DefaultMapping is Entra ID's claim set, which ADFS shares.
func DefaultMapping() Mapping {
	return Mapping{
		MapEmail:       ClaimEmailAddress,
		MapGivenName:   ClaimGivenName,
		MapSurname:     ClaimSurname,
		MapDisplayName: ClaimDisplayName,
		MapGroups:      ClaimGroups,
		MapSubject:     ClaimObjectID,
	}
}

// Validate reports keys that are not Map* keys and empty attribute names, so
// a typo in a connection's mapping is caught when it is saved.
func (m Mapping) Validate() error {
	def := DefaultMapping()
	var bad []string
	for k, v := range m {
		if _, ok := def[k]; !ok {
			bad = append(bad, fmt.Sprintf("%q is not a field that can be mapped", k))
		} else if strings.TrimSpace(v) == "" {
			bad = append(bad, fmt.Sprintf("the attribute name for %q is empty", k))
		}
	}
	if len(bad) == 0 {
		return nil
	}
	sort.Strings(bad)
	keys := make([]string, 0, len(def))
	for k := range def {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return fmt.Errorf("Attribute mapping: %s (fields: %s)", strings.Join(bad, "; "), strings.Join(keys, ", "))
}

// withDefaults returns m over DefaultMapping.
func (m Mapping) withDefaults() Mapping {
	out := DefaultMapping()
	for k, v := range m {
		out[k] = strings.TrimSpace(v)
	}
	return out
}

// Identity is the person a validated assertion describes, in Gatehouse's
// terms.
type Identity struct {
	// Subject is the IdP's stable identifier for the user: Entra's object
	// ID when sent (it survives renames, unlike the UPN), else the NameID.
	Subject string
	// Email is lower-cased and trimmed. It is what links the login to an
	// account; the caller still applies the organization's domain rules.
	Email       string
	GivenName   string
	Surname     string
	DisplayName string
	// Groups are the group names or IDs, deduplicated, in the order sent.
	Groups []string
	// GroupsOverage is set when Entra sent a groups.link instead of the
	// groups (more than 150): Groups is then incomplete and must not be
	// used to take group memberships away.
	GroupsOverage bool
	// GroupsUnusable says why the groups sent cannot be stored as they are
	// (more than Gatehouse keeps, or a name too long or with control
	// characters); Groups is then nil and, as with the overage, the
	// account's groups must be left alone.
	GroupsUnusable string
}

// MapIdentity reads an Identity from a validated assertion. m holds the
// connection's overrides (nil for Entra ID's defaults).
//
// The email is, in this order: the NameID if its format is emailAddress, or
// unspecified and it looks like an address (Entra's UPN, Okta's username);
// else the mapped email attribute; else the name claim (ADFS and Entra send
// the UPN there). An attribute with several different addresses is refused:
// which one is the user would be a guess.
func MapIdentity(a *Assertion, m Mapping) (Identity, error) {
	var id Identity
	if a == nil {
		return id, errors.New("no assertion")
	}
	if err := m.Validate(); err != nil {
		return id, err
	}
	mm := m.withDefaults()

	subject, err := singleValue(a, mm[MapSubject])
	if err != nil {
		return id, fmt.Errorf("The IdP sent several different subject identifiers in %q", mm[MapSubject])
	}
	subjectIsNameID := subject == ""
	if subjectIsNameID {
		subject = a.NameID
	}
	id.Subject = subject
	if id.Subject == "" {
		return id, errors.New("The IdP did not send a subject identifier (NameID)")
	}
	if !storableText(id.Subject, maxSubjectBytes) {
		return id, fmt.Errorf("The IdP's subject identifier %q is longer than %d bytes or contains control characters", truncate(id.Subject, 80), maxSubjectBytes)
	}

	email, err := pickEmail(a, mm[MapEmail])
	if err != nil {
		return id, err
	}
	id.Email = email
	// A transient NameID names the user for this one response (core
	// §8.3.8). As the subject it would link a new identity at every
	// sign-in, and a returning user could never be recognized.
	if subjectIsNameID && a.NameIDFormat == NameIDFormatTransient {
		return id, fmt.Errorf("The IdP sent a transient NameID, which changes at every sign-in, and no %q attribute: have it send a persistent NameID, or map the subject to a stable attribute", mm[MapSubject])
	}

	id.GivenName = firstValue(a, mm[MapGivenName])
	id.Surname = firstValue(a, mm[MapSurname])
	id.DisplayName = firstValue(a, mm[MapDisplayName])
	if id.DisplayName == "" {
		id.DisplayName = strings.TrimSpace(id.GivenName + " " + id.Surname)
	}
	id.Groups, id.GroupsUnusable = readGroups(a.Attributes[mm[MapGroups]])
	_, id.GroupsOverage = a.Attributes[ClaimGroupsLink]
	return id, nil
}

// readGroups trims and deduplicates the group values, keeping their order.
// Groups that cannot all be stored are refused as a whole, with the reason:
// keeping only some would take the others' memberships away.
func readGroups(vals []string) (groups []string, unusable string) {
	seen := make(map[string]bool, len(vals))
	for _, g := range vals {
		g = strings.TrimSpace(g)
		if g == "" || seen[g] {
			continue
		}
		if !storableText(g, maxGroupNameBytes) {
			return nil, fmt.Sprintf("the group %q is longer than %d bytes or contains control characters", truncate(g, 80), maxGroupNameBytes)
		}
		if len(groups) == maxGroups {
			return nil, fmt.Sprintf("more than %d groups were sent", maxGroups)
		}
		seen[g] = true
		groups = append(groups, g)
	}
	return groups, ""
}

// storableText reports whether s is valid UTF-8 of at most maxBytes bytes
// without control characters.
func storableText(s string, maxBytes int) bool {
	return len(s) <= maxBytes && utf8.ValidString(s) && !strings.ContainsFunc(s, unicode.IsControl)
}

func pickEmail(a *Assertion, emailAttr string) (string, error) {
	switch a.NameIDFormat {
	case NameIDFormatEmailAddress, NameIDFormatUnspecified, "":
		if e := normalizeEmail(a.NameID); looksLikeEmail(e) {
			return e, nil
		}
	}
	sources := []string{emailAttr}
	if emailAttr != ClaimName {
		sources = append(sources, ClaimName)
	}
	var tried []string
	for _, attrName := range sources {
		vals, ok := a.Attributes[attrName]
		if !ok {
			tried = append(tried, fmt.Sprintf("no attribute %q", attrName))
			continue
		}
		var distinct []string
		for _, v := range vals {
			if e := normalizeEmail(v); e != "" && !slices.Contains(distinct, e) {
				distinct = append(distinct, e)
			}
		}
		switch {
		case len(distinct) > 1:
			return "", fmt.Errorf("The IdP sent several different email addresses in %q (%s); Gatehouse cannot tell which one is the user's", attrName, truncate(strings.Join(distinct, ", "), 200))
		case len(distinct) == 1 && looksLikeEmail(distinct[0]):
			return distinct[0], nil
		case len(distinct) == 1:
			tried = append(tried, fmt.Sprintf("attribute %q is %q, not an email address", attrName, truncate(distinct[0], 80)))
		default:
			tried = append(tried, fmt.Sprintf("attribute %q is empty", attrName))
		}
	}
	nameID := fmt.Sprintf("the NameID has format %q", a.NameIDFormat)
	if a.NameIDFormat == "" || a.NameIDFormat == NameIDFormatEmailAddress || a.NameIDFormat == NameIDFormatUnspecified {
		nameID = fmt.Sprintf("the NameID %q is not an email address", truncate(a.NameID, 80))
	}
	return "", fmt.Errorf("%w: %s; %s", ErrNoEmail, nameID, strings.Join(tried, "; "))
}

// singleValue returns the one distinct non-empty value of attribute name
// ("" if absent), or an error if it has several.
func singleValue(a *Assertion, name string) (string, error) {
	var got string
	for _, v := range a.Attributes[name] {
		v = strings.TrimSpace(v)
		switch {
		case v == "" || v == got:
		case got == "":
			got = v
		default:
			return "", errors.New("several values")
		}
	}
	return got, nil
}

func firstValue(a *Assertion, name string) string {
	for _, v := range a.Attributes[name] {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}

func normalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// looksLikeEmail is a plausibility check, not validation: one @ with
// something on both sides, no spaces or controls, and a domain that is
// "localhost" or has a dot. The account service validates properly.
func looksLikeEmail(s string) bool {
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" || domain == "" || strings.Contains(domain, "@") {
		return false
	}
	if strings.ContainsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) || r == '\\' }) {
		return false
	}
	return domain == "localhost" || (strings.Contains(domain, ".") && !strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, "."))
}
