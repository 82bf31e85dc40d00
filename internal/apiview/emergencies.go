package apiview

import (
	"time"

	"github.com/gatehouse-id/gatehouse/internal/emergency"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// Actor is who did something, as the audit log records it.
type Actor struct {
	Type  string `json:"type"` // account, api_token, cli, system
	ID    string `json:"id"`
	Email string `json:"email,omitempty"`
}

// Emergency is the JSON of an emergency (failback mode).
type Emergency struct {
	ID        string     `json:"id"`
	Reason    string     `json:"reason"`
	Active    bool       `json:"active"` // in force now
	StartedAt time.Time  `json:"started_at"`
	EndsAt    time.Time  `json:"ends_at"`
	EndedAt   *time.Time `json:"ended_at"`   // null while open
	EndReason string     `json:"end_reason"` // "ended", "expired" or "" while open
	StartedBy Actor      `json:"started_by"`
	EndedBy   *Actor     `json:"ended_by"`
	Automatic bool       `json:"automatic"`
	Cause     string     `json:"cause,omitempty"`
	// PolicyIDs is the scope; empty means the whole organization.
	PolicyIDs []string `json:"policy_ids"`
	// SignOutAtEnd: the sessions made during it end when it ends (by
	// hand or when it runs out); otherwise they run to their own expiry.
	SignOutAtEnd bool `json:"sign_out_at_end"`
}

// EmergencyFrom converts an emergency, in force or not at now.
func EmergencyFrom(e storage.Emergency, now time.Time) Emergency {
	out := Emergency{
		ID: e.ID, Reason: e.Reason, Active: e.InForce(now), StartedAt: e.StartedAt, EndsAt: e.EndsAt,
		EndReason: e.EndReason, StartedBy: Actor{e.StartedByType, e.StartedByID, e.StartedByEmail},
		Automatic: e.Automatic, Cause: e.Cause, PolicyIDs: e.PolicyIDs, SignOutAtEnd: e.SignOutAtEnd,
	}
	if out.PolicyIDs == nil {
		out.PolicyIDs = []string{}
	}
	if !e.EndedAt.IsZero() {
		t := e.EndedAt
		out.EndedAt = &t
		out.EndedBy = &Actor{e.EndedByType, e.EndedByID, e.EndedByEmail}
	}
	return out
}

// EmergencySignIn is a session made during an emergency.
type EmergencySignIn struct {
	SessionID string     `json:"session_id"`
	AccountID string     `json:"account_id"`
	Email     string     `json:"email"`
	Method    string     `json:"method"`
	AMR       []string   `json:"amr"`
	CreatedAt time.Time  `json:"created_at"`
	IP        string     `json:"ip"`
	RevokedAt *time.Time `json:"revoked_at"`
}

// EmergencySignInsFrom converts the sign-ins made during an emergency.
func EmergencySignInsFrom(ss []emergency.SignIn) []EmergencySignIn {
	out := make([]EmergencySignIn, 0, len(ss))
	for _, s := range ss {
		x := EmergencySignIn{SessionID: s.Session.ID, AccountID: s.Session.AccountID, Email: s.Email,
			Method: s.Session.Method, AMR: s.Session.AMR, CreatedAt: s.Session.CreatedAt, IP: s.Session.IP}
		if x.AMR == nil {
			x.AMR = []string{}
		}
		if !s.Session.RevokedAt.IsZero() {
			t := s.Session.RevokedAt
			x.RevokedAt = &t
		}
		out = append(out, x)
	}
	return out
}

// PasswordExposure is the warning a policy change that stops enforcing SSO
// carries: who gains a way in without SSO.
type PasswordExposure struct {
	Message string `json:"message"`
	// WithPassword have a password that works from now on; CanSetPassword
	// have none but can set one through the reset mail.
	WithPassword   []string `json:"with_password"`
	CanSetPassword []string `json:"can_set_password"`
}

// PasswordExposureFrom builds the warning; nil when nobody is exposed.
func PasswordExposureFrom(xs []emergency.Exposed) *PasswordExposure {
	if len(xs) == 0 {
		return nil
	}
	out := &PasswordExposure{
		Message:      "SSO is no longer enforced for this policy: the people listed can now sign in with a password, without the IdP. For an IdP outage, emergency mode (POST /api/v1/emergencies) is time-boxed and reversible.",
		WithPassword: []string{}, CanSetPassword: []string{},
	}
	for _, x := range xs {
		if x.HasPassword {
			out.WithPassword = append(out.WithPassword, x.Account.Email)
		} else {
			out.CanSetPassword = append(out.CanSetPassword, x.Account.Email)
		}
	}
	return out
}
