package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse-id/gatehouse/internal/devapp"
)

var devappCmd = &cobra.Command{
	Use:   "devapp",
	Short: "Run a development OpenID Connect app that signs in through Gatehouse",
	Long: `Run a small web app that signs people in through Gatehouse with OpenID
Connect (authorization code flow with PKCE), for trying Gatehouse's provider on
this computer. It shows the ID token's claims and the userinfo answer, refreshes
tokens and signs out through Gatehouse.

Register it first, with the redirect URI it needs:

  gatehouse admin app add --org acme --name "Dev app" \
    --redirect-uri http://localhost:9000/callback \
    --post-logout-uri http://localhost:9000/ --scope profile --scope email \
    --scope groups --scope offline_access

and give it the client ID and secret that prints. It is a development tool:
sessions live in memory. ` + "`gatehouse serve`" + ` never includes it.`,
	Example: `  GATEHOUSE_DEVAPP_SECRET=ghs_… gatehouse devapp --client-id <client ID>`,
	Args:    cobra.NoArgs,
	RunE:    runDevApp,
}

func init() {
	f := devappCmd.Flags()
	f.String("listen", "127.0.0.1:9000", "address to listen on")
	f.String("base-url", "", "URL browsers reach the app at (default http://localhost:PORT)")
	f.String("issuer", "http://localhost:8080", "Gatehouse's public URL")
	f.String("client-id", "", "the app's client ID (required)")
	f.String("client-secret", "", "the app's client secret (or GATEHOUSE_DEVAPP_SECRET; empty for a public app)")
	_ = devappCmd.MarkFlagRequired("client-id")
	rootCmd.AddCommand(devappCmd)
}

func runDevApp(cmd *cobra.Command, _ []string) error {
	ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	f := cmd.Flags()
	listen, _ := f.GetString("listen")
	base, _ := f.GetString("base-url")
	issuer, _ := f.GetString("issuer")
	clientID, _ := f.GetString("client-id")
	secret, _ := f.GetString("client-secret")
	if secret == "" {
		secret = os.Getenv("GATEHOUSE_DEVAPP_SECRET")
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", listen, err)
	}
	defer ln.Close()
	if base == "" {
		base = fmt.Sprintf("http://localhost:%d", ln.Addr().(*net.TCPAddr).Port)
	}
	log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelInfo}))
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	app, err := devapp.New(dctx, devapp.Config{Issuer: issuer, BaseURL: base, ClientID: clientID, ClientSecret: secret, Logger: log})
	cancel()
	if err != nil {
		return fmt.Errorf("%w (is Gatehouse running at %s?)", err, issuer)
	}
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "Development app: %s/\n", base)
	fmt.Fprintf(out, "  signs in through %s as client %s\n", issuer, clientID)
	fmt.Fprintf(out, "  redirect URI to register: %s\n", app.RedirectURI())

	srv := &http.Server{Handler: app.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second, MaxHeaderBytes: 64 << 10}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("devapp: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancelShutdown := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancelShutdown()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("devapp: shutdown: %w", err)
	}
	fmt.Fprintln(out, "Development app stopped.")
	return nil
}
