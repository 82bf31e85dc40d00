package apiview

import (
	"time"

	"github.com/gatehouse-id/gatehouse/internal/breakglass"
	"github.com/gatehouse-id/gatehouse/internal/orgrecovery"
)

// BreakGlassAdmin is one break-glass admin in JSON.
type BreakGlassAdmin struct {
	ID     string `json:"id"`
	Email  string `json:"email"`
	Role   string `json:"role"`
	Policy string `json:"policy"`
	// SecondFactor is "enrolled", "none" or "unknown" (Gatehouse cannot
	// tell: no MFA lookup is wired).
	SecondFactor string `json:"second_factor"`
}

// BreakGlassWarning is what is wrong with the set of break-glass admins.
type BreakGlassWarning struct {
	Code    string `json:"code"`    // none, fewer_than_two, no_second_factor, no_owner, factor_unknown
	Message string `json:"message"` // the same plain words the console shows
}

// BreakGlass is the JSON of GET /break-glass.
type BreakGlass struct {
	Admins   []BreakGlassAdmin   `json:"admins"`
	Warnings []BreakGlassWarning `json:"warnings"`
}

// BreakGlassFrom converts a breakglass.Report.
func BreakGlassFrom(r breakglass.Report) BreakGlass {
	out := BreakGlass{Admins: []BreakGlassAdmin{}, Warnings: []BreakGlassWarning{}}
	for _, a := range r.Admins {
		out.Admins = append(out.Admins, BreakGlassAdmin{ID: a.ID, Email: a.Email, Role: string(a.Role), Policy: a.Policy, SecondFactor: a.SecondFactor})
	}
	for _, c := range r.Warnings {
		out.Warnings = append(out.Warnings, BreakGlassWarning{Code: c, Message: breakglass.Words(c)})
	}
	return out
}

// RecoveryCodesStatus is the JSON of GET /recovery-codes: the state of the
// organization's recovery codes, never the codes.
type RecoveryCodesStatus struct {
	Generated   bool       `json:"generated"`
	GeneratedAt *time.Time `json:"generated_at"` // null when never generated
	Left        int        `json:"left"`
	Used        int        `json:"used"`
}

// RecoveryCodesStatusFrom converts an orgrecovery.Status.
func RecoveryCodesStatusFrom(s orgrecovery.Status) RecoveryCodesStatus {
	out := RecoveryCodesStatus{Generated: s.Generated, Left: s.Left, Used: s.Used}
	if s.Generated {
		t := s.GeneratedAt.UTC()
		out.GeneratedAt = &t
	}
	return out
}

// RecoveryCodes is the JSON of POST /recovery-codes: the new set, shown
// this once.
type RecoveryCodes struct {
	Codes []string `json:"codes"`
}
