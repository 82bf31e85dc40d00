package console

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/policy"
	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/web/page"
)

// A member's page, /admin/members/{id}: who they are, how and from where
// they last signed in, which policy applies to them and why, their SSO
// links, IdP groups, live sessions and the newest audit events about them,
// with what an admin can do about each. Everything that changes something
// is a POST; suspending, deleting and unlinking are confirmed on a page of
// their own (admin_member_actions.go).

// memberPageView is the member page's content beside the memberRow.
type memberPageView struct {
	LastSignIn *signInView
	Policy     *policyWhyView
	Links      []linkView
	Groups     []string
	Sessions   []sessionView
	Events     []memberEventView
	AuditHref  string // the audit log filtered on the member as actor
	AboutHref  string // the audit log filtered on the member as target
	Invited    bool   // never signed in: the invitation can be resent
	// NameValue is the name form's value (the refused value after an error).
	NameValue string
	HasIdPs   bool
}

// signInView is a sign-in (a session) as the page says it.
type signInView struct {
	When, WhenISO string
	How           string // "Password + authenticator code", "Single sign-on (Corp)"
	AMR           string // the raw methods, for the curious admin
	IP            string
	Device        string // "Firefox on Linux"
	UserAgent     string
	Ended         string // "" while live; else why it ended
}

// policyWhyView says which policy applies and why, in words.
type policyWhyView struct {
	Name   string
	Href   string
	Why    string
	Others []string // group policies that lose to this one
}

type linkView struct {
	Connection, Subject     string
	LinkedAt, LinkedISO     string
	LastLogin, LastLoginISO string
	UnlinkHref              string
}

type sessionView struct {
	signInView
	LastSeen, LastSeenISO string
	RevokeAction          string
	Current               bool // the admin's own session on this request
}

type memberEventView struct {
	When, WhenISO string
	Action        string
	Actor         string
	Failed        bool
	Reason        string
}

// memberNotices are the member page's success messages (see adminNotices).
var memberNotices = map[string]string{
	"name-changed":    "Name saved.",
	"invite-resent":   "A new invitation is on its way. Links mailed before no longer work.",
	"reset-sent":      "A password-reset link is on its way to their email. Links mailed before no longer work.",
	"session-revoked": "That session was signed out.",
	"sso-unlinked":    "The SSO link was removed. Their next SSO sign-in links again by email address.",
	"member-deleted":  "The member was deleted. Their sessions ended and they can no longer sign in.",
}

func init() {
	for k, v := range memberNotices {
		adminNotices[k] = v
	}
}

// renderMemberPage renders the member's page with status and errMsg (the
// refusal of an action, "" for none). nameValue, when not nil, is the
// name form's refused value.
func (h *Handler) renderMemberPage(w http.ResponseWriter, r *http.Request, adm storage.Account, status int, a storage.Account, errMsg string, errs map[string]string) {
	ctx := r.Context()
	d, err := h.Accounts.MemberDetail(ctx, adm.OrgID, a.ID)
	if err != nil {
		if errors.Is(err, account.ErrNotFound) {
			h.adminNotFound(w, r, "member")
			return
		}
		h.serverError(w, r, "read member", err)
		return
	}
	a = d.Account
	row := h.memberRowOf(account.Listing{Account: a, SSOLinked: len(d.Links) > 0}, adm)
	row.Sessions = len(d.Sessions)
	href := row.Href
	mp := &memberPageView{
		Groups: d.Groups, Invited: d.Invited, NameValue: a.DisplayName, HasIdPs: h.IdPs != nil,
		AuditHref: "/admin/audit?" + url.Values{"actor": {a.Email}}.Encode(),
		AboutHref: "/admin/audit?" + url.Values{"target_type": {"account"}, "target": {a.ID}}.Encode(),
	}
	if v := r.PostFormValue("display_name"); errs["display_name"] != "" {
		mp.NameValue = v
	}
	names := map[string]string{}
	for _, l := range d.Links {
		names[l.ConnectionID] = l.ConnectionName
		mp.Links = append(mp.Links, linkView{
			Connection: l.ConnectionName, Subject: l.Subject,
			LinkedAt: formatTime(l.CreatedAt), LinkedISO: isoTime(l.CreatedAt),
			LastLogin: formatTime(l.LastLoginAt), LastLoginISO: isoTime(l.LastLoginAt),
			UnlinkHref: href + "/sso-links/" + url.PathEscape(l.ID) + "/unlink",
		})
	}
	switch {
	case d.LastSignIn != nil:
		v := h.signIn(ctx, *d.LastSignIn, names)
		mp.LastSignIn = &v
	case !d.LastSignInAt.IsZero():
		// The session behind it has been pruned: the time is all that
		// is kept.
		mp.LastSignIn = &signInView{When: formatTime(d.LastSignInAt), WhenISO: isoTime(d.LastSignInAt),
			Ended: "How and from where are no longer kept: that session ended long ago."}
	}
	cur, _ := page.CurrentSession(r)
	for _, s := range d.Sessions {
		mp.Sessions = append(mp.Sessions, sessionView{
			signInView: h.signIn(ctx, s, names),
			LastSeen:   formatTime(s.LastSeenAt), LastSeenISO: isoTime(s.LastSeenAt),
			RevokeAction: href + "/sessions/" + url.PathEscape(s.ID) + "/revoke",
			Current:      s.ID == cur.Session.ID,
		})
	}
	for _, e := range d.Events {
		actor := e.ActorEmail
		if actor == "" {
			actor = actorWords[e.ActorType]
		}
		mp.Events = append(mp.Events, memberEventView{
			When: formatTime(e.Time), WhenISO: isoTime(e.Time), Action: e.Action, Actor: actor,
			Failed: e.Outcome == "failure", Reason: e.Reason,
		})
	}
	if h.Policies != nil {
		pw, err := h.policyWhy(ctx, adm.OrgID, a.ID)
		if err != nil {
			h.serverError(w, r, "resolve the member's policy", err)
			return
		}
		mp.Policy = pw
	}
	name := a.DisplayName
	if name == "" {
		name = a.Email
	}
	v := &view{Title: name, Error: errMsg, Errors: errs, Admin: &adminView{Section: "members", Member: &row, MemberPage: mp}}
	v.Focus = page.FirstError(errs, "display_name")
	h.adminPage(w, r, status, "admin_member", adm, v)
}

// actorWords name the actors that are not a person.
var actorWords = map[string]string{
	"system": "Gatehouse", "cli": "Command line", "api_token": "API token", "anonymous": "Someone not signed in",
}

// signIn says how and from where session s was signed in.
func (h *Handler) signIn(ctx context.Context, s storage.Session, names map[string]string) signInView {
	conn := ""
	if s.ConnectionID != "" {
		name, ok := names[s.ConnectionID]
		if !ok && h.IdPs != nil {
			if c, err := h.IdPs.Get(ctx, s.OrgID, s.ConnectionID); err == nil {
				name = c.Name
			}
			names[s.ConnectionID] = name
		}
		conn = name
	}
	v := signInView{
		When: formatTime(s.CreatedAt), WhenISO: isoTime(s.CreatedAt),
		How: page.MethodWords(s.AMR, s.Method, conn), IP: s.IP,
		Device: page.DeviceSummary(s.UserAgent), UserAgent: s.UserAgent,
	}
	for i, m := range s.AMR {
		if i > 0 {
			v.AMR += ", "
		}
		v.AMR += m
	}
	switch {
	case !s.RevokedAt.IsZero():
		v.Ended = "Signed out " + formatTime(s.RevokedAt)
	case !h.now().Before(s.ExpiresAt):
		v.Ended = "Expired " + formatTime(s.ExpiresAt)
	}
	return v
}

// policyWhy asks the policy service which policy applies and why, and
// words it.
func (h *Handler) policyWhy(ctx context.Context, orgID, accountID string) (*policyWhyView, error) {
	eff, err := h.Policies.Effective(ctx, orgID, accountID)
	if err != nil {
		return nil, err
	}
	pw := &policyWhyView{Name: eff.Policy.Name, Href: "/admin/policies"}
	switch eff.Why {
	case policy.WhyExplicit:
		pw.Why = "They are named as a member of this policy."
	case policy.WhyGroup:
		pw.Why = "This policy names their IdP group"
		for i, g := range eff.Groups {
			if i == 0 {
				pw.Why += " “" + g + "”"
			} else {
				pw.Why += ", “" + g + "”"
			}
		}
		pw.Why += ", and no policy names them directly."
	case policy.WhyDomain:
		pw.Why = "This policy names their email domain “" + eff.Domain + "”, and no policy names them or their IdP groups."
	case policy.WhyDefault:
		pw.Why = "No other policy names them, their IdP groups or their email domain, so the organization's default policy applies."
	default:
		pw.Name = policy.DefaultName
		pw.Why = "The organization has not set up policies yet: everyone signs in with a password."
	}
	for _, o := range eff.Overridden {
		pw.Others = append(pw.Others, o.Name)
	}
	return pw, nil
}
