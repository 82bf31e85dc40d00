package apiview

import "github.com/gatehouse-id/gatehouse/internal/mfa"

// FactorReset is the JSON answer of an admin reset of a member's sign-in
// methods (POST /members/{id}/reset-factors, `gatehouse admin member
// reset-factors --json`): what was removed, counted.
type FactorReset struct {
	Member                   Member `json:"member"`
	TOTPRemoved              bool   `json:"totp_removed"`
	RecoveryCodesRemoved     int    `json:"recovery_codes_removed"`
	PasskeysRemoved          int    `json:"passkeys_removed"`
	EmergencyPasskeysRemoved int    `json:"emergency_passkeys_removed"`
	SessionsRevoked          int    `json:"sessions_revoked"`
}

// FactorResetFrom converts the service's result.
func FactorResetFrom(r mfa.ResetResult) FactorReset {
	return FactorReset{
		Member: MemberFrom(r.Account), TOTPRemoved: r.TOTPRemoved, RecoveryCodesRemoved: r.RecoveryCodes,
		PasskeysRemoved: r.Passkeys, EmergencyPasskeysRemoved: r.EmergencyPasskeys, SessionsRevoked: r.SessionsRevoked,
	}
}
