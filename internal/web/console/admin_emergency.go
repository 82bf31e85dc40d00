package console

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/emergency"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// The emergency page (/admin/emergency): emergency (failback) mode for an
// IdP outage. Before an emergency it shows who could get in during one and
// the form to start it; during one, its deadline, extend and end, and the
// sign-ins made under it; always the history.
//
//	GET  /admin/emergency                  the page
//	POST /admin/emergency                  start
//	POST /admin/emergency/{id}/extend      extend, and/or set sign_out_at_end (on/off)
//	POST /admin/emergency/{id}/end         end (optionally signing its sessions out)
//	POST /admin/emergency/{id}/sign-out    sign out the sessions made during it

// emergencyView is the emergency page.
type emergencyView struct {
	Active      *emergencyRow
	Policies    []emergencyPolicy
	History     []emergencyRow
	SignIns     []emergencySignIn
	Durations   []durationOption
	DefaultFor  string
	Form        emergencyForm
	Error       string
	PolicyNames map[string]string
}

type emergencyForm struct {
	Reason       string
	For          string
	Policies     []string
	SignOutAtEnd bool
}

type durationOption struct{ Value, Label string }

type emergencyRow struct {
	ID, Reason, Scope, StartedBy, EndedBy, State string
	StartedAt, EndsAt, EndedAt                   time.Time
	Automatic, Active, SignOutAtEnd              bool
	SignIns                                      int
}

type emergencyPolicy struct {
	ID, Name, SSO, Failback string
	Covered                 bool
	Eligible                int
	WithPasskey             string // a count, or "unknown"
	Ineligible              []emergencyPerson
}

type emergencyPerson struct{ Email, Reason string }

type emergencySignIn struct {
	Email, Method, IP string
	At                time.Time
	Revoked           bool
}

// emergencyBanner is the notice every console page shows while an
// emergency is in force.
type emergencyBanner struct {
	Reason string
	EndsAt time.Time
}

// activeEmergencyBanner is the banner for adm's organization, nil when no
// emergency is in force (or it cannot be read: the page still renders).
func (h *Handler) activeEmergencyBanner(r *http.Request, adm storage.Account) *emergencyBanner {
	if h.Emergencies == nil {
		return nil
	}
	e, ok, err := h.Emergencies.Active(r.Context(), adm.OrgID)
	if err != nil {
		h.log().WarnContext(r.Context(), "cannot read the emergency state", "err", err)
		return nil
	}
	if !ok {
		return nil
	}
	return &emergencyBanner{Reason: e.Reason, EndsAt: e.EndsAt}
}

func who(typ, id, email string) string {
	switch {
	case email != "":
		return email
	case typ == "cli":
		return "command line (" + id + ")"
	case typ == "system":
		return "Gatehouse (automatic)"
	case typ == "":
		return ""
	}
	return typ
}

func (h *Handler) emergencyRowOf(e storage.Emergency, names map[string]string, now time.Time) emergencyRow {
	scope := "Whole organization"
	if e.Scoped {
		var ns []string
		for _, id := range e.PolicyIDs {
			if n, ok := names[id]; ok {
				ns = append(ns, n)
			} else {
				ns = append(ns, "(deleted policy)")
			}
		}
		scope = strings.Join(ns, ", ")
	}
	row := emergencyRow{ID: e.ID, Reason: e.Reason, Scope: scope, StartedAt: e.StartedAt, EndsAt: e.EndsAt, EndedAt: e.EndedAt,
		StartedBy: who(e.StartedByType, e.StartedByID, e.StartedByEmail), EndedBy: who(e.EndedByType, e.EndedByID, e.EndedByEmail),
		Automatic: e.Automatic, Active: e.InForce(now), SignOutAtEnd: e.SignOutAtEnd}
	switch {
	case row.Active:
		row.State = "In force"
	case e.EndReason == storage.EmergencyExpired:
		row.State = "Ran out"
	case e.EndReason == storage.EmergencyEnded:
		row.State = "Ended"
	default:
		row.State = "Ending"
	}
	return row
}

func (h *Handler) adminEmergency(w http.ResponseWriter, r *http.Request, adm storage.Account) {
	h.renderEmergency(w, r, adm, http.StatusOK, emergencyForm{}, "")
}

func (h *Handler) renderEmergency(w http.ResponseWriter, r *http.Request, adm storage.Account, status int, form emergencyForm, problem string) {
	ctx := r.Context()
	now := h.Now()
	ready, err := h.Emergencies.Readiness(ctx, adm.OrgID)
	if err != nil {
		h.serverError(w, r, "emergency readiness", err)
		return
	}
	hist, err := h.Emergencies.History(ctx, adm.OrgID)
	if err != nil {
		h.serverError(w, r, "emergency history", err)
		return
	}
	cfg := h.Emergencies.Config()
	v := &emergencyView{Form: form, Error: problem, PolicyNames: map[string]string{}, DefaultFor: cfg.DefaultDuration.String()}
	for _, d := range []time.Duration{time.Hour, 2 * time.Hour, 4 * time.Hour, 8 * time.Hour, 24 * time.Hour, 72 * time.Hour} {
		if d <= cfg.MaxDuration {
			v.Durations = append(v.Durations, durationOption{Value: d.String(), Label: humanDuration(d)})
		}
	}
	if v.Form.For == "" {
		v.Form.For = cfg.DefaultDuration.String()
	}
	for _, p := range ready {
		v.PolicyNames[p.Policy.ID] = p.Policy.Name
		row := emergencyPolicy{ID: p.Policy.ID, Name: p.Policy.Name, SSO: p.Policy.SSO, Failback: storage.WithPolicyDefaults(p.Policy).Failback,
			Covered: p.Covered, Eligible: len(p.Eligible), WithPasskey: "unknown"}
		if p.WithEmergencyPasskey >= 0 {
			row.WithPasskey = strconv.Itoa(p.WithEmergencyPasskey)
		}
		for _, x := range p.Ineligible {
			row.Ineligible = append(row.Ineligible, emergencyPerson{Email: x.Account.Email, Reason: emergency.ReasonText(x.Reason)})
		}
		v.Policies = append(v.Policies, row)
	}
	for _, e := range hist {
		row := h.emergencyRowOf(e, v.PolicyNames, now)
		if row.Active || (v.Active == nil && e.EndedAt.IsZero()) {
			cur := row
			v.Active = &cur
			sis, err := h.Emergencies.SignIns(ctx, adm.OrgID, e.ID)
			if err != nil {
				h.serverError(w, r, "emergency sign-ins", err)
				return
			}
			for _, s := range sis {
				v.SignIns = append(v.SignIns, emergencySignIn{Email: s.Email, Method: strings.Join(s.Session.AMR, ", "),
					IP: s.Session.IP, At: s.Session.CreatedAt, Revoked: !s.Session.RevokedAt.IsZero()})
			}
		}
		v.History = append(v.History, row)
	}
	h.adminPage(w, r, status, "admin_emergency", adm, &view{Title: "Emergency sign-in", Admin: &adminView{Section: "emergency", Emergency: v}})
}

func humanDuration(d time.Duration) string {
	switch {
	case d%(24*time.Hour) == 0:
		n := int(d / (24 * time.Hour))
		if n == 1 {
			return "1 day"
		}
		return strconv.Itoa(n) + " days"
	case d%time.Hour == 0:
		n := int(d / time.Hour)
		if n == 1 {
			return "1 hour"
		}
		return strconv.Itoa(n) + " hours"
	}
	return d.String()
}

// emergencyFail re-renders the page with the service's refusal.
func (h *Handler) emergencyFail(w http.ResponseWriter, r *http.Request, adm storage.Account, form emergencyForm, what string, err error) {
	fl, ok := classify(err)
	if !ok {
		h.serverError(w, r, what, err)
		return
	}
	h.renderEmergency(w, r, adm, fl.Status, form, fl.Message)
}

func (h *Handler) adminEmergencyStart(w http.ResponseWriter, r *http.Request, adm storage.Account) {
	if !h.parseForm(w, r) {
		return
	}
	form := emergencyForm{Reason: r.PostForm.Get("reason"), For: r.PostForm.Get("for"), Policies: r.PostForm["policy"],
		SignOutAtEnd: r.PostForm.Get("sign_out_at_end") == "on"}
	if len(form.Policies) > 0 && r.PostForm.Get("scope") != "policies" {
		form.Policies = nil
	}
	if r.PostForm.Get("scope") == "policies" && len(form.Policies) == 0 {
		h.renderEmergency(w, r, adm, http.StatusBadRequest, form, "Choose at least one policy, or the whole organization.")
		return
	}
	d, err := time.ParseDuration(form.For)
	if err != nil {
		h.renderEmergency(w, r, adm, http.StatusBadRequest, form, "Choose how long emergency mode lasts.")
		return
	}
	if _, err := h.Emergencies.Start(r.Context(), adm.OrgID, emergency.StartInput{Reason: form.Reason, For: d, Policies: form.Policies, SignOutAtEnd: form.SignOutAtEnd}); err != nil {
		h.emergencyFail(w, r, adm, form, "start emergency", err)
		return
	}
	seeOther(w, r, "/admin/emergency", "emergency-started")
}

func (h *Handler) adminEmergencyExtend(w http.ResponseWriter, r *http.Request, adm storage.Account) {
	if !h.parseForm(w, r) {
		return
	}
	// The toggle posts sign_out_at_end ("on" or "off") without "for": it
	// changes only that choice.
	var in emergency.ExtendInput
	flash := "emergency-extended"
	if v := r.PostForm.Get("sign_out_at_end"); v == "on" || v == "off" {
		on := v == "on"
		in.SignOutAtEnd = &on
		flash = "emergency-keep-at-end"
		if on {
			flash = "emergency-sign-out-at-end"
		}
	}
	if f := r.PostForm.Get("for"); f != "" || in.SignOutAtEnd == nil {
		d, err := time.ParseDuration(f)
		if err != nil {
			h.renderEmergency(w, r, adm, http.StatusBadRequest, emergencyForm{}, "Choose how much longer emergency mode lasts.")
			return
		}
		in.For, flash = d, "emergency-extended"
	}
	if _, err := h.Emergencies.Extend(r.Context(), adm.OrgID, r.PathValue("id"), in); err != nil {
		if errors.Is(err, emergency.ErrNotFound) {
			h.adminNotFound(w, r, "emergency")
			return
		}
		h.emergencyFail(w, r, adm, emergencyForm{}, "extend emergency", err)
		return
	}
	seeOther(w, r, "/admin/emergency", flash)
}

func (h *Handler) adminEmergencyEnd(w http.ResponseWriter, r *http.Request, adm storage.Account) {
	if !h.parseForm(w, r) {
		return
	}
	_, err := h.Emergencies.End(r.Context(), adm.OrgID, r.PathValue("id"), emergency.EndInput{SignOutSessions: r.PostForm.Get("sign_out") == "on"})
	if err != nil {
		if errors.Is(err, emergency.ErrNotFound) {
			h.adminNotFound(w, r, "emergency")
			return
		}
		h.emergencyFail(w, r, adm, emergencyForm{}, "end emergency", err)
		return
	}
	seeOther(w, r, "/admin/emergency", "emergency-ended")
}

func (h *Handler) adminEmergencySignOut(w http.ResponseWriter, r *http.Request, adm storage.Account) {
	if !h.parseForm(w, r) {
		return
	}
	if _, err := h.Emergencies.SignOut(r.Context(), adm.OrgID, r.PathValue("id")); err != nil {
		if errors.Is(err, emergency.ErrNotFound) {
			h.adminNotFound(w, r, "emergency")
			return
		}
		h.emergencyFail(w, r, adm, emergencyForm{}, "sign out emergency sessions", err)
		return
	}
	seeOther(w, r, "/admin/emergency#sign-ins", "emergency-signed-out")
}

func hours(n int) time.Duration { return time.Duration(n) * time.Hour }
