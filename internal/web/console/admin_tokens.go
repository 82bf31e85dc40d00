package console

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// The API tokens section, for calls to /api/v1:
//
//	GET  /admin/tokens                    the list and the create form
//	POST /admin/tokens                    create; the answer shows the secret once
//	GET|POST /admin/tokens/{id}/revoke    confirmation page, then revocation
//
// It calls the account service the JSON API and `gatehouse admin token`
// call, so who may create which scope (only owners make owner tokens) and
// the audit events are the same everywhere. The new secret is shown on the
// answer to the POST that made it, never through a redirect, and that
// answer is marked no-store: it must not land in a URL, history or cache.

func (h *Handler) registerTokens(handle func(string, adminHandlerFunc)) {
	handle("GET /admin/tokens", h.adminTokens)
	handle("POST /admin/tokens", h.adminTokenCreate)
	handle("GET /admin/tokens/{id}/revoke", h.adminTokenRevokeConfirm)
	handle("POST /admin/tokens/{id}/revoke", h.adminTokenRevoke)
}

// tokenExpiries are the expiry choices of the create form, in days ("" is
// never). A fixed list keeps the form free of date parsing and script.
var tokenExpiries = []struct{ Value, Label string }{
	{"30", "In 30 days"}, {"90", "In 90 days"}, {"365", "In a year"}, {"", "Never"},
}

// tokensView is the API tokens page.
type tokensView struct {
	Rows []tokenRow
	Form tokenForm
	// Secret is a token just made, shown this once; SecretName names it.
	Secret, SecretName string
	IsOwner            bool // owner tokens can be chosen
}

// tokenForm is the create form as filled in.
type tokenForm struct {
	Name, Scope, Expires string
}

// Expiries lists the expiry choices.
func (tokenForm) Expiries() []struct{ Value, Label string } { return tokenExpiries }

// tokenRow is one token as the list shows it.
type tokenRow struct {
	ID, Name, Scope, CreatedBy          string
	Created, CreatedISO                 string
	LastUsed, LastUsedISO, LastUsedIP   string
	Expires, ExpiresISO                 string
	Revoked, RevokedISO, Status, Revoke string
	Live                                bool
}

func (h *Handler) tokenRowOf(t storage.APIToken, members map[string]storage.Account, now time.Time) tokenRow {
	r := tokenRow{
		ID: t.ID, Name: t.Name, Scope: t.Scope, CreatedBy: t.CreatedBy,
		Created: formatTime(t.CreatedAt), CreatedISO: isoTime(t.CreatedAt),
		LastUsed: formatTime(t.LastUsedAt), LastUsedISO: isoTime(t.LastUsedAt), LastUsedIP: t.LastUsedIP,
		Expires: formatTime(t.ExpiresAt), ExpiresISO: isoTime(t.ExpiresAt),
		Revoked: formatTime(t.RevokedAt), RevokedISO: isoTime(t.RevokedAt),
		Revoke: "/admin/tokens/" + url.PathEscape(t.ID) + "/revoke",
	}
	if m, ok := members[t.CreatedBy]; ok {
		r.CreatedBy = m.Email
	}
	switch {
	case !t.RevokedAt.IsZero():
		r.Status = "revoked"
	case account.APITokenExpired(t, now):
		r.Status = "expired"
	default:
		r.Status, r.Live = "active", true
	}
	return r
}

func (h *Handler) adminTokens(w http.ResponseWriter, r *http.Request, adm storage.Account) {
	h.renderTokens(w, r, adm, http.StatusOK, tokenForm{Scope: storage.TokenScopeRead, Expires: "90"}, nil, "", "")
}

func (h *Handler) renderTokens(w http.ResponseWriter, r *http.Request, adm storage.Account, status int, f tokenForm, fail *failure, secret, secretName string) {
	ctx := r.Context()
	toks, err := h.Accounts.ListAPITokens(ctx, adm.OrgID)
	if err != nil {
		h.serverError(w, r, "list API tokens", err)
		return
	}
	members, err := h.orgMembers(ctx, adm.OrgID)
	if err != nil {
		h.serverError(w, r, "list members", err)
		return
	}
	tv := &tokensView{Form: f, Secret: secret, SecretName: secretName, IsOwner: adm.Role == storage.RoleOwner}
	now := h.now()
	for _, t := range toks {
		tv.Rows = append(tv.Rows, h.tokenRowOf(t, members, now))
	}
	v := &view{Title: "API tokens", Admin: &adminView{Section: "tokens", Tokens: tv}}
	if secret != "" {
		v.Notice = "Token created. Copy the secret below now: it is shown only this once."
	}
	setFailure(v, fail)
	h.adminPage(w, r, status, "admin_tokens", adm, v)
}

func (h *Handler) adminTokenCreate(w http.ResponseWriter, r *http.Request, adm storage.Account) {
	if !h.parseForm(w, r) {
		return
	}
	f := tokenForm{Name: r.PostForm.Get("name"), Scope: r.PostForm.Get("scope"), Expires: r.PostForm.Get("expires")}
	spec := account.APITokenSpec{Name: f.Name, Scope: f.Scope}
	if f.Expires != "" {
		days, err := strconv.Atoi(f.Expires)
		if err != nil || !validExpiry(f.Expires) {
			h.renderTokens(w, r, adm, http.StatusBadRequest, f, &failure{Status: http.StatusBadRequest,
				Field: "token_expires", Message: "Choose when the token expires from the list."}, "", "")
			return
		}
		spec.ExpiresAt = h.now().AddDate(0, 0, days)
	}
	secret, t, err := h.Accounts.CreateAPITokenSpec(r.Context(), adm.OrgID, spec)
	if err != nil {
		fail, ok := h.refusal(w, r, "create API token", err)
		if !ok {
			return
		}
		fail.Field = map[string]string{"name": "token_name", "scope": "token_scope", "expires_at": "token_expires"}[fail.Field]
		if fail.Status == http.StatusForbidden {
			// Only an owner makes an owner token: said beside the choice.
			fail.Status, fail.Field = http.StatusForbidden, "token_scope"
			fail.Message = "Only an owner can create an owner token. Choose read or admin."
		}
		if fail.Status == http.StatusConflict {
			fail.Field, fail.Message = "token_name", "A token with this name already exists. Choose another name."
		}
		h.renderTokens(w, r, adm, fail.Status, f, fail, "", "")
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	h.renderTokens(w, r, adm, http.StatusCreated, tokenForm{Scope: storage.TokenScopeRead, Expires: "90"}, nil, secret, t.Name)
}

func validExpiry(v string) bool {
	for _, e := range tokenExpiries {
		if e.Value == v {
			return true
		}
	}
	return false
}

// tokenFor reads the {id} path value as one of the organization's tokens,
// answering 404 itself when it is not.
func (h *Handler) tokenFor(w http.ResponseWriter, r *http.Request, adm storage.Account) (storage.APIToken, bool) {
	toks, err := h.Accounts.ListAPITokens(r.Context(), adm.OrgID)
	if err != nil {
		h.serverError(w, r, "list API tokens", err)
		return storage.APIToken{}, false
	}
	for _, t := range toks {
		if t.ID == r.PathValue("id") {
			return t, true
		}
	}
	h.adminNotFound(w, r, "API token")
	return storage.APIToken{}, false
}

func (h *Handler) adminTokenRevokeConfirm(w http.ResponseWriter, r *http.Request, adm storage.Account) {
	t, ok := h.tokenFor(w, r, adm)
	if !ok {
		return
	}
	if !t.RevokedAt.IsZero() {
		seeOther(w, r, "/admin/tokens", "token-revoked")
		return
	}
	h.adminPage(w, r, http.StatusOK, "admin_confirm", adm, &view{
		Title: "Revoke " + t.Name,
		Admin: &adminView{Section: "tokens", Confirm: &confirmView{
			Heading: "Revoke this API token?", Detail: t.Name,
			Message: "Every script or system that uses it is refused from its next call, on every node. This cannot be undone; create a new token to give access again.",
			Action:  "/admin/tokens/" + url.PathEscape(t.ID) + "/revoke", Button: "Revoke token", Cancel: "/admin/tokens",
		}},
	})
}

func (h *Handler) adminTokenRevoke(w http.ResponseWriter, r *http.Request, adm storage.Account) {
	t, ok := h.tokenFor(w, r, adm)
	if !ok {
		return
	}
	if err := h.Accounts.RevokeAPIToken(r.Context(), adm.OrgID, t.ID); err != nil {
		fail, ok := h.refusal(w, r, "revoke API token", err)
		if !ok {
			return
		}
		if fail.Status == http.StatusForbidden {
			fail.Message = "Only an owner can revoke an owner token."
		}
		fail.Field = ""
		h.renderTokens(w, r, adm, fail.Status, tokenForm{Scope: storage.TokenScopeRead, Expires: "90"}, fail, "", "")
		return
	}
	seeOther(w, r, "/admin/tokens", "token-revoked")
}
