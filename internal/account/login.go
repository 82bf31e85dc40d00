package account

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// PasswordAttempt is one password sign-in as the edge received it.
type PasswordAttempt struct {
	Email    string
	Password string
	IP       string // the client address; "" outside HTTP
	Device   string // the device cookie the browser sent, "" if none
	// Refuse, when set, is why the account may not sign in with a password
	// (its policy keeps it on SSO): the attempt is counted, checked against
	// a dummy hash and answered exactly like a wrong password, and audited
	// with this reason, so the answer says nothing about the policy.
	Refuse string
}

// Authenticated is a successful password sign-in.
type Authenticated struct {
	Account storage.Account
	// Device is the device cookie value to set (a fresh one at every
	// sign-in), named DeviceCookieNameFor and valid DeviceCookieLifetime.
	Device string
}

// Authenticate checks a password sign-in. It returns ErrBadCredentials for
// every failure (running a dummy argon2id verification for unknown
// accounts so timing says nothing), *ThrottledError when the attempt's
// counters are blocked, *BusyError when no password-hashing slot frees in
// time, and records failures and throttled attempts in the audit log. The
// caller then starts a session (which audits the success).
//
// The attempt is counted before the password is checked (see reserve), so
// concurrent guesses cannot all be checked against one unspent budget. The
// counters are the client address's and either the email's or, when the
// browser presents a valid device cookie for this email, that cookie's
// (see device.go); a cookie whose own counter blocks is trusted no more and
// the attempt is judged by the email's. A success clears the counter it was
// judged by — the email's only on the email's path, so a person signing in
// from their own device does not wipe an attacker's failures — and gives
// back the address's reservation.
//
// Input that is not valid UTF-8 is an *InvalidInputError: it says nothing
// about any account, and no stored password can match it.
func (s *Service) Authenticate(ctx context.Context, a PasswordAttempt) (Authenticated, error) {
	if !utf8.ValidString(a.Email) {
		return Authenticated{}, &InvalidInputError{Field: "email", Message: "The email address contains characters that are not valid text."}
	}
	if !utf8.ValidString(a.Password) {
		return Authenticated{}, &InvalidInputError{Field: "password", Message: "The password contains characters that are not valid text."}
	}
	if err := checkIP(a.IP); err != nil {
		return Authenticated{}, err
	}
	now := s.clock()
	norm, err := NormalizeEmail(a.Email)
	if err != nil {
		// Not an address: no account can match, but answer like a wrong
		// password (same cost, same counter on the address).
		norm = ""
	}

	device := s.deviceID(a.Device, norm, now)
	keys := s.cfg.Throttle.throttleKeys(norm, a.IP, device)
	wait, refused, err := s.reserve(ctx, keys, now)
	if err != nil {
		return Authenticated{}, err
	}
	if wait > 0 && device != "" && refused == deviceKey(device) {
		// A device cookie that keeps failing may be in a guesser's hands.
		device = ""
		keys = s.cfg.Throttle.throttleKeys(norm, a.IP, "")
		if wait, _, err = s.reserve(ctx, keys, now); err != nil {
			return Authenticated{}, err
		}
	}
	if wait > 0 {
		e := loginEvent("login.throttled", "throttled", norm, a.IP)
		if norm != "" {
			if acct, err := s.store.GetAccountByEmail(ctx, norm); err == nil {
				e.OrgID, e.TargetType, e.TargetID = acct.OrgID, "account", acct.ID
			}
		}
		e.Details["retry_after_s"] = strconv.FormatInt(int64(wait.Seconds()), 10)
		if err := s.recordOutside(ctx, now, e); err != nil {
			return Authenticated{}, err
		}
		return Authenticated{}, &ThrottledError{RetryAfter: wait}
	}

	var acct storage.Account
	var reason string
	if norm == "" {
		reason = "unknown_account"
	} else {
		acct, err = s.store.GetAccountByEmail(ctx, norm)
		switch {
		case errors.Is(err, storage.ErrNotFound):
			reason = "unknown_account"
		case err != nil:
			s.release(ctx, keys)
			return Authenticated{}, fmt.Errorf("account: sign-in lookup: %w", err)
		case acct.Status != storage.StatusActive:
			reason = "suspended"
		case acct.PasswordHash == "":
			reason = "no_password"
		}
	}
	if reason == "" && a.Refuse != "" {
		reason = a.Refuse
	}
	hash := acct.PasswordHash
	if reason != "" {
		hash = "" // a dummy verification
	}
	ok, verr, err := s.verifyPassword(ctx, hash, a.Password)
	if err != nil {
		// Not checked: the attempt is not a failure.
		s.release(ctx, keys)
		return Authenticated{}, err
	}
	switch {
	case reason != "":
	case verr != nil:
		// A corrupt hash must not sign anyone in; the owner can reset.
		s.log.ErrorContext(ctx, "stored password hash is unusable", "account_id", acct.ID, "err", verr)
		reason = "invalid_hash"
	case !ok:
		reason = "bad_password"
	}

	if reason != "" {
		// Already counted by reserve; only the audit event is left.
		e := loginEvent("login.failure", reason, norm, a.IP)
		if acct.ID != "" {
			e.OrgID, e.TargetType, e.TargetID = acct.OrgID, "account", acct.ID
		}
		if device != "" {
			e.Details["device_cookie"] = "trusted"
		}
		if err := s.recordOutside(ctx, now, e); err != nil {
			return Authenticated{}, err
		}
		return Authenticated{}, ErrBadCredentials
	}

	// The counter the attempt was judged by is cleared; the address's only
	// gets its reservation back, since it may be shared (an office NAT) and
	// its other failures still count.
	judged, rest := keys[0], keys[1:]
	if err := s.store.ClearThrottle(ctx, judged.key); err != nil {
		s.log.WarnContext(ctx, "clearing sign-in throttle failed", "account_id", acct.ID, "err", err)
	}
	s.release(ctx, rest)
	cookie, err := s.issueDevice(norm, now)
	if err != nil {
		return Authenticated{}, err
	}
	return Authenticated{Account: acct, Device: cookie}, nil
}

// loginEvent is the audit event of a sign-in that did not succeed. The
// reason is for the log only; the person sees ErrBadCredentials.
func loginEvent(action, reason, email, ip string) storage.AuditEvent {
	e := storage.AuditEvent{
		Action:  action,
		Outcome: "failure",
		Reason:  reason,
		IP:      ip,
		Details: map[string]string{},
	}
	if email != "" {
		e.Details["email"] = email
	}
	return e
}
