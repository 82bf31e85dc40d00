package storage

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/errs"
)

// ErrBadQuery: a MemberQuery names an unknown sort, status or method, or
// carries a cursor that is not one.
var ErrBadQuery error = errs.New(errs.Invalid, "", "storage: bad query")

// Member sort orders (MemberQuery.Sort).
const (
	SortEmail      = "email"
	SortName       = "name"
	SortLastSignIn = "last_sign_in"
	SortCreated    = "created"
)

// Member filters on MemberQuery.Status beyond the stored AccountStatus
// values: an invited member is an active account that has neither a
// password nor a sign-in yet (someone who has not taken up the invitation
// or the SSO link); StatusFilterActive is an active account that is not
// invited.
const (
	StatusFilterActive    = "active"
	StatusFilterInvited   = "invited"
	StatusFilterSuspended = "suspended"
)

// Sign-in method filters (MemberQuery.Method).
const (
	MethodSSO      = "sso"      // linked to an IdP subject
	MethodPassword = "password" // has a password
	MethodPasskey  = "passkey"  // has a passkey (everyday or emergency)
)

// PolicyFilterDefault in MemberQuery.PolicyID selects the accounts the
// default policy covers (no other policy names them, their IdP groups or
// their email domain), or that no policy covers because there are none.
const PolicyFilterDefault = "-"

// MemberQuery selects one page of an organization's members.
type MemberQuery struct {
	OrgID string
	// Prefix, when set, keeps the accounts whose email or lowercased
	// display name starts with it. The caller lowercases it.
	Prefix   string
	Role     Role   // "" for any
	Status   string // StatusFilter*, "" for any
	PolicyID string // the covering policy's ID (PolicyFor's rule), PolicyFilterDefault, or "" for any
	Method   string // Method*, "" for any
	// NoMFA keeps accounts with neither a confirmed authenticator app nor
	// an everyday passkey; NoEmergencyPasskey those without a usable
	// emergency passkey.
	NoMFA, NoEmergencyPasskey bool

	Sort string // Sort*; "" is SortEmail
	Desc bool
	// After, when set, starts the page just past this position in the
	// order; Before ends it just before (the previous page). At most one.
	After, Before *MemberCursor
	Limit         int // at most 500; 0 means 50
}

// MemberCursor is a position in a MemberQuery's order: the sort key of a
// row and its ID (the tie-break).
type MemberCursor struct {
	Key string // text keys as they are; times as unix microseconds in decimal
	ID  string
}

// MemberListing is one account on a members page with what the page shows
// about it.
type MemberListing struct {
	Account
	LastSignInAt     time.Time // zero when never
	SSOLinked        bool
	HasPasskey       bool
	HasMFA           bool
	EmergencyPasskey bool
	PolicyID         string // the policy that covers the account (PolicyFor's rule), "" when none
}

// MemberPage is a page of MemberListings in the query's order, with
// whether more rows lie before its first and after its last.
type MemberPage struct {
	Members          []MemberListing
	HasPrev, HasNext bool
}

// Members searches an organization's members for the console and the API.
type Members interface {
	// SearchMembers returns one page. Paging is by keyset over (sort key,
	// ID), so a page deep in a large organization costs what the first
	// does, and rows added or removed meanwhile never shift or repeat
	// others. The store keeps each account's lowercased name and last
	// sign-in (set by CreateSession) itself.
	SearchMembers(ctx context.Context, q MemberQuery) (MemberPage, error)
}

// CursorOf is the position of l in the given sort order.
func CursorOf(l MemberListing, sort string) MemberCursor {
	switch sort {
	case SortName:
		return MemberCursor{Key: NameKey(l.DisplayName), ID: l.ID}
	case SortLastSignIn:
		return MemberCursor{Key: microKey(l.LastSignInAt), ID: l.ID}
	case SortCreated:
		return MemberCursor{Key: microKey(l.CreatedAt), ID: l.ID}
	}
	return MemberCursor{Key: l.Email, ID: l.ID}
}

// NameKey is the form of a display name that name search and sorting
// compare: lowercased, so "ada" finds "Ada Lovelace".
func NameKey(displayName string) string { return strings.ToLower(displayName) }

// microKey is t as a cursor key: unix microseconds, 0 for the zero time
// (as the store keeps times).
func microKey(t time.Time) string {
	if t.IsZero() {
		return "0"
	}
	return strconv.FormatInt(t.UnixMicro(), 10)
}
