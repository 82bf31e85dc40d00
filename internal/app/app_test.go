package app_test

import (
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/storage/sqlstore"
)

// Dialect names the database actually opened, including SQLite chosen
// explicitly through database_url (which serve once logged as "postgres").
func TestDialect(t *testing.T) {
	for name, dbURL := range map[string]string{
		"default":  "",
		"explicit": "sqlite://" + filepath.Join(t.TempDir(), "explicit.db"),
	} {
		t.Run(name, func(t *testing.T) {
			cfg := config.Default()
			cfg.DataDir = t.TempDir()
			cfg.DatabaseURL = dbURL
			a, err := app.Open(t.Context(), cfg, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer a.Close()
			if got := a.Dialect(); got != sqlstore.DialectSQLite {
				t.Fatalf("Dialect() = %q, want %q", got, sqlstore.DialectSQLite)
			}
		})
	}
}
