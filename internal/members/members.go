// Package members serves the members page at scale: search with filters
// and keyset paging, bulk actions on a selection, CSV export of a search
// and CSV import that invites people. It knows no HTTP: the console and
// the admin API render what it returns. Changes go through account.Service
// and policy.Service, so each member's change is checked (no-lockout, last
// owner, owner-only) and audited as it is when made one at a time.
package members

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/errs"
	"github.com/gatehouse-id/gatehouse/internal/policy"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// Service searches, exports, imports and changes members in bulk.
type Service struct {
	store    storage.Store
	accounts *account.Service
	policies *policy.Service // nil: no "move to a policy"
	log      *slog.Logger
}

// New returns a Service. policies may be nil.
func New(store storage.Store, accounts *account.Service, policies *policy.Service, log *slog.Logger) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{store: store, accounts: accounts, policies: policies, log: log}
}

// Query is a search as the console's form and the API's query string give
// it: every field a plain string, checked here.
type Query struct {
	Q                         string // prefix of email or name, any case
	Role                      string // owner, admin, member or ""
	Status                    string // active, invited, suspended or ""
	Policy                    string // a policy ID, "-" (no explicit policy) or ""
	Method                    string // sso, password, passkey or ""
	NoMFA, NoEmergencyPasskey bool
	Sort                      string // email, name, last_sign_in, created ("" email)
	Desc                      bool
	// After and Before are cursors from a Page (at most one).
	After, Before string
	Limit         int
}

// Page is one page of a search with the cursors of its neighbours ("" when
// there is none).
type Page struct {
	Members    []storage.MemberListing
	Next, Prev string
}

// MaxPrefix bounds the search text.
const MaxPrefix = 200

// ToStorage checks q and turns it into the storage query for orgID.
func (q Query) ToStorage(orgID string) (storage.MemberQuery, error) {
	out := storage.MemberQuery{
		OrgID: orgID, Prefix: storage.NameKey(strings.TrimSpace(q.Q)), Limit: q.Limit,
		NoMFA: q.NoMFA, NoEmergencyPasskey: q.NoEmergencyPasskey, Desc: q.Desc,
	}
	if len(out.Prefix) > MaxPrefix {
		return out, errs.NewInvalid("q", fmt.Sprintf("Search for at most %d characters.", MaxPrefix))
	}
	switch storage.Role(q.Role) {
	case "", storage.RoleOwner, storage.RoleAdmin, storage.RoleMember:
		out.Role = storage.Role(q.Role)
	default:
		return out, errs.NewInvalid("role", "The role must be owner, admin or member.")
	}
	switch q.Status {
	case "", storage.StatusFilterActive, storage.StatusFilterInvited, storage.StatusFilterSuspended:
		out.Status = q.Status
	default:
		return out, errs.NewInvalid("status", "The status must be active, invited or suspended.")
	}
	switch q.Method {
	case "", storage.MethodSSO, storage.MethodPassword, storage.MethodPasskey:
		out.Method = q.Method
	default:
		return out, errs.NewInvalid("method", "The sign-in method must be sso, password or passkey.")
	}
	switch q.Sort {
	case "", storage.SortEmail, storage.SortName, storage.SortLastSignIn, storage.SortCreated:
		out.Sort = q.Sort
	default:
		return out, errs.NewInvalid("sort", "Sort by email, name, last_sign_in or created.")
	}
	out.PolicyID = q.Policy
	if q.After != "" && q.Before != "" {
		return out, errs.NewInvalid("cursor", "Give one of after and before.")
	}
	for _, c := range []struct {
		s   string
		dst **storage.MemberCursor
	}{{q.After, &out.After}, {q.Before, &out.Before}} {
		if c.s == "" {
			continue
		}
		cur, err := DecodeCursor(c.s)
		if err != nil {
			return out, err
		}
		*c.dst = &cur
	}
	return out, nil
}

// Search returns one page of orgID's members; any reader of the
// organization may search.
func (s *Service) Search(ctx context.Context, orgID string, q Query) (Page, error) {
	sq, err := q.ToStorage(orgID)
	if err != nil {
		return Page{}, err
	}
	if _, err := authz.RequireReader(ctx, s.store, orgID); err != nil {
		return Page{}, err
	}
	p, err := s.store.SearchMembers(ctx, sq)
	if err != nil {
		if errors.Is(err, storage.ErrBadQuery) {
			return Page{}, errs.NewInvalid("cursor", "This page link is not valid any more; start from the first page.")
		}
		return Page{}, fmt.Errorf("members: search: %w", err)
	}
	out := Page{Members: p.Members}
	if n := len(p.Members); n > 0 {
		if p.HasNext {
			out.Next = EncodeCursor(storage.CursorOf(p.Members[n-1], sq.Sort))
		}
		if p.HasPrev {
			out.Prev = EncodeCursor(storage.CursorOf(p.Members[0], sq.Sort))
		}
	}
	return out, nil
}

// EncodeCursor makes a cursor an opaque URL-safe string. It is not a
// secret: a reader who edits one only moves within what they may see.
func EncodeCursor(c storage.MemberCursor) string {
	return base64.RawURLEncoding.EncodeToString([]byte(c.Key + "\x00" + c.ID))
}

// DecodeCursor reads EncodeCursor's output.
func DecodeCursor(s string) (storage.MemberCursor, error) {
	bad := errs.NewInvalid("cursor", "This page link is not valid any more; start from the first page.")
	if len(s) > 1024 {
		return storage.MemberCursor{}, bad
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return storage.MemberCursor{}, bad
	}
	key, id, ok := strings.Cut(string(b), "\x00")
	if !ok {
		return storage.MemberCursor{}, bad
	}
	return storage.MemberCursor{Key: key, ID: id}, nil
}
