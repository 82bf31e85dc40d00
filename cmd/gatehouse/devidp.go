package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse-id/gatehouse/internal/devidp"
	"github.com/gatehouse-id/gatehouse/internal/saml"
	"github.com/gatehouse-id/gatehouse/internal/saml/samltest"
)

var devidpCmd = &cobra.Command{
	Use:   "devidp",
	Short: "Run a development SAML identity provider for trying Gatehouse locally",
	Long: `Run a small SAML 2.0 identity provider for trying Gatehouse on this computer,
without an Entra ID, Okta or ADFS tenant. It signs people in with the users you
give it and sends Entra-ID-shaped, signed responses.

Give Gatehouse's IdP connection the metadata URL it prints. The signing key is
generated on first start and kept in --state-dir, so Gatehouse keeps trusting
the IdP after a restart.

It is a development tool: passwords are plain text, and it posts responses
only to ACS URLs on this computer (or hosts allowed with --allow-acs-host).
` + "`gatehouse serve`" + ` never includes it.

Users file (--users):

  users:
    - email: alice@example.com
      password: correct horse
      given_name: Alice
      surname: Liddell
      groups: [engineering, admins]`,
	Example: `  gatehouse devidp --user alice@example.com:secret
  gatehouse devidp --users users.yaml --listen 127.0.0.1:9000`,
	Args: cobra.NoArgs,
	RunE: runDevIDP,
}

func init() {
	f := devidpCmd.Flags()
	f.String("listen", "127.0.0.1:8081", "address to listen on")
	f.String("base-url", "", "URL browsers reach the IdP at (default http://localhost:PORT when listening on loopback or everywhere, else http://<listen address>)")
	f.String("users", "", "YAML file with the users (see above)")
	f.StringArray("user", nil, "a user as email:password (repeatable)")
	f.String("key-file", "", "PEM private key to sign with (default: generated into --state-dir)")
	f.String("cert-file", "", "PEM certificate of --key-file")
	f.String("state-dir", "devidp-data", "directory that keeps the generated signing key and certificate")
	f.StringArray("allow-acs-host", nil, "host or host:port besides localhost that responses may be posted to (repeatable)")
	rootCmd.AddCommand(devidpCmd)
}

func runDevIDP(cmd *cobra.Command, _ []string) error {
	ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	f := cmd.Flags()
	listen, _ := f.GetString("listen")
	baseFlag, _ := f.GetString("base-url")
	usersFile, _ := f.GetString("users")
	quick, _ := f.GetStringArray("user")
	keyFile, _ := f.GetString("key-file")
	certFile, _ := f.GetString("cert-file")
	stateDir, _ := f.GetString("state-dir")
	allowed, _ := f.GetStringArray("allow-acs-host")

	users, err := devIDPUsers(usersFile, quick)
	if err != nil {
		return err
	}
	kp, keyFrom, err := devIDPKeypair(keyFile, certFile, stateDir, time.Now())
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", listen, err)
	}
	defer ln.Close()
	base := baseFlag
	if base == "" {
		base = devIDPBaseURL(ln.Addr())
	}
	log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelInfo}))
	idp, err := devidp.New(devidp.Config{
		BaseURL:         base,
		Users:           users,
		Key:             kp.Key,
		Cert:            kp.Cert,
		AllowedACSHosts: allowed,
		Logger:          log,
	})
	if err != nil {
		return err
	}
	printDevIDP(cmd.OutOrStdout(), idp, keyFrom, users, ln.Addr())

	srv := &http.Server{
		Handler:           idp.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("devidp: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("devidp: shutdown: %w", err)
	}
	fmt.Fprintln(cmd.OutOrStdout(), "Development IdP stopped.")
	return nil
}

// devIDPUsers merges the users file and the --user flags.
func devIDPUsers(usersFile string, quick []string) ([]devidp.User, error) {
	var users []devidp.User
	if usersFile != "" {
		u, err := devidp.LoadUsers(usersFile)
		if err != nil {
			return nil, err
		}
		users = u
	}
	for _, q := range quick {
		u, err := parseQuickUser(q)
		if err != nil {
			return nil, err
		}
		users = append(users, u)
	}
	if len(users) == 0 {
		return nil, errors.New("no users: add some with --user alice@example.com:password or --users users.yaml")
	}
	return users, nil
}

// parseQuickUser reads --user email:password. The password is everything
// after the first colon, so it may contain colons itself.
func parseQuickUser(s string) (devidp.User, error) {
	email, password, ok := strings.Cut(s, ":")
	email = strings.TrimSpace(email)
	if !ok || email == "" || password == "" {
		return devidp.User{}, fmt.Errorf("--user %q: write it as email:password", s)
	}
	if !strings.Contains(email, "@") {
		return devidp.User{}, fmt.Errorf("--user %q: %q is not an email address", s, email)
	}
	return devidp.User{Email: email, Password: password}, nil
}

// devIDPKeypair loads the signing key pair from --key-file/--cert-file, or
// from stateDir, generating and saving it there on first start. It returns
// where the key came from, for the banner.
func devIDPKeypair(keyFile, certFile, stateDir string, now time.Time) (*samltest.Keypair, string, error) {
	if keyFile != "" || certFile != "" {
		if keyFile == "" || certFile == "" {
			return nil, "", errors.New("--key-file and --cert-file go together")
		}
		kp, err := samltest.LoadKeypair(keyFile, certFile)
		if err != nil {
			return nil, "", fmt.Errorf("load the signing key: %w", err)
		}
		return kp, keyFile, nil
	}
	keyPath, certPath := filepath.Join(stateDir, "idp.key.pem"), filepath.Join(stateDir, "idp.crt.pem")
	_, keyErr := os.Stat(keyPath)
	_, certErr := os.Stat(certPath)
	switch {
	case keyErr == nil && certErr == nil:
		kp, err := samltest.LoadKeypair(keyPath, certPath)
		if err != nil {
			return nil, "", fmt.Errorf("load the signing key from %s: %w", stateDir, err)
		}
		return kp, keyPath, nil
	case keyErr == nil || certErr == nil:
		return nil, "", fmt.Errorf("%s has only one of idp.key.pem and idp.crt.pem; remove it to generate a new pair (Gatehouse must then trust the new certificate)", stateDir)
	case !errors.Is(keyErr, os.ErrNotExist):
		return nil, "", keyErr
	}
	kp, err := devidp.GenerateKeypair(now)
	if err != nil {
		return nil, "", err
	}
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return nil, "", err
	}
	if err := samltest.WriteKeypair(kp, keyPath, certPath); err != nil {
		return nil, "", fmt.Errorf("save the signing key: %w", err)
	}
	return kp, keyPath + " (new)", nil
}

// devIDPBaseURL is the URL for a listener address: the unspecified address
// (listening everywhere) and the loopback addresses localhost resolves to
// are reached as localhost. Gatehouse's own default URL is
// http://localhost:8080, and on plain http its browser-binding cookie is
// SameSite=Lax: the IdP's POST back is sent with it only from the same site,
// and http://127.0.0.1:8081 is another site than http://localhost:8080 (a
// browser then answered "in_response_to_mismatch").
func devIDPBaseURL(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "http://" + addr.String()
	}
	if ip := net.ParseIP(host); ip != nil && (ip.IsUnspecified() || ip.Equal(net.IPv4(127, 0, 0, 1)) || ip.Equal(net.IPv6loopback)) {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

func printDevIDP(w io.Writer, idp *devidp.IdP, keyFrom string, users []devidp.User, addr net.Addr) {
	fmt.Fprintf(w, "Gatehouse development IdP: for trying Gatehouse locally, not for real accounts.\n\n")
	fmt.Fprintf(w, "  metadata URL  %s\n", idp.MetadataURL())
	fmt.Fprintf(w, "  entity ID     %s\n", idp.EntityID())
	fmt.Fprintf(w, "  SSO URL       %s\n", idp.SSOURL())
	fmt.Fprintf(w, "  certificate   SHA-256 %s\n", saml.Fingerprint(idp.Certificate()))
	fmt.Fprintf(w, "  signing key   %s\n\n", keyFrom)
	fmt.Fprintf(w, "Users:\n")
	for _, u := range users {
		line := "  " + u.Email
		if name := strings.TrimSpace(u.GivenName + " " + u.Surname); u.DisplayName != "" || name != "" {
			line += "  (" + cmp.Or(u.DisplayName, name) + ")"
		}
		if len(u.Groups) > 0 {
			line += "  groups: " + strings.Join(u.Groups, ", ")
		}
		fmt.Fprintln(w, line)
	}
	if host, _, err := net.SplitHostPort(addr.String()); err == nil && !saml.IsLoopbackHost(host) {
		fmt.Fprintf(w, "\nNote: listening on %s, not only on this computer; anyone who can reach it can sign in as these users.\n", addr)
	}
	fmt.Fprintf(w, "\nGive Gatehouse's IdP connection the metadata URL. Press Ctrl-C to stop.\n")
}
