// Package server is the one place that mounts every route: the sign-in
// pages (with the SAML endpoints under /saml/), the JSON admin API,
// forward-auth for reverse proxies (/auth/verify) and the operational
// endpoints, wrapped in the httpserver middleware.
package server

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gatehouse-id/gatehouse/internal/adminapi"
	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/forwardauth"
	"github.com/gatehouse-id/gatehouse/internal/httpserver"
	"github.com/gatehouse-id/gatehouse/internal/members"
	"github.com/gatehouse-id/gatehouse/internal/oidc"
	"github.com/gatehouse-id/gatehouse/internal/ratelimit"
	"github.com/gatehouse-id/gatehouse/internal/web"
	"github.com/gatehouse-id/gatehouse/internal/web/console"
)

// Handler builds Gatehouse's complete HTTP handler for a. /metrics is part
// of it unless metrics.listen moves it to a listener of its own
// (MetricsHandler).
func Handler(a *app.App) (http.Handler, error) {
	mux := http.NewServeMux()
	limiter := ratelimit.New(a.Store, a.Now)
	pages := &web.Handler{
		Accounts: a.Accounts, Sessions: a.Sessions, SignIn: a.SignIn, Metrics: a.Metrics, Log: a.Log, Now: a.Now,
		ProductName: a.Config.ProductName, ResetLinkTTL: a.Config.Tokens.ResetTTL,
		Domains: a.Domains, SSO: a.SSO, IdPs: a.IdPs, Health: a.Health,
		Secure: a.Config.Secure(), Limiter: limiter, OrgRecovery: a.OrgRecovery,
		MFA: a.MFA,
		// Absolute return URLs: Gatehouse's own origin and registered
		// apps' hosts.
		Returns: a.Apps,
	}
	pages.Passkeys = a.Passkeys // nil on an IP-address public URL: /account explains
	// The sign-in pages name the app a sign-in is for; the provider shows
	// its error and sign-out pages with theirs.
	pages.Apps = a.OIDC
	if err := pages.Register(mux); err != nil {
		return nil, err
	}
	a.OIDC.SetPages(pages.Renderer())
	memberSvc := members.New(a.Store, a.Accounts, a.Policies, a.Log)
	admin := &console.Handler{
		Accounts: a.Accounts, Sessions: a.Sessions, Log: a.Log, Now: a.Now, ProductName: a.Config.ProductName,
		Members: memberSvc,
		Domains: a.Domains, Policies: a.Policies, SSO: a.SSO, IdPs: a.IdPs, Audit: a.Audit, Limiter: limiter,
		BreakGlass: a.BreakGlass, OrgRecovery: a.OrgRecovery,
		Health: a.Health, Emergencies: a.Emergencies, Readiness: a.Readiness, MFA: a.MFA, Apps: a.Apps,
	}
	if err := admin.Register(mux); err != nil {
		return nil, err
	}
	api := &adminapi.Handler{Accounts: a.Accounts, Sessions: a.Sessions, Members: memberSvc, Domains: a.Domains, IdPs: a.IdPs, Policies: a.Policies,
		Health: a.Health, Emergencies: a.Emergencies, Readiness: a.Readiness, Audit: a.Audit, Limiter: limiter, Log: a.Log, Now: a.Now,
		BreakGlass: a.BreakGlass, OrgRecovery: a.OrgRecovery, MFA: a.MFA, Apps: a.Apps}
	api.Register(mux)
	// The OpenID Provider: discovery, /oidc/… and its login glue.
	a.OIDC.Register(mux)
	verify := &forwardauth.Handler{Sessions: a.Sessions, Apps: a.Apps, Orgs: a.Accounts, PublicURL: a.Config.PublicURL, Log: a.Log}
	if err := verify.Register(mux); err != nil {
		return nil, err
	}

	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := a.Store.Ready(ctx); err != nil {
			a.Log.WarnContext(ctx, "not ready", "err", err)
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("not ready: database unreachable or not migrated\n"))
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	if a.Config.Metrics.Listen == "" {
		mux.Handle("GET /metrics", metricsEndpoint(a))
	}

	proxies, err := config.ParsePrefixes(a.Config.HTTP.TrustedProxies)
	if err != nil {
		return nil, fmt.Errorf("server: http.trusted_proxies: %w", err)
	}
	srv, err := httpserver.New(httpserver.Options{
		Log: a.Log, Metrics: a.Metrics, PublicURL: a.Config.PublicURL, Secure: a.Config.Secure(),
		TrustedProxies: proxies, ErrorPage: pages.ErrorPage, Now: a.Now, RequestTimeout: a.Config.HTTP.RequestTimeout,
		CSRFExempt: oidc.CSRFExempt,
	})
	if err != nil {
		return nil, err
	}
	return srv.Handler(mux), nil
}

// MetricsHandler serves /metrics alone, for the separate listener that
// metrics.listen names; every other path is 404.
func MetricsHandler(a *app.App) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metricsEndpoint(a))
	return mux
}

func metricsEndpoint(a *app.App) http.Handler {
	return promhttp.HandlerFor(a.Registry, promhttp.HandlerOpts{})
}
