package app_test

import (
	"log/slog"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/config"
)

// Passkeys follow the public URL: on a domain name (localhost included)
// the relying party is that host; on an IP address there are none, and
// Gatehouse still starts.
func TestPasskeysFollowThePublicURL(t *testing.T) {
	for publicURL, wantRPID := range map[string]string{
		"http://localhost:8080":         "localhost",
		"https://id.acme.example:8443/": "id.acme.example",
		"http://127.0.0.1:8080":         "",
	} {
		t.Run(publicURL, func(t *testing.T) {
			cfg := config.Default()
			cfg.DataDir = t.TempDir()
			cfg.PublicURL = publicURL
			a, err := app.Open(t.Context(), cfg, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer a.Close()
			if wantRPID == "" {
				if a.Passkeys != nil {
					t.Fatalf("passkeys on an IP address: %+v", a.Passkeys.Config())
				}
				return
			}
			if a.Passkeys == nil || a.Passkeys.Config().RPID != wantRPID {
				t.Fatalf("passkeys = %v, want RP ID %s", a.Passkeys, wantRPID)
			}
		})
	}
}
