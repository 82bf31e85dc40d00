package apiview

import (
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// Token is the JSON of an API token: never its secret or hash.
type Token struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Scope      string     `json:"scope"` // read, admin or owner
	CreatedBy  string     `json:"created_by"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"` // null if never used
	// LastUsedIP is the client address of the last recorded use ("" if
	// never used).
	LastUsedIP string     `json:"last_used_ip"`
	ExpiresAt  *time.Time `json:"expires_at"` // null: never expires
	RevokedAt  *time.Time `json:"revoked_at"` // null while live
	Revoked    bool       `json:"revoked"`
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

// TokenFrom converts a storage record.
func TokenFrom(t storage.APIToken) Token {
	return Token{
		ID: t.ID, Name: t.Name, Scope: t.Scope, CreatedBy: t.CreatedBy, CreatedAt: t.CreatedAt.UTC(),
		LastUsedAt: optTime(t.LastUsedAt), LastUsedIP: t.LastUsedIP, ExpiresAt: optTime(t.ExpiresAt),
		RevokedAt: optTime(t.RevokedAt), Revoked: !t.RevokedAt.IsZero(),
	}
}

// CreatedToken is the answer to POST /tokens: the only time the secret is
// ever shown.
type CreatedToken struct {
	Token  Token  `json:"token"`
	Secret string `json:"secret"`
}
