package oidc

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
)

// Corrections Gatehouse makes around the op package's endpoints, where its
// answer would be wrong for Gatehouse's apps.

// publicClientNoSecret refuses, at the endpoints a client authenticates
// to, a public app that presents a client secret: it has none, so the
// secret is either an attacker's guess or a misconfigured app, and
// RFC 6749 §5.2 answers invalid_client. op would ignore the secret and
// treat the request as the public app's (PKCE alone).
func (p *Provider) publicClientNoSecret(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			next.ServeHTTP(w, r)
			return
		}
		id, secret, basic := r.BasicAuth()
		if basic {
			// RFC 6749 §2.3.1: both are form-encoded inside Basic.
			id, _ = url.QueryUnescape(id)
			secret, _ = url.QueryUnescape(secret)
		} else if err := r.ParseForm(); err == nil {
			id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
		}
		if secret != "" && id != "" {
			if app, err := p.appByClientID(r.Context(), id); err == nil && app.Public {
				if basic {
					w.Header().Set("WWW-Authenticate", `Basic realm="gatehouse"`)
				}
				writeOAuthError(w, http.StatusUnauthorized, "invalid_client", "This client is public: it has no client secret.")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// bearerErrors makes userinfo answer a token it refuses as RFC 6750 §3.1
// says: 401 with a WWW-Authenticate challenge. op answers a token that
// decodes but is no longer live (revoked, signed out, its app deleted)
// with 403, which tells an app "not allowed" instead of "sign in again".
func bearerErrors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		for k, v := range rec.Header() {
			if k != "Content-Length" {
				w.Header()[k] = v // CORS headers among them
			}
		}
		if rec.Code != http.StatusUnauthorized && rec.Code != http.StatusForbidden {
			w.WriteHeader(rec.Code)
			_, _ = w.Write(rec.Body.Bytes())
			return
		}
		if strings.Contains(rec.Body.String(), "missing") {
			w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse"`)
			writeOAuthError(w, http.StatusUnauthorized, "invalid_request", "No access token was presented.")
			return
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse", error="invalid_token"`)
		writeOAuthError(w, http.StatusUnauthorized, "invalid_token", "The access token is not valid.")
	})
}

func writeOAuthError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}
