package console

import (
	"net/http"
	"net/url"

	"github.com/gatehouse-id/gatehouse/internal/httpserver"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// exposureView is the page shown before a policy stops enforcing SSO
// outside an emergency: who gains a way in without the IdP, the same change
// confirmed, or emergency mode (time-boxed, reversible) instead.
type exposureView struct {
	PolicyID, PolicyName, NewSSO string
	WithPassword                 []string // have a password that works at once
	CanSet                       []string // can set one through the reset mail
	Action                       string
	Fields                       map[string]string // the refused form's values
	Cancel                       string
	DefaultFor                   string
	Durations                    []durationOption
}

// exposureConfirmField marks a policy form resent from the exposure page.
const exposureConfirmField = "confirm_exposure"

// exposurePage renders the confirmation page when changing p to sso would
// stop enforcing SSO outside an emergency and give someone a password way
// in, and reports whether it did. Nothing is saved until the admin
// confirms (the form comes back with confirm_exposure=yes).
func (h *Handler) exposurePage(w http.ResponseWriter, r *http.Request, adm storage.Account, p storage.Policy, sso string) bool {
	if h.Emergencies == nil || p.SSO != storage.SSOEnforced || r.PostForm.Get(exposureConfirmField) == "yes" {
		return false
	}
	// Only a change the service would accept asks first: an unknown mode,
	// or SSO optional without a connection, gets the form's own error.
	if sso != storage.SSOOff && (sso != storage.SSOOptional || r.PostForm.Get("connection") == "") {
		return false
	}
	ctx := r.Context()
	if _, active, err := h.Emergencies.ActiveFor(ctx, adm.OrgID, p.ID, h.Now()); err != nil || active {
		return false // during an emergency the admin already chose; an error leaves today's behaviour
	}
	xs, err := h.Emergencies.WouldGainPassword(ctx, adm.OrgID, p.ID)
	if err != nil {
		h.log().WarnContext(ctx, "cannot list who would gain a password", "err", err)
		return false
	}
	if len(xs) == 0 {
		return false
	}
	v := &exposureView{PolicyID: p.ID, PolicyName: p.Name, NewSSO: sso, Action: r.URL.Path, Fields: map[string]string{},
		Cancel: "/admin/policies#policy-" + url.PathEscape(p.ID)}
	for k, vs := range r.PostForm {
		if k == httpserver.CSRFField || len(vs) == 0 {
			continue
		}
		v.Fields[k] = vs[0]
	}
	v.Fields[exposureConfirmField] = "yes"
	for _, x := range xs {
		if x.HasPassword {
			v.WithPassword = append(v.WithPassword, x.Account.Email)
		} else {
			v.CanSet = append(v.CanSet, x.Account.Email)
		}
	}
	cfg := h.Emergencies.Config()
	v.DefaultFor = cfg.DefaultDuration.String()
	for _, d := range []int{1, 2, 4, 8, 24, 72} {
		if dd := hours(d); dd <= cfg.MaxDuration {
			v.Durations = append(v.Durations, durationOption{Value: dd.String(), Label: humanDuration(dd)})
		}
	}
	h.adminPage(w, r, http.StatusOK, "admin_exposure", adm, &view{
		Title: "Turn off SSO enforcement?",
		Admin: &adminView{Section: "policies", Exposure: v},
	})
	return true
}
