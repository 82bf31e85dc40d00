package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse-id/gatehouse/internal/server"
)

var serveCmd = &cobra.Command{
	Use:   "serve",
	Short: "Run the Gatehouse server",
	Long: `Run the Gatehouse server. On first start (no owner yet) it prints a one-time
link, valid for one hour, that creates the first organization and its owner.`,
	Args: cobra.NoArgs,
	RunE: runServe,
}

func init() {
	serveCmd.Flags().String("listen", "", "address to listen on (GATEHOUSE_LISTEN, default 127.0.0.1:8080)")
	serveCmd.Flags().String("public-url", "", "URL people reach Gatehouse at (GATEHOUSE_PUBLIC_URL)")
	rootCmd.AddCommand(serveCmd)
}

func runServe(cmd *cobra.Command, _ []string) error {
	ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	cfg, err := loadConfig(cmd)
	if err != nil {
		return err
	}
	a, err := appOpen(ctx, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	log := a.Log

	handler, err := server.Handler(a)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	// The write timeout stays above the request deadline, so that a
	// request that reaches its deadline can still be sent its 503.
	writeTimeout := max(60*time.Second, cfg.HTTP.RequestTimeout+10*time.Second)
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          nil,
	}
	var metricsSrv *http.Server
	var metricsLn net.Listener
	if cfg.Metrics.Listen != "" {
		metricsLn, err = net.Listen("tcp", cfg.Metrics.Listen)
		if err != nil {
			_ = ln.Close()
			return fmt.Errorf("listen on %s (metrics.listen): %w", cfg.Metrics.Listen, err)
		}
		metricsSrv = &http.Server{
			Handler:           server.MetricsHandler(a),
			ReadHeaderTimeout: 10 * time.Second,
			WriteTimeout:      30 * time.Second,
			MaxHeaderBytes:    16 << 10,
		}
	}

	bg, cancelBG := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelBG()
	go a.Sessions.Run(bg)
	// Keeps this node's view of registered apps (hosts, return URLs) fresh.
	go a.Apps.Run(bg)
	// Ends emergencies whose time ran out (safe on every node).
	go a.Emergencies.Run(bg, 30*time.Second)
	go func() {
		// Refreshes IdP metadata fetched from URLs; returns when bg ends.
		if err := a.IdPs.Run(bg); err != nil && bg.Err() == nil {
			log.Error("metadata refresher stopped", "err", err)
		}
	}()
	go func() {
		// Purges sign-in flows that expired.
		if err := a.SignIn.Run(bg); err != nil && bg.Err() == nil {
			log.Error("sign-in flow purger stopped", "err", err)
		}
	}()
	go func() {
		// Purges used AuthnRequests and expired replay-cache entries.
		if err := a.SSO.Run(bg); err != nil && bg.Err() == nil {
			log.Error("SSO state purger stopped", "err", err)
		}
	}()
	go func() {
		// SSO health: abandoned sign-ins, probes, incidents, certificate expiry.
		if err := a.Health.Run(bg); err != nil && bg.Err() == nil {
			log.Error("SSO health monitor stopped", "err", err)
		}
	}()

	// OpenID Provider: signing keys of every configured algorithm, rotated
	// on schedule (safe on every node), and purging of expired requests,
	// tokens and retired keys.
	go a.OIDC.Run(bg)

	// The admin CLI prints SAML and OIDC addresses and links on this URL,
	// whatever its own configuration says (every node writes the same).
	if err := a.Deployment.RecordPublicURL(ctx, cfg.PublicURL); err != nil {
		return fmt.Errorf("record the public URL: %w", err)
	}
	log.Info("gatehouse listening", "addr", ln.Addr().String(), "public_url", cfg.PublicURL,
		"database", a.Dialect())
	link, err := a.Accounts.EnsureSetupLink(ctx)
	if err != nil {
		return fmt.Errorf("first-admin link: %w", err)
	}
	printServing(cmd.OutOrStdout(), cfg.PublicURL, ln.Addr().String(), link)

	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(ln) }()
	if metricsSrv != nil {
		log.Info("metrics listening", "addr", metricsLn.Addr().String())
		go func() {
			if err := metricsSrv.Serve(metricsLn); !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("metrics listener: %w", err)
			}
		}()
	}
	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("http server: %w", err)
		}
	case <-ctx.Done():
		log.Info("shutting down", "timeout", cfg.HTTP.ShutdownTimeout.String())
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.HTTP.ShutdownTimeout)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			log.Warn("shutdown incomplete", "err", err)
		}
	}
	if metricsSrv != nil {
		_ = metricsSrv.Close()
	}
	cancelBG()
	log.Info("stopped")
	return nil
}

// printServing tells the operator, in words on stdout, where Gatehouse
// answers and whether set-up is still pending; the JSON log on stderr says
// the same for machines. stdout is where an operator running serve by hand
// looks, and where the first-admin link has always gone.
func printServing(w io.Writer, publicURL, addr, setupLink string) {
	publicURL = strings.TrimRight(publicURL, "/")
	fmt.Fprintf(w, "Gatehouse is serving %s (listening on %s).\n", publicURL, addr)
	if setupLink == "" {
		fmt.Fprintf(w, "Set-up is done: sign in at %s/login; owners and admins manage it at %s/admin.\n", publicURL, publicURL)
		return
	}
	fmt.Fprintf(w, "\nSet-up is pending: Gatehouse has no owner yet. Open this link within 1 hour to create the first organization and its owner:\n\n    %s\n\nThe link works once. Restart Gatehouse to get a new one if it expires.\n\n", setupLink)
}
