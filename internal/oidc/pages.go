package oidc

import (
	"context"
	"embed"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/storage"
	"github.com/gatehouse-id/gatehouse/internal/web/page"
)

// The pages a person sees from the provider: the errors that cannot go
// back to the app, and the sign-out confirmation. They are Gatehouse's
// own pages (internal/web/page's renderer and layout); the protocol's
// answers to apps are op's and unchanged.

//go:embed templates/*.html
var templateFS embed.FS

var oidcPages = page.MustParsePages(templateFS, nil)

// SetPages has the provider show its pages with r, the sign-in pages'
// renderer (web.Handler.Renderer), so they name the organization. Without
// it they have the same look under the product's name.
func (p *Provider) SetPages(r *page.Renderer) { p.pages = r }

// renderer is the renderer set by SetPages, or one that needs no services.
func (p *Provider) renderer() *page.Renderer {
	if p.pages != nil {
		return p.pages
	}
	return &page.Renderer{Log: p.log, Now: p.now}
}

// maxRequestID bounds an authorization request ID read from a URL; real
// ones are far shorter.
const maxRequestID = 128

// SignInApp names the app a sign-in continues to, for the sign-in pages
// (web.AppSignIns): returnTo must be this glue's /oidc/login?id=…, and
// the name and organization are those of the client of that stored,
// unexpired request. The browser chooses at most which live request it
// names, and the sign-in goes back to exactly that request, so the page
// names the app the person is about to enter.
func (p *Provider) SignInApp(ctx context.Context, returnTo string) (name, orgID string, ok bool) {
	u, err := url.Parse(returnTo)
	if err != nil || u.Path != PathLogin || u.Host != "" || u.Scheme != "" {
		return "", "", false
	}
	id := u.Query().Get("id")
	if id == "" || len(id) > maxRequestID {
		return "", "", false
	}
	rec, err := p.store.GetOIDCAuthRequest(ctx, id)
	if err != nil {
		if !errors.Is(err, storage.ErrNotFound) {
			p.log.WarnContext(ctx, "oidc: app name for the sign-in page", "err", err)
		}
		return "", "", false
	}
	if !p.now().Before(rec.ExpiresAt) {
		return "", "", false
	}
	app, err := p.apps.ByClientID(ctx, rec.ClientID)
	if err != nil || strings.TrimSpace(app.Name) == "" {
		return "", "", false
	}
	return app.Name, app.OrgID, true
}

// problem shows a person why their request stops here.
func (p *Provider) problem(w http.ResponseWriter, r *http.Request, pr page.Problem) {
	p.renderer().ShowProblem(w, r, pr)
}

// Sentences for the problems of the browser-facing endpoints.
const (
	msgStartAgain = "Go back to the app and start again. If it keeps happening, tell whoever runs the app."
	msgAskAdmin   = " If it keeps happening, tell whoever runs the app; they can fix it in its registration with Gatehouse."
)

// unknownRequest: /oidc/login or the callback with an id that is not (or
// no longer) a live request.
func unknownRequest() page.Problem {
	return page.Problem{Status: http.StatusBadRequest, Heading: "This sign-in has expired",
		Message: "It took too long, or it was already finished. " + msgStartAgain}
}

// expiredRequest: a request that was made but not finished in time.
func expiredRequest(app storage.App, known bool) page.Problem {
	pr := unknownRequest()
	pr.Message = "It took too long to finish. " + msgStartAgain
	if known {
		pr.OrgID = app.OrgID
		pr.Message = "It took too long to finish. Go back to " + app.Name + " and sign in again."
	}
	return pr
}

// withPages renders, as Gatehouse's pages, the errors op writes itself to
// the browser at the authorize, callback and end-session endpoints (plain
// text or JSON, never sent to an app because its redirect URI is not
// known to be the app's). What to say is worked out from the request
// with the registry, as the edge's own wording; op's decision stands.
func (p *Provider) withPages(next http.Handler, explain func(*http.Request) page.Problem) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Parsed here so the form is still readable after op consumed the
		// body: op parses the same, already-parsed request again.
		_ = r.ParseForm()
		pw := &pageWriter{ResponseWriter: w}
		next.ServeHTTP(pw, r)
		if !pw.held {
			return
		}
		pr := explain(r)
		if pw.status >= 500 {
			pr = page.Problem{Status: pw.status}
		} else if pr.Status == 0 {
			pr.Status = pw.status
		}
		w.Header().Del("Content-Length")
		p.log.InfoContext(r.Context(), "oidc: request refused in the browser", "path", r.URL.Path, "status", pw.status)
		p.problem(w, r, pr)
	})
}

// pageWriter holds back an error answer that is not a page (op's text or
// JSON) so withPages can answer with one instead; everything else passes.
type pageWriter struct {
	http.ResponseWriter
	wrote, held bool
	status      int
}

func (w *pageWriter) WriteHeader(code int) {
	if w.wrote {
		return
	}
	w.wrote = true
	if code >= 400 && !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") {
		w.held, w.status = true, code
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *pageWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	if w.held {
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the real writer.
func (w *pageWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// authorizeProblem explains a refused authorization request that op
// would not send back to the app: which app, if any, and whether the
// return address is one it registered. A redirect URI is matched
// exactly, as the client says (client.RedirectURIs).
func (p *Provider) authorizeProblem(r *http.Request) page.Problem {
	clientID, redirect := r.Form.Get("client_id"), r.Form.Get("redirect_uri")
	if clientID == "" {
		return page.Problem{Status: http.StatusBadRequest, Heading: "This sign-in link is incomplete",
			Message: "The app that sent you here didn't say which app it is, so you can't sign in to it. " + msgStartAgain}
	}
	app, err := p.apps.ByClientID(r.Context(), clientID)
	if err != nil {
		if !errors.Is(err, storage.ErrNotFound) {
			p.log.WarnContext(r.Context(), "oidc: app for the error page", "err", err)
		}
		return page.Problem{Status: http.StatusBadRequest, Heading: "This app isn't registered",
			Message: "The app that sent you here isn't registered with Gatehouse, so you can't sign in to it here. " +
				"Tell whoever runs the app; an admin registers it in Gatehouse."}
	}
	if !slices.Contains(app.RedirectURIs, redirect) {
		return page.Problem{Status: http.StatusBadRequest, OrgID: app.OrgID,
			Heading: app.Name + " can't sign you in",
			Message: app.Name + " asked to send you back to an address that isn't registered for it, so you " +
				"weren't sent there. Whoever manages " + app.Name + " in Gatehouse needs to add that address to " +
				"the app's registration."}
	}
	return page.Problem{Status: http.StatusBadRequest, OrgID: app.OrgID,
		Heading: app.Name + " can't sign you in",
		Message: app.Name + " sent a sign-in request that Gatehouse can't accept." + msgAskAdmin}
}

// callbackProblem: op could not hand out the code of a finished request.
func (p *Provider) callbackProblem(*http.Request) page.Problem { return unknownRequest() }

// endSessionProblem: a sign-out request op refused (an address not
// registered for after sign-out, a damaged or foreign id_token_hint).
func (p *Provider) endSessionProblem(*http.Request) page.Problem {
	return page.Problem{Status: http.StatusBadRequest, Heading: "This sign-out request isn't valid",
		Message: "The app asked to sign you out in a way Gatehouse can't accept, so nothing was changed: " +
			"if you were signed in, you still are. You can sign out from your account page." + msgAskAdmin,
		LinkHref: "/account", LinkText: "Go to your account"}
}
