package apps

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse-id/gatehouse/internal/errs"
)

// Scopes an app may be allowed beyond "openid", which every OpenID Connect
// request carries and so is implied.
var Scopes = []string{"profile", "email", "groups", "offline_access"}

// Signing algorithms an app's ID tokens may use; "" is RS256.
const (
	AlgRS256 = "RS256"
	AlgES256 = "ES256"
)

// Bounds of the per-app token lifetimes. Zero takes the deployment's.
const (
	MinTokenTTL      = time.Minute
	MaxTokenTTL      = 24 * time.Hour // access and ID tokens
	MinRefreshTTL    = time.Hour
	MaxRefreshTTL    = 90 * 24 * time.Hour
	MaxNameLen       = 100
	maxURILen        = 2048
	maxListLen       = 50
	maxGroupLen      = 256
	maxHostLabelLen  = 63
	maxHostLen       = 253
	privateSchemeMin = 3 // "a.b"
)

// invalid is an input error naming the field the edges show it beside.
func invalid(field, format string, args ...any) error {
	return errs.NewInvalid(field, fmt.Sprintf(format, args...))
}

// clean checks in and returns it normalised: trimmed name, hosts in
// lowercase, lists without duplicates (first kept), signing alg spelled out.
func clean(in Input) (Input, error) {
	out := in
	out.Name = strings.TrimSpace(in.Name)
	if n := utf8.RuneCountInString(out.Name); n == 0 || n > MaxNameLen {
		return Input{}, invalid("name", "Give the app a name of 1 to %d characters.", MaxNameLen)
	}
	if !utf8.ValidString(out.Name) || strings.IndexFunc(out.Name, unicode.IsControl) >= 0 {
		return Input{}, invalid("name", "The name cannot contain control characters.")
	}
	var err error
	if out.RedirectURIs, err = cleanURIs(in.RedirectURIs, in.Public, "redirect_uris", "Redirect URI"); err != nil {
		return Input{}, err
	}
	if out.PostLogoutRedirectURIs, err = cleanURIs(in.PostLogoutRedirectURIs, in.Public, "post_logout_redirect_uris", "Post-logout redirect URI"); err != nil {
		return Input{}, err
	}
	if out.Hosts, err = cleanHosts(in.Hosts); err != nil {
		return Input{}, err
	}
	if len(out.RedirectURIs) == 0 && len(out.Hosts) == 0 {
		return Input{}, invalid("redirect_uris", "Give at least one redirect URI (an OpenID Connect app) or one host (a site behind a reverse proxy).")
	}
	if out.Scopes, err = cleanScopes(in.Scopes); err != nil {
		return Input{}, err
	}
	if out.Groups, err = cleanGroups(in.Groups); err != nil {
		return Input{}, err
	}
	for _, l := range []struct {
		field    string
		v        time.Duration
		min, max time.Duration
	}{
		{"access_token_ttl", in.AccessTokenTTL, MinTokenTTL, MaxTokenTTL},
		{"id_token_ttl", in.IDTokenTTL, MinTokenTTL, MaxTokenTTL},
		{"refresh_token_ttl", in.RefreshTokenTTL, MinRefreshTTL, MaxRefreshTTL},
	} {
		if l.v != 0 && (l.v < l.min || l.v > l.max) {
			return Input{}, invalid(l.field, "A token lifetime must be between %s and %s (or empty for the default).", human(l.min), human(l.max))
		}
	}
	switch in.SigningAlg {
	case "", AlgRS256:
		out.SigningAlg = AlgRS256
	case AlgES256:
	default:
		return Input{}, invalid("signing_alg", "The signing algorithm must be RS256 or ES256.")
	}
	return out, nil
}

// human writes d the way an admin would: 1m, 24h, 90d.
func human(d time.Duration) string {
	switch {
	case d%(24*time.Hour) == 0:
		return strconv.Itoa(int(d/(24*time.Hour))) + "d"
	case d%time.Hour == 0:
		return strconv.Itoa(int(d/time.Hour)) + "h"
	}
	return strconv.Itoa(int(d/time.Minute)) + "m"
}

func cleanURIs(in []string, public bool, field, what string) ([]string, error) {
	if len(in) > maxListLen {
		return nil, invalid(field, "An app may have at most %d of these.", maxListLen)
	}
	out := make([]string, 0, len(in))
	for _, raw := range in {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			continue
		}
		if err := checkRedirectURI(raw, public); err != nil {
			return nil, invalid(field, "%s %q: %s", what, raw, err.Error())
		}
		if !slices.Contains(out, raw) {
			out = append(out, raw)
		}
	}
	return out, nil
}

// checkRedirectURI applies the redirect URI rules: absolute, no fragment,
// no wildcard, no userinfo; https, or http on a loopback host (RFC 8252
// native apps and development); a public app may also use a private-use
// scheme with a dot in it (reverse domain, com.example.app:/cb). The URI
// is stored as given and later compared byte for byte, so nothing is
// normalised here.
func checkRedirectURI(raw string, public bool) error {
	if len(raw) > maxURILen {
		return fmt.Errorf("it is longer than %d characters", maxURILen)
	}
	if strings.ContainsAny(raw, "*\\") {
		return fmt.Errorf("wildcards and backslashes are not allowed; list each URI exactly")
	}
	for _, r := range raw {
		if r <= ' ' || r == 0x7f || !unicode.IsPrint(r) {
			return fmt.Errorf("it contains spaces or control characters")
		}
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() {
		return fmt.Errorf("it must be an absolute URI")
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return fmt.Errorf("it must not contain a fragment (#)")
	}
	if u.User != nil {
		return fmt.Errorf("it must not contain a user name or password")
	}
	switch u.Scheme {
	case "https":
		if !validHost(u.Hostname()) || u.Opaque != "" {
			return fmt.Errorf("its host is not a valid host name")
		}
		return nil
	case "http":
		if u.Opaque != "" || !loopback(u.Hostname()) {
			return fmt.Errorf("use https (plain http is allowed only on localhost, 127.0.0.1 or [::1])")
		}
		return nil
	}
	if !public {
		return fmt.Errorf("use https (a confidential app cannot use the scheme %q)", u.Scheme)
	}
	// RFC 8252 7.1: a private-use scheme is a reversed domain name the app
	// owns, so it has a dot; single-word schemes (javascript, data, file)
	// are refused.
	if len(u.Scheme) < privateSchemeMin || !strings.Contains(u.Scheme, ".") {
		return fmt.Errorf("a native app's scheme must be a reversed domain name such as com.example.app")
	}
	return nil
}

// loopback reports whether host is one RFC 8252 lets a native app listen
// on with plain http.
func loopback(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}

// validHost reports whether h is a DNS name (letters, digits, hyphens;
// labels of at most 63), localhost, or an IP address.
func validHost(h string) bool {
	if h == "" {
		return false
	}
	if net.ParseIP(h) != nil {
		return true
	}
	return validDNSName(h)
}

func validDNSName(h string) bool {
	if len(h) > maxHostLen || h == "localhost" {
		return h == "localhost"
	}
	for label := range strings.SplitSeq(h, ".") {
		if label == "" || len(label) > maxHostLabelLen || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// cleanHosts checks forward-auth hosts: host[:port], lowercased, a DNS
// name or localhost, no scheme, path or user.
func cleanHosts(in []string) ([]string, error) {
	if len(in) > maxListLen {
		return nil, invalid("hosts", "An app may have at most %d hosts.", maxListLen)
	}
	out := make([]string, 0, len(in))
	for _, raw := range in {
		h := strings.ToLower(strings.TrimSpace(raw))
		if h == "" {
			continue
		}
		norm, ok := normalizeHost(h)
		if !ok {
			return nil, invalid("hosts", "Host %q: give a host name with an optional port (app.example.com or app.example.com:8443), without scheme or path.", raw)
		}
		if !slices.Contains(out, norm) {
			out = append(out, norm)
		}
	}
	return out, nil
}

// normalizeHost checks a lowercase host[:port] and returns it as stored.
func normalizeHost(h string) (string, bool) {
	if strings.ContainsAny(h, "/\\@?#*[] \t") {
		return "", false
	}
	name, port := h, ""
	if i := strings.LastIndexByte(h, ':'); i >= 0 {
		name, port = h[:i], h[i+1:]
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 || port[0] == '0' {
			return "", false
		}
	}
	if !validDNSName(name) || net.ParseIP(name) != nil {
		return "", false
	}
	return h, true
}

func cleanScopes(in []string) ([]string, error) {
	var out []string
	for _, s := range in {
		s = strings.TrimSpace(s)
		switch {
		case s == "" || s == "openid":
			continue // openid is implied
		case !slices.Contains(Scopes, s):
			return nil, invalid("scopes", "Unknown scope %q: choose from %s.", s, strings.Join(Scopes, ", "))
		case !slices.Contains(out, s):
			out = append(out, s)
		}
	}
	if out == nil {
		out = []string{}
	}
	return out, nil
}

func cleanGroups(in []string) ([]string, error) {
	if len(in) > maxListLen {
		return nil, invalid("groups", "An app may name at most %d groups.", maxListLen)
	}
	out := []string{}
	for _, g := range in {
		g = strings.TrimSpace(g)
		if g == "" {
			continue
		}
		if len(g) > maxGroupLen || !utf8.ValidString(g) || strings.IndexFunc(g, unicode.IsControl) >= 0 {
			return nil, invalid("groups", "Group names are at most %d characters without control characters.", maxGroupLen)
		}
		if !slices.Contains(out, g) {
			out = append(out, g)
		}
	}
	return out, nil
}
