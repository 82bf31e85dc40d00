package mfa

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// Recovery codes: RecoveryCodeCount per set, each recoveryCodeLen
// characters of an alphabet without look-alikes (no 0/o, 1/l/i), shown as
// two groups of five ("k7m2p-xq9rt"). 31^10 is about 2^49.5: with the
// per-account throttle, guessing one of ten is hopeless.
const (
	RecoveryCodeCount = 10
	recoveryCodeLen   = 10
	recoveryAlphabet  = "23456789abcdefghjkmnpqrstuvwxyz"
)

// newRecoveryCode draws one code, uniformly (rand.Text-style rejection of
// the bytes that would bias the alphabet).
func newRecoveryCode() (string, error) {
	const n = len(recoveryAlphabet)
	limit := byte(256 - 256%n) // bytes at or above it would favour the first letters
	out := make([]byte, 0, recoveryCodeLen)
	buf := make([]byte, 32)
	for len(out) < recoveryCodeLen {
		if _, err := rand.Read(buf); err != nil {
			return "", fmt.Errorf("mfa: random recovery code: %w", err)
		}
		for _, b := range buf {
			if b < limit && len(out) < recoveryCodeLen {
				out = append(out, recoveryAlphabet[int(b)%n])
			}
		}
	}
	return string(out[:5]) + "-" + string(out[5:]), nil
}

// normaliseRecoveryCode strips what people add or change when typing a
// code (spaces, dashes, capitals) and reports whether what is left can be
// a code at all.
func normaliseRecoveryCode(code string) (string, bool) {
	var b strings.Builder
	for _, r := range strings.ToLower(code) {
		switch {
		case r == '-' || r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\u2010' || r == '\u2013':
		case r < 128 && strings.IndexByte(recoveryAlphabet, byte(r)) >= 0:
			b.WriteRune(r)
		default:
			return "", false
		}
	}
	if b.Len() != recoveryCodeLen {
		return "", false
	}
	return b.String(), true
}

// hashRecoveryCode is what is stored of a normalised code. Lookups go by
// this hash, so comparing codes never touches their text.
func hashRecoveryCode(normalised string) string {
	sum := sha256.Sum256([]byte(normalised))
	return hex.EncodeToString(sum[:])
}

// replaceCodes draws a new set for accountID, stores its hashes in place
// of the old set and returns the codes as shown to people.
func replaceCodes(ctx context.Context, tx storage.Store, accountID string, now time.Time) ([]string, error) {
	codes := make([]string, 0, RecoveryCodeCount)
	hashes := make([]string, 0, RecoveryCodeCount)
	seen := map[string]bool{}
	for len(codes) < RecoveryCodeCount {
		c, err := newRecoveryCode()
		if err != nil {
			return nil, err
		}
		n, _ := normaliseRecoveryCode(c)
		h := hashRecoveryCode(n)
		if seen[h] {
			continue
		}
		seen[h] = true
		codes, hashes = append(codes, c), append(hashes, h)
	}
	if err := tx.ReplaceRecoveryCodes(ctx, accountID, hashes, now); err != nil {
		return nil, fmt.Errorf("mfa: store recovery codes: %w", err)
	}
	return codes, nil
}

// RegenerateRecoveryCodes replaces acct's recovery codes with 10 new ones
// (acct must be the actor) and returns them; the old set, used or not,
// stops working at once.
func (s *Service) RegenerateRecoveryCodes(ctx context.Context, acct storage.Account) ([]string, error) {
	now := s.now()
	var codes []string
	err := s.store.InTx(ctx, func(tx storage.Store) error {
		if err := asSelf(ctx, tx, acct); err != nil {
			return err
		}
		var err error
		if codes, err = replaceCodes(ctx, tx, acct.ID, now); err != nil {
			return err
		}
		return audit.Record(ctx, tx, storage.AuditEvent{OrgID: acct.OrgID, Time: now, Action: ActionRecoveryRegenerate,
			TargetType: "account", TargetID: acct.ID, Details: map[string]string{"codes": strconv.Itoa(len(codes))}})
	})
	if err != nil {
		return nil, err
	}
	return codes, nil
}

// UseRecoveryCode spends one of accountID's recovery codes (the sign-in
// engine calls it; no actor). Input is normalised first; the code is found
// by its hash and marked used in one conditional write, so it works once
// even when sent twice at the same moment. Unknown, used or malformed
// codes answer ErrInvalidCode; too many of them *account.ThrottledError
// (the counter is the authenticator app's).
func (s *Service) UseRecoveryCode(ctx context.Context, accountID, code string) error {
	now := s.now()
	acct, err := s.lookup(ctx, accountID)
	if err != nil {
		return err
	}
	if err := s.reserve(ctx, acct.ID, now); err != nil {
		s.failure(ctx, acct, ActionRecoveryFailed, "throttled", now)
		return err
	}
	norm, ok := normaliseRecoveryCode(code)
	if !ok {
		s.failure(ctx, acct, ActionRecoveryFailed, "malformed", now)
		return ErrInvalidCode
	}
	errUnknown := errors.New("unknown code")
	err = s.store.InTx(ctx, func(tx storage.Store) error {
		if err := tx.UseRecoveryCode(ctx, acct.ID, hashRecoveryCode(norm), now); err != nil {
			if errors.Is(err, storage.ErrNotFound) {
				return errUnknown
			}
			return fmt.Errorf("mfa: use recovery code: %w", err)
		}
		left, err := tx.CountRecoveryCodes(ctx, acct.ID)
		if err != nil {
			return fmt.Errorf("mfa: count recovery codes: %w", err)
		}
		return audit.Record(ctx, tx, storage.AuditEvent{OrgID: acct.OrgID, Time: now, Action: ActionRecoveryUsed,
			TargetType: "account", TargetID: acct.ID, Details: map[string]string{"codes_left": strconv.Itoa(left)}})
	})
	if errors.Is(err, errUnknown) {
		s.failure(ctx, acct, ActionRecoveryFailed, "invalid_code", now)
		return ErrInvalidCode
	}
	if err != nil {
		return err
	}
	s.release(ctx, acct.ID)
	return nil
}
