package apiview

import (
	"time"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// Organization is the JSON of an organization.
type Organization struct {
	ID        string    `json:"id"`
	Slug      string    `json:"slug"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// OrganizationFrom converts a storage record.
func OrganizationFrom(o storage.Organization) Organization {
	return Organization{ID: o.ID, Slug: o.Slug, Name: o.Name, CreatedAt: o.CreatedAt.UTC()}
}

// Member is the JSON of an account. It deliberately has no password hash:
// has_password says all a client needs to know.
type Member struct {
	ID          string    `json:"id"`
	Email       string    `json:"email"`
	DisplayName string    `json:"display_name"`
	Role        string    `json:"role"`
	Status      string    `json:"status"`
	HasPassword bool      `json:"has_password"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// MemberFrom converts a storage record.
func MemberFrom(a storage.Account) Member {
	return Member{
		ID: a.ID, Email: a.Email, DisplayName: a.DisplayName,
		Role: string(a.Role), Status: string(a.Status), HasPassword: a.PasswordHash != "",
		CreatedAt: a.CreatedAt.UTC(), UpdatedAt: a.UpdatedAt.UTC(),
	}
}

// Session is the JSON of a live session; the token and its hash never
// leave the server.
type Session struct {
	ID                 string    `json:"id"`
	Method             string    `json:"method"`
	CreatedAt          time.Time `json:"created_at"`
	LastSeenAt         time.Time `json:"last_seen_at"`
	ExpiresAt          time.Time `json:"expires_at"`
	IdleTimeoutSeconds int64     `json:"idle_timeout_seconds"`
	IP                 string    `json:"ip"`
	UserAgent          string    `json:"user_agent"`
}

// SessionFrom converts a storage record.
func SessionFrom(s storage.Session) Session {
	return Session{
		ID: s.ID, Method: s.Method, CreatedAt: s.CreatedAt.UTC(), LastSeenAt: s.LastSeenAt.UTC(),
		ExpiresAt: s.ExpiresAt.UTC(), IdleTimeoutSeconds: int64(s.IdleTimeout / time.Second),
		IP: s.IP, UserAgent: s.UserAgent,
	}
}

// ParseRole accepts "owner", "admin" or "member".
func ParseRole(field, s string) (storage.Role, error) {
	switch r := storage.Role(s); r {
	case storage.RoleOwner, storage.RoleAdmin, storage.RoleMember:
		return r, nil
	}
	return "", &account.InvalidInputError{Field: field, Message: `The role must be "owner", "admin" or "member".`}
}

// ParseStatus accepts "active" or "suspended".
func ParseStatus(field, s string) (storage.AccountStatus, error) {
	switch st := storage.AccountStatus(s); st {
	case storage.StatusActive, storage.StatusSuspended:
		return st, nil
	}
	return "", &account.InvalidInputError{Field: field, Message: `The status must be "active" or "suspended".`}
}

// MemberListing is a member as a search lists them: the Member fields and
// what the members page shows about them.
type MemberListing struct {
	Member
	// State is active, invited (no password and no sign-in yet) or
	// suspended.
	State            string     `json:"state"`
	LastSignInAt     *time.Time `json:"last_sign_in_at"` // null: never
	SignInMethods    []string   `json:"sign_in_methods"` // sso, password, passkey
	HasMFA           bool       `json:"has_mfa"`
	EmergencyPasskey bool       `json:"emergency_passkey"`
	PolicyID         string     `json:"policy_id"` // "" when no policy names them
}

// MemberPage is one page of a member search with the cursors of the
// pages around it ("" when there is none).
type MemberPage struct {
	Members    []MemberListing `json:"members"`
	NextCursor string          `json:"next_cursor"`
	PrevCursor string          `json:"prev_cursor"`
}

// MemberListingFrom converts a search result; state is members.StatusOf's.
func MemberListingFrom(l storage.MemberListing, state string) MemberListing {
	out := MemberListing{Member: MemberFrom(l.Account), State: state, HasMFA: l.HasMFA,
		EmergencyPasskey: l.EmergencyPasskey, PolicyID: l.PolicyID, SignInMethods: []string{}}
	if !l.LastSignInAt.IsZero() {
		t := l.LastSignInAt.UTC()
		out.LastSignInAt = &t
	}
	if l.SSOLinked {
		out.SignInMethods = append(out.SignInMethods, "sso")
	}
	if l.PasswordHash != "" {
		out.SignInMethods = append(out.SignInMethods, "password")
	}
	if l.HasPasskey {
		out.SignInMethods = append(out.SignInMethods, "passkey")
	}
	return out
}
