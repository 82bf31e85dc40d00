// Command gatehouse is Gatehouse's one binary: serve, migrate, config
// validate, recover and the admin commands.
package main

import (
	"context"
	"fmt"
	"os"
	"os/user"

	"github.com/spf13/cobra"

	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/deployment"
	"github.com/gatehouse-id/gatehouse/internal/reqctx"
)

var rootCmd = &cobra.Command{
	Use:           "gatehouse",
	Short:         "Gatehouse signs your people in through your identity provider, and keeps them working when it breaks.",
	SilenceUsage:  true,
	SilenceErrors: true,
}

func init() {
	pf := rootCmd.PersistentFlags()
	pf.String("config", "", "YAML configuration file (also GATEHOUSE_CONFIG)")
	pf.String("data-dir", "", "data directory for the embedded SQLite database and the mail outbox (GATEHOUSE_DATA_DIR)")
	pf.String("database-url", "", "postgres://… to use PostgreSQL instead of SQLite (GATEHOUSE_DATABASE_URL)")
}

// loadConfig reads the configuration: defaults, then the YAML file, then
// GATEHOUSE_* variables, then command-line flags.
func loadConfig(cmd *cobra.Command) (config.Config, error) {
	path, _ := cmd.Flags().GetString("config")
	if path == "" {
		path = os.Getenv("GATEHOUSE_CONFIG")
	}
	environ := os.Environ()
	for flag, key := range map[string]string{"data-dir": "data_dir", "database-url": "database_url", "listen": "listen", "public-url": "public_url"} {
		f := cmd.Flags().Lookup(flag)
		if f != nil && f.Changed {
			environ = append(environ, config.EnvName(key)+"="+f.Value.String())
		}
	}
	return config.Load(path, environ)
}

// openApp loads the configuration and opens the database directly, so
// admin commands work on the server even when HTTP does not. It opens only
// a database that exists (one run from the wrong directory names where it
// looked instead of creating an empty one), and builds on the public URL
// the server recorded, saying so on stderr when this command's own
// configuration names another.
func openApp(cmd *cobra.Command) (*app.App, error) {
	return openAppWith(cmd, app.Options{ExistingOnly: true, PreferRecordedPublicURL: true})
}

func openAppWith(cmd *cobra.Command, opts app.Options) (*app.App, error) {
	cfg, err := loadConfig(cmd)
	if err != nil {
		return nil, err
	}
	// Commands log to stderr as text at warn: stdout is for their output.
	cfg.Log.Format, cfg.Log.Level = "text", "warn"
	a, err := app.OpenWith(cmd.Context(), cfg, app.NewLogger(cfg.Log, cmd.ErrOrStderr()), opts)
	if err != nil {
		return nil, err
	}
	if a.RecordedPublicURL != "" && deployment.Differs(a.RecordedPublicURL, cfg.PublicURL) {
		fmt.Fprintf(cmd.ErrOrStderr(), "note: the server runs at %s (recorded at its last start); this command's configuration says %s; using %s.\n",
			a.RecordedPublicURL, cfg.PublicURL, a.RecordedPublicURL)
	}
	return a, nil
}

// cliContext marks ctx as acting on behalf of the operator at the console,
// so audit events name who ran the command.
func cliContext(ctx context.Context) context.Context {
	name := "unknown"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	return reqctx.With(ctx, reqctx.Info{ActorType: "cli", ActorID: name, IP: "local"})
}

func main() {
	ctx := context.Background()
	if err := rootCmd.ExecuteContext(ctx); err != nil {
		// A *config.ValidationError's message already lists every problem.
		fmt.Fprintln(os.Stderr, "gatehouse:", err)
		os.Exit(1)
	}
}
