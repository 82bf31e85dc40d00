// Package authz decides who may read and change an organization's data. A
// service asks it, inside its own transaction, before it reads or writes:
// the actor named in the context (internal/reqctx) is resolved against the
// records as they are now (an account's role and status, a token's scope
// and revocation), so a demoted admin or a revoked token loses its
// authority at once, whichever node answers.
//
// It fails closed: a context with no actor, an anonymous one, an unknown
// kind, an account or token of another organization, a suspended account
// or a revoked token is refused with ErrForbidden — never taken for the
// organization's full authority.
//
// authz is a leaf: it imports only internal/storage, internal/reqctx and
// internal/errs, so
// every service (account, domain, idp, policy, later scim) can call it.
package authz

import (
	"context"
	"errors"
	"fmt"
	"github.com/gatehouse-id/gatehouse/internal/errs"

	"github.com/gatehouse-id/gatehouse/internal/reqctx"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// Kind is the kind of an actor. Its value is the actor type recorded in
// reqctx.Info and on audit events.
type Kind string

// The actor kinds. Anything else (including "" and "anonymous") acts for
// nobody.
const (
	// KindAccount is a person signed in to the console, with their role.
	KindAccount Kind = "account"
	// KindToken is an API token, with its scope.
	KindToken Kind = "api_token"
	// KindCLI is the operator running gatehouse on the server: whoever can
	// run it can read the database and the secret key anyway.
	KindCLI Kind = "cli"
	// KindSystem is Gatehouse itself: background jobs such as the metadata
	// refresher.
	KindSystem Kind = "system"
	// KindSCIM is reserved for SCIM connections; until their scope is
	// defined they are refused like any unknown kind.
	KindSCIM Kind = "scim"
)

// Errors callers match with errors.Is. Their texts are safe to show people.
var (
	// ErrForbidden: the actor may not do this in this organization (a
	// member, a read-only token changing something, no actor at all).
	ErrForbidden error = errs.New(errs.Forbidden, "forbidden", "You are not allowed to do this.")
	// ErrOwnerOnly: an admin (or admin-scoped token) tried to make someone
	// an owner, to change, suspend or sign out an owner, or to decide how
	// owners sign in; only owners may.
	ErrOwnerOnly error = errs.New(errs.Forbidden, "owner_only", "Only an owner can make someone an owner, or change or suspend an owner.")
)

// Actor is who acts, as resolved against an organization's records.
type Actor struct {
	Kind  Kind
	ID    string // account ID, token ID, the CLI operator's user name, the job's name
	Email string // the account's email, or the token's name
	OrgID string // the organization the actor was resolved in
	// Role is the account's role (KindAccount only).
	Role storage.Role
	// Scope is the token's scope (KindToken only).
	Scope string
}

// AsAccount returns ctx acting as a signed-in account.
func AsAccount(ctx context.Context, a storage.Account) context.Context {
	return reqctx.WithActor(ctx, string(KindAccount), a.ID, a.Email)
}

// AsToken returns ctx acting as an API token.
func AsToken(ctx context.Context, t storage.APIToken) context.Context {
	return reqctx.WithActor(ctx, string(KindToken), t.ID, t.Name)
}

// AsCLI returns ctx acting as the operator running the CLI on the server.
func AsCLI(ctx context.Context, operator string) context.Context {
	return reqctx.WithActor(ctx, string(KindCLI), operator, "")
}

// AsSystem returns ctx acting as Gatehouse itself, for job (e.g.
// "idp.refresh").
func AsSystem(ctx context.Context, job string) context.Context {
	return reqctx.WithActor(ctx, string(KindSystem), job, "")
}

// Store is what resolving an actor and the owner guards read.
type Store interface {
	storage.Accounts
	storage.APITokens
	storage.Policies
}

// Resolve returns the actor ctx names, checked against orgID in tx, or
// ErrForbidden when ctx names nobody who may act in orgID.
func Resolve(ctx context.Context, tx Store, orgID string) (Actor, error) {
	info := reqctx.From(ctx)
	a := Actor{Kind: Kind(info.ActorType), ID: info.ActorID, Email: info.ActorEmail, OrgID: orgID}
	if orgID == "" {
		return Actor{}, ErrForbidden
	}
	switch a.Kind {
	case KindCLI, KindSystem:
		return a, nil
	case KindAccount:
		if a.ID == "" {
			return Actor{}, ErrForbidden
		}
		acct, err := tx.GetAccount(ctx, a.ID)
		if errors.Is(err, storage.ErrNotFound) {
			return Actor{}, ErrForbidden
		}
		if err != nil {
			return Actor{}, fmt.Errorf("authz: read the acting account: %w", err)
		}
		if acct.OrgID != orgID || acct.Status != storage.StatusActive {
			return Actor{}, ErrForbidden
		}
		a.Email, a.Role = acct.Email, acct.Role
		return a, nil
	case KindToken:
		if a.ID == "" {
			return Actor{}, ErrForbidden
		}
		// Listed within orgID: another organization's token is not found.
		toks, err := tx.ListAPITokens(ctx, orgID)
		if err != nil {
			return Actor{}, fmt.Errorf("authz: read the acting token: %w", err)
		}
		for _, t := range toks {
			if t.ID == a.ID && t.OrgID == orgID && t.RevokedAt.IsZero() {
				a.Email, a.Scope = t.Name, t.Scope
				return a, nil
			}
		}
		return Actor{}, ErrForbidden
	}
	return Actor{}, ErrForbidden
}

// CanRead reports whether the actor may read the organization's
// administrative data (members, tokens, audit log, SSO configuration).
func (a Actor) CanRead() bool {
	switch a.Kind {
	case KindCLI, KindSystem:
		return true
	case KindAccount:
		return a.Role == storage.RoleAdmin || a.Role == storage.RoleOwner
	case KindToken:
		return validScope(a.Scope)
	}
	return false
}

// IsAdmin reports whether the actor may change the organization's data
// (anything but what is an owner's alone).
func (a Actor) IsAdmin() bool {
	switch a.Kind {
	case KindCLI, KindSystem:
		return true
	case KindAccount:
		return a.Role == storage.RoleAdmin || a.Role == storage.RoleOwner
	case KindToken:
		return a.Scope == storage.TokenScopeAdmin || a.Scope == storage.TokenScopeOwner
	}
	return false
}

// IsOwner reports whether the actor may act on owners and on how owners
// sign in.
func (a Actor) IsOwner() bool {
	switch a.Kind {
	case KindCLI, KindSystem:
		return true
	case KindAccount:
		return a.Role == storage.RoleOwner
	case KindToken:
		return a.Scope == storage.TokenScopeOwner
	}
	return false
}

func validScope(s string) bool {
	return s == storage.TokenScopeRead || s == storage.TokenScopeAdmin || s == storage.TokenScopeOwner
}

// CheckScope returns the scope a new token gets ("" means admin) or an
// error naming the valid ones.
func CheckScope(scope string) (string, error) {
	if scope == "" {
		return storage.TokenScopeAdmin, nil
	}
	if !validScope(scope) {
		return "", fmt.Errorf("authz: unknown token scope %q", scope)
	}
	return scope, nil
}

// RequireReader returns the actor if it may read orgID's administrative
// data, else ErrForbidden.
func RequireReader(ctx context.Context, tx Store, orgID string) (Actor, error) {
	return require(ctx, tx, orgID, Actor.CanRead)
}

// RequireAdmin returns the actor if it may change orgID's data, else
// ErrForbidden (a member, a read token, no actor).
func RequireAdmin(ctx context.Context, tx Store, orgID string) (Actor, error) {
	return require(ctx, tx, orgID, Actor.IsAdmin)
}

// require resolves the actor and lets it through only if may says so.
func require(ctx context.Context, tx Store, orgID string, may func(Actor) bool) (Actor, error) {
	a, err := Resolve(ctx, tx, orgID)
	if err != nil {
		return Actor{}, err
	}
	if !may(a) {
		return Actor{}, ErrForbidden
	}
	return a, nil
}

// RequireOwner returns the actor if it may act on orgID's owners, else
// ErrOwnerOnly (an admin, an admin token) or ErrForbidden (anyone who may
// not change anything at all).
func RequireOwner(ctx context.Context, tx Store, orgID string) (Actor, error) {
	a, err := RequireAdmin(ctx, tx, orgID)
	if err != nil {
		return Actor{}, err
	}
	if !a.IsOwner() {
		return Actor{}, ErrOwnerOnly
	}
	return a, nil
}
