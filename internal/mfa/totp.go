package mfa

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"fmt"
	"image/png"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// The TOTP parameters every common authenticator app supports (RFC 6238's
// defaults): HMAC-SHA1, 6 digits, 30-second steps, a 160-bit secret.
const (
	totpPeriod = 30
	totpDigits = otp.DigitsSix
	totpSkew   = 1 // steps accepted either side of now: a clock off by up to 30 s
	qrSize     = 240
)

var totpOpts = totp.ValidateOpts{Period: totpPeriod, Digits: totpDigits, Algorithm: otp.AlgorithmSHA1}

// TOTPEnrolment is what the person needs to add Gatehouse to their app:
// the secret (base32, for typing in), the otpauth:// URI and a QR code of
// it as a PNG.
type TOTPEnrolment struct {
	Secret string
	URI    string
	QRPNG  []byte
}

// sealContext binds a sealed secret to its account: moved to another
// account's row, it does not open.
func sealContext(accountID string) string { return "mfa.totp:" + accountID }

// BeginTOTP starts an authenticator app set-up for acct, who must be the
// actor: it stores a new pending secret (replacing a pending one, leaving
// an app in use untouched: ConfirmTOTP refuses while one is in use, so an
// app is replaced only after removing it with its code) and returns what
// the person scans or types.
func (s *Service) BeginTOTP(ctx context.Context, acct storage.Account) (TOTPEnrolment, error) {
	now := s.now()
	var enr TOTPEnrolment
	err := s.store.InTx(ctx, func(tx storage.Store) error {
		if err := asSelf(ctx, tx, acct); err != nil {
			return err
		}
		issuer := s.issuer
		if o, err := tx.GetOrganization(ctx, acct.OrgID); err == nil && strings.TrimSpace(o.Name) != "" {
			issuer = o.Name
		} else if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("mfa: read organization: %w", err)
		}
		if issuer == "" {
			issuer = "Gatehouse"
		}
		key, err := totp.Generate(totp.GenerateOpts{Issuer: issuer, AccountName: acct.Email,
			Period: totpPeriod, Digits: totpDigits, Algorithm: otp.AlgorithmSHA1})
		if err != nil {
			return fmt.Errorf("mfa: generate secret: %w", err)
		}
		sealed, err := s.box.Seal(key.Secret(), sealContext(acct.ID))
		if err != nil {
			return fmt.Errorf("mfa: seal secret: %w", err)
		}
		if err := tx.SetPendingTOTP(ctx, acct.ID, sealed, now); err != nil {
			return fmt.Errorf("mfa: store pending secret: %w", err)
		}
		if err := audit.Record(ctx, tx, storage.AuditEvent{OrgID: acct.OrgID, Time: now, Action: ActionTOTPBegun,
			TargetType: "account", TargetID: acct.ID}); err != nil {
			return err
		}
		enr = TOTPEnrolment{Secret: key.Secret(), URI: key.URL()}
		return nil
	})
	if err != nil {
		return TOTPEnrolment{}, err
	}
	png, err := qrPNG(enr.URI)
	if err != nil {
		return TOTPEnrolment{}, err
	}
	enr.QRPNG = png
	return enr, nil
}

// PendingTOTP returns the set-up in progress again (the page shows it once
// more after a mistyped code), or ErrNoTOTPEnrolment. acct must be the
// actor.
func (s *Service) PendingTOTP(ctx context.Context, acct storage.Account) (TOTPEnrolment, error) {
	var sealed string
	err := s.store.InTx(ctx, func(tx storage.Store) error {
		if err := asSelf(ctx, tx, acct); err != nil {
			return err
		}
		f, err := tx.GetTOTPFactor(ctx, acct.ID)
		if errors.Is(err, storage.ErrNotFound) || (err == nil && f.PendingSecret == "") {
			return ErrNoTOTPEnrolment
		}
		if err != nil {
			return fmt.Errorf("mfa: read authenticator app: %w", err)
		}
		sealed = f.PendingSecret
		return nil
	})
	if err != nil {
		return TOTPEnrolment{}, err
	}
	secret, err := s.box.Open(sealed, sealContext(acct.ID))
	if err != nil {
		return TOTPEnrolment{}, fmt.Errorf("mfa: open pending secret: %w", err)
	}
	issuer := s.issuer
	if o, err := s.store.GetOrganization(ctx, acct.OrgID); err == nil && strings.TrimSpace(o.Name) != "" {
		issuer = o.Name
	}
	if issuer == "" {
		issuer = "Gatehouse"
	}
	key, err := keyFor(issuer, acct.Email, secret)
	if err != nil {
		return TOTPEnrolment{}, err
	}
	png, err := qrPNG(key.URL())
	if err != nil {
		return TOTPEnrolment{}, err
	}
	return TOTPEnrolment{Secret: secret, URI: key.URL(), QRPNG: png}, nil
}

// keyFor builds the otpauth key of an existing base32 secret, as
// totp.Generate would for it.
func keyFor(issuer, email, secret string) (*otp.Key, error) {
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ToUpper(secret))
	if err != nil || len(raw) == 0 {
		return nil, fmt.Errorf("mfa: stored secret is not base32")
	}
	return totp.Generate(totp.GenerateOpts{Issuer: issuer, AccountName: email, Period: totpPeriod,
		Digits: totpDigits, Algorithm: otp.AlgorithmSHA1, Secret: raw})
}

func qrPNG(uri string) ([]byte, error) {
	key, err := otp.NewKeyFromURL(uri)
	if err != nil {
		return nil, fmt.Errorf("mfa: parse otpauth URI: %w", err)
	}
	img, err := key.Image(qrSize, qrSize)
	if err != nil {
		return nil, fmt.Errorf("mfa: draw QR code: %w", err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("mfa: encode QR code: %w", err)
	}
	return buf.Bytes(), nil
}

// ConfirmTOTP activates acct's pending secret when code is right for it
// (acct must be the actor). The confirming code's step counts as used.
// When the account has no unused recovery codes it gets 10 new ones,
// returned here and never again; otherwise recoveryCodes is nil and the
// existing ones stay valid.
func (s *Service) ConfirmTOTP(ctx context.Context, acct storage.Account, code string) (recoveryCodes []string, err error) {
	now := s.now()
	err = s.store.InTx(ctx, func(tx storage.Store) error {
		recoveryCodes = nil
		if err := asSelf(ctx, tx, acct); err != nil {
			return err
		}
		f, err := tx.GetTOTPFactor(ctx, acct.ID)
		if errors.Is(err, storage.ErrNotFound) || (err == nil && f.PendingSecret == "") {
			return ErrNoTOTPEnrolment
		}
		if err != nil {
			return fmt.Errorf("mfa: read authenticator app: %w", err)
		}
		if f.Secret != "" {
			// An app is in use. Removing it asks for its code; replacing it
			// must not ask less, or whoever holds a session (or, at
			// sign-in, the password and an old enrolment step) swaps the
			// person's app for their own. Remove first, then set up anew.
			return ErrNoTOTPEnrolment
		}
		secret, err := s.box.Open(f.PendingSecret, sealContext(acct.ID))
		if err != nil {
			return fmt.Errorf("mfa: open pending secret: %w", err)
		}
		step, ok := matchStep(secret, code, now)
		if !ok {
			return ErrInvalidCode
		}
		if err := tx.ConfirmTOTPFactor(ctx, acct.ID, f.PendingSecret, step, now); err != nil {
			if errors.Is(err, storage.ErrConflict) {
				return ErrNoTOTPEnrolment
			}
			return fmt.Errorf("mfa: confirm authenticator app: %w", err)
		}
		left, err := tx.CountRecoveryCodes(ctx, acct.ID)
		if err != nil {
			return fmt.Errorf("mfa: count recovery codes: %w", err)
		}
		if left == 0 {
			if recoveryCodes, err = replaceCodes(ctx, tx, acct.ID, now); err != nil {
				return err
			}
		}
		details := map[string]string{"recovery_codes_issued": "0"}
		if recoveryCodes != nil {
			details["recovery_codes_issued"] = fmt.Sprint(len(recoveryCodes))
		}
		return audit.Record(ctx, tx, storage.AuditEvent{OrgID: acct.OrgID, Time: now, Action: ActionTOTPEnrolled,
			TargetType: "account", TargetID: acct.ID, Details: details})
	})
	if err != nil {
		return nil, err
	}
	return recoveryCodes, nil
}

// RemoveTOTP removes acct's authenticator app, confirmed and pending (acct
// must be the actor). The recovery codes stay: see the package comment.
// Removing an app that is not there is not an error and not audited.
// Asking for a current code first is the caller's part.
func (s *Service) RemoveTOTP(ctx context.Context, acct storage.Account) error {
	now := s.now()
	return s.store.InTx(ctx, func(tx storage.Store) error {
		if err := asSelf(ctx, tx, acct); err != nil {
			return err
		}
		err := tx.DeleteTOTPFactor(ctx, acct.ID)
		if errors.Is(err, storage.ErrNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("mfa: remove authenticator app: %w", err)
		}
		if err := keepBreakGlass(ctx, tx, acct, s.secondFactor); err != nil {
			return err
		}
		return audit.Record(ctx, tx, storage.AuditEvent{OrgID: acct.OrgID, Time: now, Action: ActionTOTPRemoved,
			TargetType: "account", TargetID: acct.ID})
	})
}

// VerifyTOTP checks code against accountID's confirmed authenticator app
// (the sign-in engine calls it; no actor). A code of now's step or one step
// either side is accepted once: its step must come after the last one
// used. Wrong, replayed or malformed codes, and accounts without an app,
// all answer ErrInvalidCode; too many of them *account.ThrottledError.
func (s *Service) VerifyTOTP(ctx context.Context, accountID, code string) error {
	now := s.now()
	code = strings.Join(strings.Fields(code), "")
	acct, err := s.lookup(ctx, accountID)
	if err != nil {
		return err
	}
	if err := s.reserve(ctx, acct.ID, now); err != nil {
		s.failure(ctx, acct, ActionTOTPFailed, "throttled", now)
		return err
	}
	f, err := s.store.GetTOTPFactor(ctx, acct.ID)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && f.Secret == "") {
		s.failure(ctx, acct, ActionTOTPFailed, "not_enrolled", now)
		return ErrInvalidCode
	}
	if err != nil {
		return fmt.Errorf("mfa: read authenticator app: %w", err)
	}
	secret, err := s.box.Open(f.Secret, sealContext(acct.ID))
	if err != nil {
		return fmt.Errorf("mfa: open secret: %w", err)
	}
	step, ok := matchStep(secret, code, now)
	if !ok {
		s.failure(ctx, acct, ActionTOTPFailed, "invalid_code", now)
		return ErrInvalidCode
	}
	errReplay := errors.New("replayed")
	err = s.store.InTx(ctx, func(tx storage.Store) error {
		if err := tx.UseTOTPStep(ctx, acct.ID, step, now); err != nil {
			if errors.Is(err, storage.ErrConflict) {
				return errReplay
			}
			return fmt.Errorf("mfa: use time step: %w", err)
		}
		return audit.Record(ctx, tx, storage.AuditEvent{OrgID: acct.OrgID, Time: now, Action: ActionTOTPVerified,
			TargetType: "account", TargetID: acct.ID})
	})
	if errors.Is(err, errReplay) {
		s.failure(ctx, acct, ActionTOTPFailed, "replayed", now)
		return ErrInvalidCode
	}
	if err != nil {
		return err
	}
	s.release(ctx, acct.ID)
	return nil
}

// matchStep returns the time step within one step of now whose code is
// code. Every candidate is computed and compared in constant time, so the
// time taken says nothing about which one (if any) matched.
func matchStep(secret, code string, now time.Time) (int64, bool) {
	if len(code) != int(totpDigits) || strings.Trim(code, "0123456789") != "" {
		return 0, false
	}
	cur := now.Unix() / totpPeriod
	var found int64
	ok := 0
	for d := int64(-totpSkew); d <= totpSkew; d++ {
		want, err := totp.GenerateCodeCustom(secret, time.Unix((cur+d)*totpPeriod, 0), totpOpts)
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			// The latest matching step wins: accepting it also retires
			// the earlier ones.
			found, ok = cur+d, 1
		}
	}
	return found, ok == 1
}
