package console

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/apps"
	"github.com/gatehouse-id/gatehouse/internal/errs"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// The apps section (mounted when Handler.Apps is set):
//
//	GET  /admin/apps                       the list
//	GET  /admin/apps/new, POST /admin/apps the add form; the answer shows the secret once
//	GET  /admin/apps/{id}                  settings form, rotate, remove
//	POST /admin/apps/{id}                  save settings
//	POST /admin/apps/{id}/rotate-secret    new secret, shown once on the answer
//	GET|POST /admin/apps/{id}/remove       confirmation page, then removal
//
// A new secret is shown on the answer to the POST that made it, never
// through a redirect: it must not land in a URL, history or a log. That
// answer is marked no-store.

func (h *Handler) registerApps(handle func(string, adminHandlerFunc)) {
	if h.Apps == nil {
		return
	}
	handle("GET /admin/apps", h.adminApps)
	handle("GET /admin/apps/new", h.adminAppNew)
	handle("POST /admin/apps", h.adminAppCreate)
	handle("GET /admin/apps/{id}", h.adminApp)
	handle("POST /admin/apps/{id}", h.adminAppUpdate)
	handle("POST /admin/apps/{id}/rotate-secret", h.adminAppRotate)
	handle("GET /admin/apps/{id}/remove", h.adminAppRemoveConfirm)
	handle("POST /admin/apps/{id}/remove", h.adminAppRemove)
}

// appRow is one app as the list shows it.
type appRow struct {
	Name, Href, ClientID, Type string
	Redirects, Hosts           []string
	Restricted                 bool
}

// appForm is the add and settings form, as the admin filled it in.
type appForm struct {
	New          bool // the add form (type can be chosen)
	Action       string
	Name         string
	Public       bool
	RedirectURIs string // one per line
	PostLogout   string
	Hosts        string
	Groups       string
	Scopes       []string
	AccessTTL    string
	IDTTL        string
	RefreshTTL   string
	SigningAlg   string
}

// scopeChoice is one scope checkbox.
type scopeChoice struct {
	Value, Label string
	Checked      bool
}

// Choices lists the scope checkboxes with the form's ticked.
func (f *appForm) Choices() []scopeChoice {
	labels := map[string]string{"profile": "Name (profile)", "email": "Email address (email)",
		"groups": "IdP groups (groups)", "offline_access": "Stay signed in: refresh tokens (offline_access)"}
	out := make([]scopeChoice, 0, len(apps.Scopes))
	for _, s := range apps.Scopes {
		out = append(out, scopeChoice{Value: s, Label: labels[s], Checked: slices.Contains(f.Scopes, s)})
	}
	return out
}

// appDetail is the app page.
type appDetail struct {
	ID, Name, Href, ClientID, Type string
	Public                         bool
	Issuer, Discovery              string
	// Secret is a secret just made, shown this once.
	Secret string
	Form   *appForm
}

func appFormOf(a storage.App) *appForm {
	ttl := func(d time.Duration) string {
		if d == 0 {
			return ""
		}
		return strings.TrimSuffix(strings.TrimSuffix(d.String(), "0s"), "0m")
	}
	return &appForm{
		Action: "/admin/apps/" + url.PathEscape(a.ID), Name: a.Name, Public: a.Public,
		RedirectURIs: strings.Join(a.RedirectURIs, "\n"), PostLogout: strings.Join(a.PostLogoutRedirectURIs, "\n"),
		Hosts: strings.Join(a.Hosts, "\n"), Groups: strings.Join(a.Groups, "\n"), Scopes: a.Scopes,
		AccessTTL: ttl(a.AccessTokenTTL), IDTTL: ttl(a.IDTokenTTL), RefreshTTL: ttl(a.RefreshTokenTTL), SigningAlg: a.SigningAlg,
	}
}

// appFormFrom reads the posted form.
func appFormFrom(r *http.Request) *appForm {
	return &appForm{
		Name: r.PostForm.Get("name"), Public: r.PostForm.Get("type") == "public",
		RedirectURIs: r.PostForm.Get("redirect_uris"), PostLogout: r.PostForm.Get("post_logout_redirect_uris"),
		Hosts: r.PostForm.Get("hosts"), Groups: r.PostForm.Get("groups"), Scopes: r.PostForm["scopes"],
		AccessTTL: r.PostForm.Get("access_token_ttl"), IDTTL: r.PostForm.Get("id_token_ttl"),
		RefreshTTL: r.PostForm.Get("refresh_token_ttl"), SigningAlg: r.PostForm.Get("signing_alg"),
	}
}

// lines splits a textarea into its non-empty lines.
func lines(s string) []string {
	var out []string
	for l := range strings.Lines(s) {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// input turns the form into the service's input; a lifetime that is not
// one is a failure on its field.
func (f *appForm) input() (apps.Input, *failure) {
	in := apps.Input{Name: f.Name, Public: f.Public, RedirectURIs: lines(f.RedirectURIs),
		PostLogoutRedirectURIs: lines(f.PostLogout), Hosts: lines(f.Hosts), Groups: lines(f.Groups),
		Scopes: f.Scopes, SigningAlg: f.SigningAlg}
	for _, t := range []struct {
		field, v string
		dst      *time.Duration
	}{{"access_token_ttl", f.AccessTTL, &in.AccessTokenTTL}, {"id_token_ttl", f.IDTTL, &in.IDTokenTTL},
		{"refresh_token_ttl", f.RefreshTTL, &in.RefreshTokenTTL}} {
		d, err := formTTL(t.v)
		if err != nil {
			return in, &failure{Status: http.StatusBadRequest, Field: t.field, Message: "Give a lifetime such as 15m, 12h or 30d, or leave it empty for the default."}
		}
		*t.dst = d
	}
	return in, nil
}

// formTTL reads 15m, 12h, 30d; empty is zero (the default).
func formTTL(v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	if v == "" || v == "0" {
		return 0, nil
	}
	if days, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 || n > 3650 {
			return 0, fmt.Errorf("not a number of days")
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("not a duration")
	}
	return d, nil
}

func (h *Handler) adminApps(w http.ResponseWriter, r *http.Request, adm storage.Account) {
	list, err := h.Apps.List(r.Context(), adm.OrgID)
	if err != nil {
		h.serverError(w, r, "list apps", err)
		return
	}
	rows := make([]appRow, 0, len(list))
	for _, a := range list {
		rows = append(rows, appRow{Name: a.Name, Href: "/admin/apps/" + url.PathEscape(a.ID), ClientID: a.ClientID,
			Type: appType(a), Redirects: a.RedirectURIs, Hosts: a.Hosts, Restricted: len(a.Groups) > 0})
	}
	h.adminPage(w, r, http.StatusOK, "admin_apps", adm, &view{Title: "Apps", Admin: &adminView{Section: "apps", Apps: rows}})
}

func appType(a storage.App) string {
	if a.Public {
		return "Public"
	}
	return "Confidential"
}

func (h *Handler) adminAppNew(w http.ResponseWriter, r *http.Request, adm storage.Account) {
	h.renderAppNew(w, r, adm, http.StatusOK, &appForm{Scopes: []string{"profile", "email"}}, nil)
}

func (h *Handler) renderAppNew(w http.ResponseWriter, r *http.Request, adm storage.Account, status int, f *appForm, fail *failure) {
	f.New, f.Action = true, "/admin/apps"
	v := &view{Title: "Add an app", Admin: &adminView{Section: "apps", AppForm: f}}
	setFailure(v, fail)
	h.adminPage(w, r, status, "admin_app", adm, v)
}

// setFailure puts a refusal on the page: beside its field, or on top.
func setFailure(v *view, f *failure) {
	if f == nil {
		return
	}
	if f.Field != "" {
		v.Errors = map[string]string{f.Field: f.Message}
		v.Focus = f.Field
		return
	}
	v.Error = f.Message
}

// refusal classifies a service error for a form; ok is false for a
// server error (already answered).
func (h *Handler) refusal(w http.ResponseWriter, r *http.Request, what string, err error) (*failure, bool) {
	f, ok := classify(err)
	if !ok {
		h.serverError(w, r, what, err)
		return nil, false
	}
	if f.Field == "" {
		// A conflict (name or host taken) names its field too.
		f.Field = errs.FieldOf(err)
	}
	return &f, true
}

func (h *Handler) adminAppCreate(w http.ResponseWriter, r *http.Request, adm storage.Account) {
	if !h.parseForm(w, r) {
		return
	}
	f := appFormFrom(r)
	in, fail := f.input()
	if fail != nil {
		h.renderAppNew(w, r, adm, fail.Status, f, fail)
		return
	}
	a, secret, err := h.Apps.Create(r.Context(), adm.OrgID, in)
	if err != nil {
		fail, ok := h.refusal(w, r, "add app", err)
		if ok {
			h.renderAppNew(w, r, adm, fail.Status, f, fail)
		}
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	h.renderApp(w, r, adm, http.StatusCreated, a, appFormOf(a), secret, nil,
		"App registered. Configure it with the client ID and secret below.")
}

// appFor reads the {id} path value as one of the organization's apps,
// answering 404 itself when it is not.
func (h *Handler) appFor(w http.ResponseWriter, r *http.Request, adm storage.Account) (storage.App, bool) {
	a, err := h.Apps.Get(r.Context(), adm.OrgID, r.PathValue("id"))
	if errors.Is(err, account.ErrNotFound) || (err == nil && a.ID != r.PathValue("id")) {
		// By ID only: a name in the path would be a second URL for the page.
		h.adminNotFound(w, r, "app")
		return a, false
	}
	if err != nil {
		h.serverError(w, r, "read app", err)
		return a, false
	}
	return a, true
}

func (h *Handler) adminApp(w http.ResponseWriter, r *http.Request, adm storage.Account) {
	a, ok := h.appFor(w, r, adm)
	if !ok {
		return
	}
	h.renderApp(w, r, adm, http.StatusOK, a, appFormOf(a), "", nil, "")
}

func (h *Handler) renderApp(w http.ResponseWriter, r *http.Request, adm storage.Account, status int, a storage.App, f *appForm, secret string, fail *failure, notice string) {
	f.Action = "/admin/apps/" + url.PathEscape(a.ID)
	f.Public = a.Public
	d := &appDetail{ID: a.ID, Name: a.Name, Href: f.Action, ClientID: a.ClientID, Type: appType(a), Public: a.Public,
		Issuer: h.Apps.Issuer(), Discovery: h.Apps.DiscoveryURL(), Secret: secret, Form: f}
	v := &view{Title: a.Name, Notice: notice, Admin: &adminView{Section: "apps", App: d, AppForm: f}}
	setFailure(v, fail)
	h.adminPage(w, r, status, "admin_app", adm, v)
}

func (h *Handler) adminAppUpdate(w http.ResponseWriter, r *http.Request, adm storage.Account) {
	a, ok := h.appFor(w, r, adm)
	if !ok || !h.parseForm(w, r) {
		return
	}
	f := appFormFrom(r)
	in, fail := f.input()
	in.Public = a.Public // fixed at creation; the settings form does not offer it
	if fail != nil {
		h.renderApp(w, r, adm, fail.Status, a, f, "", fail, "")
		return
	}
	if _, err := h.Apps.Update(r.Context(), adm.OrgID, a.ID, in); err != nil {
		if fail, ok := h.refusal(w, r, "update app", err); ok {
			h.renderApp(w, r, adm, fail.Status, a, f, "", fail, "")
		}
		return
	}
	seeOther(w, r, "/admin/apps/"+url.PathEscape(a.ID), "app-updated")
}

func (h *Handler) adminAppRotate(w http.ResponseWriter, r *http.Request, adm storage.Account) {
	a, ok := h.appFor(w, r, adm)
	if !ok {
		return
	}
	secret, err := h.Apps.RotateSecret(r.Context(), adm.OrgID, a.ID)
	if err != nil {
		if fail, ok := h.refusal(w, r, "rotate app secret", err); ok {
			h.renderApp(w, r, adm, fail.Status, a, appFormOf(a), "", fail, "")
		}
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	h.renderApp(w, r, adm, http.StatusOK, a, appFormOf(a), secret, nil,
		"New client secret made. The old one no longer works: put this one in the app's configuration.")
}

func (h *Handler) adminAppRemoveConfirm(w http.ResponseWriter, r *http.Request, adm storage.Account) {
	a, ok := h.appFor(w, r, adm)
	if !ok {
		return
	}
	href := "/admin/apps/" + url.PathEscape(a.ID)
	h.adminPage(w, r, http.StatusOK, "admin_confirm", adm, &view{
		Title: "Remove " + a.Name,
		Admin: &adminView{Section: "apps", Confirm: &confirmView{
			Heading: "Remove this app?", Detail: a.Name,
			Message: "People can no longer sign in to it through Gatehouse: its client ID and every token issued to it stop working at once, and its hosts are no longer let through. This cannot be undone; registering it again gives it a new client ID and secret.",
			Action:  href + "/remove", Button: "Remove app", Cancel: href,
		}},
	})
}

func (h *Handler) adminAppRemove(w http.ResponseWriter, r *http.Request, adm storage.Account) {
	a, ok := h.appFor(w, r, adm)
	if !ok {
		return
	}
	if err := h.Apps.Delete(r.Context(), adm.OrgID, a.ID); errors.Is(err, account.ErrNotFound) {
		h.adminNotFound(w, r, "app")
		return
	} else if err != nil {
		h.serverError(w, r, "remove app", err)
		return
	}
	seeOther(w, r, "/admin/apps", "app-removed")
}
