package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/httpserver"
	"github.com/gatehouse-id/gatehouse/internal/lockout"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// The account page's passkey notices, added to the page's fixed set here
// so the passkey section stays in its own file.
func init() {
	notices["passkey-added"] = "Your passkey was added."
	notices["passkey-renamed"] = "Your passkey was renamed."
	notices["passkey-removed"] = "Your passkey was removed. It no longer signs you in."
}

// passkeysUnavailable is what /account says when passkeys cannot work
// here (Handler.Passkeys is nil: the public URL is an IP address).
const passkeysUnavailable = "Passkeys need Gatehouse on a domain name, such as localhost or id.example.com, " +
	"not an IP address. Ask your administrator to set Gatehouse's public URL to a domain name."

// passkeySection is the "Passkeys" card of /account.
type passkeySection struct {
	Unavailable string // set when passkeys cannot be used here, and why
	Rows        []passkeyRow
}

// passkeyRow is one passkey in the list.
type passkeyRow struct {
	ID             string
	Name           string
	Created        time.Time
	CreatedAt      string // "2 Jan 2026"
	LastUsed       string // "5 minutes ago", "never"
	Emergency      bool
	CloneSuspected bool
}

// passkeySection lists acct's passkeys for /account; a failure to read
// them shows the rest of the page and logs.
func (h *Handler) passkeySection(r *http.Request, acct storage.Account) *passkeySection {
	if h.Passkeys == nil {
		return &passkeySection{Unavailable: passkeysUnavailable}
	}
	pks, err := h.Passkeys.List(r.Context(), acct.ID)
	if err != nil {
		h.log().ErrorContext(r.Context(), "list passkeys", "err", err)
		return &passkeySection{}
	}
	now := h.now()
	sec := &passkeySection{}
	for _, pk := range pks {
		row := passkeyRow{
			ID: pk.ID, Name: pk.Name, Created: pk.CreatedAt, CreatedAt: pk.CreatedAt.UTC().Format("2 Jan 2006"),
			LastUsed: "never", Emergency: pk.Emergency, CloneSuspected: !pk.CloneSuspectedAt.IsZero(),
		}
		if !pk.LastUsedAt.IsZero() {
			row.LastUsed = ago(now, pk.LastUsedAt)
		}
		sec.Rows = append(sec.Rows, row)
	}
	return sec
}

// passkeyAnswer is the JSON the passkey script reads: the options and
// challenge to continue with, or where to go, or a sentence to show.
type passkeyAnswer struct {
	ChallengeID string          `json:"challenge_id,omitempty"`
	Options     json.RawMessage `json:"options,omitempty"`
	Redirect    string          `json:"redirect,omitempty"`
}

// passkeyRegisterRequest is what the script posts to begin and finish.
type passkeyRegisterRequest struct {
	Emergency   bool            `json:"emergency"`
	Name        string          `json:"name"`
	ChallengeID string          `json:"challenge_id"`
	Credential  json.RawMessage `json:"credential"`
}

// passkeyJSONError answers the script with a sentence to show.
func (h *Handler) passkeyJSONError(w http.ResponseWriter, r *http.Request, err error) {
	status, code, msg := http.StatusInternalServerError, "internal_error", "Something went wrong on our side, so the passkey was not added. Try again in a moment."
	switch {
	case errors.Is(err, mfa.ErrPasskeyRefused):
		status, code, msg = http.StatusBadRequest, "passkey_refused", "Your passkey could not be added. Try again, or use another passkey."
	case errors.Is(err, mfa.ErrPasskeyName):
		status, code, msg = http.StatusBadRequest, "invalid_request", "Name the passkey in at most 64 characters."
	case errors.Is(err, authz.ErrForbidden):
		status, code, msg = http.StatusForbidden, "forbidden", "You can only add passkeys to your own account."
	case errors.Is(err, httpserver.ErrUnsupportedMediaType):
		status, code, msg = http.StatusUnsupportedMediaType, "unsupported_media_type", err.Error()
	case errors.Is(err, httpserver.ErrBodyTooLarge):
		status, code, msg = http.StatusRequestEntityTooLarge, "payload_too_large", "That was more than we accept."
	case errors.Is(err, errPasskeyBadRequest):
		status, code, msg = http.StatusBadRequest, "invalid_request", "The request could not be read. Reload the page and try again."
	default:
		h.log().ErrorContext(r.Context(), "passkey registration", "err", err)
	}
	httpserver.WriteJSONError(w, status, code, msg)
}

var errPasskeyBadRequest = errors.New("web: unreadable passkey request")

func (h *Handler) decodePasskeyRequest(w http.ResponseWriter, r *http.Request) (passkeyRegisterRequest, bool) {
	var req passkeyRegisterRequest
	if err := httpserver.DecodeJSON(w, r, &req); err != nil {
		if errors.Is(err, httpserver.ErrUnsupportedMediaType) && !strings.Contains(r.Header.Get("Accept"), "application/json") {
			// A plain form post: the browser ran without the script.
			h.ErrorPage(w, r, http.StatusUnsupportedMediaType, "Adding a passkey needs JavaScript turned on in this browser.")
			return req, false
		}
		if !errors.Is(err, httpserver.ErrUnsupportedMediaType) && !errors.Is(err, httpserver.ErrBodyTooLarge) {
			err = errors.Join(errPasskeyBadRequest, err)
		}
		h.passkeyJSONError(w, r, err)
		return req, false
	}
	return req, true
}

// passkeyRegisterOptions begins adding a passkey: POST JSON
// {"emergency": bool} → {"challenge_id", "options"}.
func (h *Handler) passkeyRegisterOptions(w http.ResponseWriter, r *http.Request) {
	if h.Passkeys == nil {
		httpserver.WriteJSONError(w, http.StatusConflict, "passkeys_unavailable", passkeysUnavailable)
		return
	}
	req, ok := h.decodePasskeyRequest(w, r)
	if !ok || h.requireRecentSignInJSON(w, r) {
		return
	}
	v, _ := CurrentSession(r)
	ctx := authz.AsAccount(r.Context(), v.Account)
	opts, id, err := h.Passkeys.BeginRegistration(ctx, v.Account, req.Emergency)
	if err != nil {
		h.passkeyJSONError(w, r, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, passkeyAnswer{ChallengeID: id, Options: opts})
}

// passkeyRegisterFinish stores the new passkey: POST JSON
// {"challenge_id", "name", "credential"} → {"redirect"}.
func (h *Handler) passkeyRegisterFinish(w http.ResponseWriter, r *http.Request) {
	if h.Passkeys == nil {
		httpserver.WriteJSONError(w, http.StatusConflict, "passkeys_unavailable", passkeysUnavailable)
		return
	}
	req, ok := h.decodePasskeyRequest(w, r)
	if !ok {
		return
	}
	v, _ := CurrentSession(r)
	ctx := authz.AsAccount(r.Context(), v.Account)
	if _, err := h.Passkeys.FinishRegistration(ctx, v.Account, req.ChallengeID, req.Credential, req.Name); err != nil {
		h.passkeyJSONError(w, r, err)
		return
	}
	httpserver.WriteJSON(w, http.StatusOK, passkeyAnswer{Redirect: "/account?notice=passkey-added#passkeys-heading"})
}

// passkeyRename renames a passkey (a plain form post).
func (h *Handler) passkeyRename(w http.ResponseWriter, r *http.Request) {
	h.passkeyChange(w, r, "passkey-renamed", func(v storage.Account) error {
		return h.Passkeys.Rename(authz.AsAccount(r.Context(), v), v, r.PathValue("id"), r.PostForm.Get("name"))
	})
}

// passkeyRemove removes a passkey (a plain form post).
func (h *Handler) passkeyRemove(w http.ResponseWriter, r *http.Request) {
	h.passkeyChange(w, r, "passkey-removed", func(v storage.Account) error {
		return h.Passkeys.Remove(authz.AsAccount(r.Context(), v), v, r.PathValue("id"))
	})
}

func (h *Handler) passkeyChange(w http.ResponseWriter, r *http.Request, done string, change func(storage.Account) error) {
	if !h.parseForm(w, r) {
		return
	}
	if h.Passkeys == nil {
		h.ErrorPage(w, r, http.StatusConflict, passkeysUnavailable)
		return
	}
	v, _ := CurrentSession(r)
	err := change(v.Account)
	switch {
	case err == nil:
		http.Redirect(w, r, "/account?notice="+done+"#passkeys-heading", http.StatusSeeOther)
	case errors.Is(err, mfa.ErrPasskeyNotFound):
		h.ErrorPage(w, r, http.StatusNotFound, "That passkey is not one of yours, or it was already removed.")
	case errors.Is(err, lockout.ErrLastBreakGlassFactor):
		h.ErrorPage(w, r, http.StatusConflict, err.Error())
	case errors.Is(err, mfa.ErrPasskeyName):
		h.ErrorPage(w, r, http.StatusBadRequest, "Name the passkey in at most 64 characters. Go back and try a shorter name.")
	case errors.Is(err, authz.ErrForbidden):
		h.ErrorPage(w, r, http.StatusForbidden, "You can only change your own passkeys.")
	default:
		h.serverError(w, r, "change passkey", err)
	}
}

// registerPasskeys mounts the passkey routes of /account. Every one needs
// the session; the middleware checks CSRF on each POST (the script sends
// the token in the X-CSRF-Token header).
func (h *Handler) registerPasskeys(mux *http.ServeMux) {
	mux.Handle("POST /account/passkeys/register/options", h.RequireSession(http.HandlerFunc(h.passkeyRegisterOptions)))
	mux.Handle("POST /account/passkeys/register/finish", h.RequireSession(http.HandlerFunc(h.passkeyRegisterFinish)))
	mux.Handle("POST /account/passkeys/{id}/rename", h.RequireSession(http.HandlerFunc(h.passkeyRename)))
	mux.Handle("POST /account/passkeys/{id}/remove", h.RequireSession(http.HandlerFunc(h.passkeyRemove)))
}
