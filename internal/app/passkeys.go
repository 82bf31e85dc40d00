package app

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// newPasskeys builds the passkey service for the configured public URL:
// the relying party is its host (without port), the accepted origin its
// scheme and host. On an IP-address public URL (the default
// http://127.0.0.1:8080 included) passkeys cannot work, since browsers and
// go-webauthn refuse IP addresses as RP IDs: it returns nil, logs once
// how to get them, and the account page explains the same to people.
func newPasskeys(st storage.Store, cfg config.Config, log *slog.Logger, now func() time.Time) (*mfa.Passkeys, error) {
	if cfg.PublicURL == "" {
		// Only a config that never went through config.Load (tests,
		// tools) has none; it serves no pages anyway.
		return nil, nil
	}
	rp, err := mfa.PasskeyConfigFromURL(cfg.PublicURL, cfg.ProductName)
	if errors.Is(err, mfa.ErrPasskeysUnavailable) {
		log.Info("passkeys are off: public_url is an IP address; set it to a domain name (e.g. http://localhost:8080) to use them",
			"public_url", cfg.PublicURL)
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("app: passkeys: %w", err)
	}
	pk, err := mfa.NewPasskeys(st, rp, log, now)
	if errors.Is(err, mfa.ErrPasskeysUnavailable) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("app: passkeys: %w", err)
	}
	return pk, nil
}
