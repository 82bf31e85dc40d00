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
