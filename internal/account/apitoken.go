package account

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/reqctx"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// APITokenPrefix starts every API token, so a leaked one is recognizable
// (secret scanners, logs) and a session cookie is never mistaken for one.
const APITokenPrefix = "gh_"

// apiTokenTouchInterval bounds how often a token's LastUsedAt is written:
// one write per minute is plenty for "last used" and spares the database
// a write per API call.
const apiTokenTouchInterval = time.Minute

// CreateAPIToken creates an admin-scoped organization API token; see
// CreateAPITokenWithScope.
func (s *Service) CreateAPIToken(ctx context.Context, orgID, name string) (string, storage.APIToken, error) {
	return s.CreateAPITokenWithScope(ctx, orgID, name, storage.TokenScopeAdmin)
}

// CreateAPITokenWithScope creates an organization API token of scope
// (storage.TokenScopeRead, Admin or Owner; "" is admin) and returns its
// secret, which is shown once and stored only as a hash. Only an actor who
// may change the organization creates tokens, and only an owner (an owner
// account, an owner token, the CLI) creates an owner token: no one hands
// out more authority than they hold.
func (s *Service) CreateAPITokenWithScope(ctx context.Context, orgID, name, scope string) (string, storage.APIToken, error) {
	return s.CreateAPITokenSpec(ctx, orgID, APITokenSpec{Name: name, Scope: scope})
}

// APITokenSpec is what a new API token is made with.
type APITokenSpec struct {
	Name  string
	Scope string // read, admin ("" too) or owner
	// ExpiresAt is when the token stops working; zero: never. It must be
	// in the future, and at most maxAPITokenLifetime away.
	ExpiresAt time.Time
}

// maxAPITokenLifetime bounds an expiry: a date decades away is a typo,
// and "never" is said by leaving it out.
const maxAPITokenLifetime = 5 * 366 * 24 * time.Hour

// CreateAPITokenSpec creates an organization API token as spec says; see
// CreateAPITokenWithScope for who may.
func (s *Service) CreateAPITokenSpec(ctx context.Context, orgID string, spec APITokenSpec) (string, storage.APIToken, error) {
	name, scope := spec.Name, spec.Scope
	if err := checkID("org_id", "organization", orgID); err != nil {
		return "", storage.APIToken{}, err
	}
	name, err := cleanText("name", "The token name", name, 100, false)
	if err != nil {
		return "", storage.APIToken{}, err
	}
	if scope, err = authz.CheckScope(scope); err != nil {
		return "", storage.APIToken{}, &InvalidInputError{Field: "scope", Message: "The scope must be read, admin or owner."}
	}
	now := s.clock()
	expires := storage.Truncate(spec.ExpiresAt)
	if !expires.IsZero() && !expires.After(now) {
		return "", storage.APIToken{}, &InvalidInputError{Field: "expires_at", Message: "The expiry must be in the future."}
	}
	if !expires.IsZero() && expires.Sub(now) > maxAPITokenLifetime {
		return "", storage.APIToken{}, &InvalidInputError{Field: "expires_at", Message: "The expiry must be within five years; leave it out for a token that does not expire."}
	}
	raw, err := newSecret()
	if err != nil {
		return "", storage.APIToken{}, err
	}
	secret := APITokenPrefix + raw
	t := storage.APIToken{
		ID:        uuid.NewString(),
		OrgID:     orgID,
		Name:      name,
		TokenHash: hashToken(secret),
		Scope:     scope,
		CreatedBy: createdBy(reqctx.From(ctx)),
		CreatedAt: now,
		ExpiresAt: expires,
	}
	err = s.store.InTx(ctx, func(tx storage.Store) error {
		if _, err := tx.GetOrganization(ctx, orgID); err != nil {
			return mapErr(err, "organization "+strconv.Quote(orgID))
		}
		if err := requireAdminFor(ctx, tx, orgID, scope == storage.TokenScopeOwner); err != nil {
			return err
		}
		// Checked up front so the answer names the clash (and a failed
		// INSERT does not poison a PostgreSQL transaction).
		existing, err := tx.ListAPITokens(ctx, orgID)
		if err != nil {
			return fmt.Errorf("account: list API tokens: %w", err)
		}
		for _, e := range existing {
			if e.Name == name {
				return mapErr(storage.ErrConflict, "an API token named "+strconv.Quote(name))
			}
		}
		if err := tx.CreateAPIToken(ctx, t); err != nil {
			return mapErr(err, "an API token named "+strconv.Quote(name))
		}
		details := map[string]string{"name": name, "scope": scope}
		if !expires.IsZero() {
			details["expires_at"] = expires.UTC().Format(time.RFC3339)
		}
		return s.record(ctx, tx, now, storage.AuditEvent{
			OrgID: orgID, Action: "api_token.create", TargetType: "api_token", TargetID: t.ID,
			Details: details,
		})
	})
	if err != nil {
		return "", storage.APIToken{}, err
	}
	return secret, t, nil
}

// createdBy names who creates a token: an account ID, or the kind of actor
// ("cli", "system") when no person is signed in.
func createdBy(info reqctx.Info) string {
	switch {
	case info.ActorType == "account" && info.ActorID != "":
		return info.ActorID
	case info.ActorType == "api_token" && info.ActorID != "":
		return "api_token:" + info.ActorID
	case info.ActorType != "":
		return info.ActorType
	}
	return "system"
}

// ListAPITokens lists an organization's API tokens (never their secrets).
func (s *Service) ListAPITokens(ctx context.Context, orgID string) ([]storage.APIToken, error) {
	if err := checkID("org_id", "organization", orgID); err != nil {
		return nil, err
	}
	if _, err := s.store.GetOrganization(ctx, orgID); err != nil {
		return nil, mapErr(err, "organization "+strconv.Quote(orgID))
	}
	if _, err := authz.RequireReader(ctx, s.store, orgID); err != nil {
		return nil, err
	}
	ts, err := s.store.ListAPITokens(ctx, orgID)
	return ts, mapErr(err, "API tokens")
}

// RevokeAPIToken revokes one of an organization's API tokens. Revoking a
// revoked token again is not an error and is not audited twice. An owner
// token is an owner's to revoke, as signing out an owner is.
func (s *Service) RevokeAPIToken(ctx context.Context, orgID, id string) error {
	if err := checkID("org_id", "organization", orgID); err != nil {
		return err
	}
	if err := checkID("id", "API token", id); err != nil {
		return err
	}
	now := s.clock()
	what := "API token " + strconv.Quote(id) + " in this organization"
	return s.store.InTx(ctx, func(tx storage.Store) error {
		if err := requireAdminFor(ctx, tx, orgID, false); err != nil {
			return err
		}
		ts, err := tx.ListAPITokens(ctx, orgID)
		if err != nil {
			return fmt.Errorf("account: list API tokens: %w", err)
		}
		var t *storage.APIToken
		for i := range ts {
			if ts[i].ID == id {
				t = &ts[i]
			}
		}
		if t == nil {
			return notFound(what)
		}
		if t.Scope == storage.TokenScopeOwner {
			if err := requireAdminFor(ctx, tx, orgID, true); err != nil {
				return err
			}
		}
		if !t.RevokedAt.IsZero() {
			return nil
		}
		if err := tx.RevokeAPIToken(ctx, orgID, id, now); err != nil {
			return mapErr(err, what)
		}
		return s.record(ctx, tx, now, storage.AuditEvent{
			OrgID: orgID, Action: "api_token.revoke", TargetType: "api_token", TargetID: id,
			Details: map[string]string{"name": t.Name},
		})
	})
}

// AuthenticateAPIToken returns the live token a bearer secret names
// (constant-time by construction: lookup by SHA-256), or ErrBadCredentials
// for an unknown, revoked or expired one. A use is recorded (time and the
// request's client address, reqctx) when the address changed or the last
// recorded use is a minute old, so busy tokens cost no write per call.
func (s *Service) AuthenticateAPIToken(ctx context.Context, secret string) (storage.APIToken, error) {
	if !strings.HasPrefix(secret, APITokenPrefix) || len(secret) > 200 {
		return storage.APIToken{}, ErrBadCredentials
	}
	t, err := s.store.GetAPITokenByHash(ctx, hashToken(secret))
	if errors.Is(err, storage.ErrNotFound) {
		return storage.APIToken{}, ErrBadCredentials
	}
	if err != nil {
		return storage.APIToken{}, fmt.Errorf("account: look up API token: %w", err)
	}
	now := s.clock()
	if !t.RevokedAt.IsZero() || APITokenExpired(t, now) {
		return storage.APIToken{}, ErrBadCredentials
	}
	ip := reqctx.From(ctx).IP
	if now.Sub(t.LastUsedAt) >= apiTokenTouchInterval || ip != t.LastUsedIP {
		if err := s.store.TouchAPIToken(ctx, t.ID, now, ip); err != nil {
			// "Last used" is informational; never fail a call over it.
			s.log.WarnContext(ctx, "recording API token use failed", "token_id", t.ID, "err", err)
		} else {
			t.LastUsedAt, t.LastUsedIP = now, ip
		}
	}
	return t, nil
}

// APITokenExpired reports whether t has an expiry and it has passed at now.
func APITokenExpired(t storage.APIToken, now time.Time) bool {
	return !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt)
}
