package page

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/gatehouse-id/gatehouse/internal/httpserver"
	"github.com/gatehouse-id/gatehouse/internal/reqctx"
	"github.com/gatehouse-id/gatehouse/internal/session"
)

type sessionKey struct{}

// CurrentSession returns the signed-in session RequireSession put on r.
func CurrentSession(r *http.Request) (session.Validated, bool) {
	v, ok := r.Context().Value(sessionKey{}).(session.Validated)
	return v, ok
}

// Current validates r's session cookie. A cookie that names no live session
// is cleared so the browser stops sending it. err is set only when the
// answer is unknown (the database failed), never for a dead session.
func (h *Renderer) Current(w http.ResponseWriter, r *http.Request) (session.Validated, bool, error) {
	token := h.Sessions.TokenFromRequest(r)
	if token == "" {
		return session.Validated{}, false, nil
	}
	v, err := h.Sessions.Validate(r.Context(), token)
	if errors.Is(err, session.ErrInvalid) {
		h.Sessions.ClearCookie(w)
		return session.Validated{}, false, nil
	}
	if err != nil {
		return session.Validated{}, false, err
	}
	return v, true, nil
}

// RequireSession lets only signed-in requests through to next, with the
// session available from CurrentSession and the account named as the actor
// of audit events. Others go to /login, coming back here afterwards.
func (h *Renderer) RequireSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, ok, err := h.Current(w, r)
		if err != nil {
			h.ServerError(w, r, "validate session", err)
			return
		}
		if !ok {
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				http.Redirect(w, r, LoginPath(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			// A form posted after the session ended: say so, and come back
			// to the page the form was on (not to the post's own address,
			// which only takes forms) once signed in again.
			q := url.Values{"notice": {"session-ended"}}
			if p := FormPage(r); p != "" && p != DefaultReturnTo {
				q.Set("return_to", p)
			}
			http.Redirect(w, r, "/login?"+q.Encode(), http.StatusSeeOther)
			return
		}
		ctx := context.WithValue(r.Context(), sessionKey{}, v)
		ctx = reqctx.WithActor(ctx, "account", v.Account.ID, v.Account.Email)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// ParseForm parses r's form, answering 413 or 400 itself when it cannot.
func (h *Renderer) ParseForm(w http.ResponseWriter, r *http.Request) bool {
	err := httpserver.ParseForm(r)
	if err == nil {
		return true
	}
	if errors.Is(err, httpserver.ErrBodyTooLarge) {
		h.ErrorPage(w, r, http.StatusRequestEntityTooLarge, "")
		return false
	}
	h.ErrorPage(w, r, http.StatusBadRequest, err.Error())
	return false
}

// ServerError logs err and shows the 500 page with the request ID.
func (h *Renderer) ServerError(w http.ResponseWriter, r *http.Request, what string, err error) {
	h.Logger().ErrorContext(r.Context(), "web: "+what, "err", err, "path", r.URL.Path)
	h.ErrorPage(w, r, http.StatusInternalServerError, "")
}
