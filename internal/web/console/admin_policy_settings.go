package console

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/policy"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// policySettings are a policy card's settings form values, as shown.
type policySettings struct {
	MFA, Failback string
	IdleMinutes   string // "" = the deployment's
	LifetimeHours string // "" = the deployment's
	WindowDays    string
	AutoMinutes   string // "" = off
	Groups        string // one per line
	Error         string
}

func policySettingsOf(p storage.Policy, groups []string) policySettings {
	p = storage.WithPolicyDefaults(p)
	s := policySettings{MFA: p.MFA, Failback: p.Failback, WindowDays: strconv.Itoa(p.FailbackWindowDays),
		Groups: strings.Join(groups, "\n")}
	if p.IdleTimeout > 0 {
		s.IdleMinutes = strconv.FormatFloat(p.IdleTimeout.Minutes(), 'f', -1, 64)
	}
	if p.MaxLifetime > 0 {
		s.LifetimeHours = strconv.FormatFloat(p.MaxLifetime.Hours(), 'f', -1, 64)
	}
	if p.AutoFailbackAfter > 0 {
		s.AutoMinutes = strconv.FormatFloat(p.AutoFailbackAfter.Minutes(), 'f', -1, 64)
	}
	return s
}

// number reads a form number in unit ("" or "0" = zero); ok false when it
// is not a number.
func number(v string, unit time.Duration) (*time.Duration, bool) {
	v = strings.TrimSpace(v)
	var d time.Duration
	if v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 || f > 1e7 {
			return nil, false
		}
		d = time.Duration(f * float64(unit))
	}
	return &d, true
}

// adminPolicySettings saves a policy's MFA, failback, lifetime and group
// settings.
func (h *Handler) adminPolicySettings(w http.ResponseWriter, r *http.Request, adm storage.Account) {
	if !h.parseForm(w, r) {
		return
	}
	p, ok := h.policyFor(w, r, adm, true)
	if !ok {
		return
	}
	f := r.PostForm
	form := policySettings{MFA: f.Get("mfa"), Failback: f.Get("failback"), IdleMinutes: f.Get("idle_minutes"),
		LifetimeHours: f.Get("lifetime_hours"), WindowDays: f.Get("window_days"), AutoMinutes: f.Get("auto_minutes"),
		Groups: f.Get("groups")}
	fail := func(status int, msg string) {
		form.Error = msg
		h.renderPolicies(w, r, adm, status, &policyCard{Ref: p.ID, Settings: &form}, nil, "")
	}
	s := policy.Settings{MFA: &form.MFA, Failback: &form.Failback}
	var okIdle, okLife, okAuto bool
	s.IdleTimeout, okIdle = number(form.IdleMinutes, time.Minute)
	s.MaxLifetime, okLife = number(form.LifetimeHours, time.Hour)
	s.AutoFailbackAfter, okAuto = number(form.AutoMinutes, time.Minute)
	days, err := strconv.Atoi(strings.TrimSpace(form.WindowDays))
	if !okIdle || !okLife || !okAuto || err != nil {
		fail(http.StatusBadRequest, "Enter the times and the window as numbers, or leave a time empty to use the default.")
		return
	}
	s.FailbackWindowDays = &days
	cur, err := h.Policies.Groups(r.Context(), adm.OrgID, p.ID)
	if err != nil {
		h.serverError(w, r, "list policy groups", err)
		return
	}
	var want []string
	for _, g := range strings.Split(form.Groups, "\n") {
		if g = strings.TrimSpace(g); g != "" && !slices.Contains(want, g) {
			want = append(want, g)
		}
	}
	for _, g := range want {
		if !slices.Contains(cur, g) {
			s.AddGroups = append(s.AddGroups, g)
		}
	}
	for _, g := range cur {
		if !slices.Contains(want, g) {
			s.RemoveGroups = append(s.RemoveGroups, g)
		}
	}
	_, err = h.Policies.Update(r.Context(), adm.OrgID, p.ID, policy.UpdateInput{Settings: s, ForceReason: forceFrom(r).Reason})
	if h.lockoutPage(w, r, adm, err, "policies", "/admin/policies#policy-"+url.PathEscape(p.ID)) {
		return
	}
	if err != nil {
		fl, ok := classify(err)
		if !ok || errors.Is(err, account.ErrNotFound) {
			h.serverError(w, r, "update policy settings", err)
			return
		}
		fail(fl.Status, fl.Message)
		return
	}
	seeOther(w, r, "/admin/policies#policy-"+url.PathEscape(p.ID), "policy-updated")
}
