package apiview

import (
	"time"

	"github.com/gatehouse-id/gatehouse/internal/account"
)

// SSOLink is the JSON of one of a member's SSO links. ID names it in
// DELETE /members/{id}/sso-links/{link}.
type SSOLink struct {
	ID             string    `json:"id"`
	ConnectionID   string    `json:"connection_id"`
	ConnectionName string    `json:"connection_name"`
	Subject        string    `json:"subject"`
	CreatedAt      time.Time `json:"created_at"`
	LastLoginAt    time.Time `json:"last_login_at"`
}

// SSOLinkFrom converts a member's link.
func SSOLinkFrom(l account.MemberLink) SSOLink {
	return SSOLink{
		ID: l.ID, ConnectionID: l.ConnectionID, ConnectionName: l.ConnectionName, Subject: l.Subject,
		CreatedAt: l.CreatedAt.UTC(), LastLoginAt: l.LastLoginAt.UTC(),
	}
}
