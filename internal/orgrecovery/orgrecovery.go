// Package orgrecovery holds an organization's recovery codes: ten
// single-use codes an owner generates while things work and keeps on paper,
// each of which signs an owner in at /recover when every other way is shut
// — the IdP down, the organization's mail down with it, every admin locked
// out — without the IdP and without mail.
//
// Only SHA-256 hashes are stored; the codes are shown once. Generating a
// new set voids the old one. Every use is audited, mailed to all admins
// and throttled per address and per email; a wrong email, a wrong code and
// an account that is not an active owner all get the same answer.
package orgrecovery

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/errs"
	"github.com/gatehouse-id/gatehouse/internal/ratelimit"
	"github.com/gatehouse-id/gatehouse/internal/reqctx"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// Count is how many codes a set has.
const Count = 10

// Throttling of Redeem: attempts per email and per client address within
// the window, after which each further attempt waits, doubling up to a
// maximum. Ten codes of 80 bits leave guessing hopeless anyway; the limits
// keep the log readable and the server idle.
var (
	perEmail = storage.Backoff{Window: time.Hour, Limit: 5, BaseDelay: time.Minute, MaxDelay: time.Hour}
	perIP    = storage.Backoff{Window: time.Hour, Limit: 20, BaseDelay: time.Minute, MaxDelay: time.Hour}
)

// ErrInvalid is the one answer to a recovery sign-in that does not work:
// unknown email, not an active owner, wrong or used code.
var ErrInvalid = errs.New(errs.Unauthenticated, "recovery_code_invalid",
	"That email and recovery code do not work together. Check both and try again; each code works once.")

// ErrOwnerOnly refuses generating codes to anyone but an owner (or an
// owner-scoped token): a code signs in as an owner.
var ErrOwnerOnly = errs.New(errs.Forbidden, "owner_only", "Only an owner can generate organization recovery codes.")

// Notifier mails an organization's active owners and admins
// (*notify.Admins).
type Notifier interface {
	Send(ctx context.Context, orgID, subject, text string, except ...string) int
}

// Service generates and redeems organization recovery codes.
type Service struct {
	store  storage.Store
	notify Notifier
	log    *slog.Logger
	now    func() time.Time
}

// New returns a Service. notify may be nil (nothing is mailed; the audit
// log still records every use).
func New(store storage.Store, notify Notifier, log *slog.Logger, now func() time.Time) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, notify: notify, log: log, now: now}
}

func (s *Service) clock() time.Time { return storage.Truncate(s.now()) }

// alphabet has no 0/O or 1/I/L, so a code read off paper is typed right.
const alphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"

// newCode returns a code of 16 characters from alphabet (about 79 bits),
// in four groups: "7KQM-2XPA-HT4C-9VRD".
func newCode() (string, error) {
	var b strings.Builder
	buf := make([]byte, 1)
	for i := 0; i < 16; {
		if _, err := rand.Read(buf); err != nil {
			return "", fmt.Errorf("orgrecovery: random: %w", err)
		}
		// Rejection sampling keeps every character equally likely.
		if int(buf[0]) >= 256-256%len(alphabet) {
			continue
		}
		if i > 0 && i%4 == 0 {
			b.WriteByte('-')
		}
		b.WriteByte(alphabet[int(buf[0])%len(alphabet)])
		i++
	}
	return b.String(), nil
}

// normalize makes a typed code comparable: case, spaces and dashes do not
// matter.
func normalize(code string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '-' || r == ' ' || r == '\t':
			return -1
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		}
		return r
	}, code)
}

func hash(code string) string {
	sum := sha256.Sum256([]byte(normalize(code)))
	return hex.EncodeToString(sum[:])
}

// Generate makes a new set of Count codes for orgID, voiding the old set,
// and returns them: this is the only time they are shown. Owners only.
// Audited as recovery_codes.generate.
func (s *Service) Generate(ctx context.Context, orgID string) ([]string, error) {
	codes := make([]string, Count)
	for i := range codes {
		c, err := newCode()
		if err != nil {
			return nil, err
		}
		codes[i] = c
	}
	now := s.clock()
	err := s.store.InTx(ctx, func(tx storage.Store) error {
		actor, err := authz.RequireOwner(ctx, tx, orgID)
		if errors.Is(err, authz.ErrOwnerOnly) {
			return ErrOwnerOnly
		}
		if err != nil {
			return err
		}
		old, err := tx.ListOrgRecoveryCodes(ctx, orgID)
		if err != nil {
			return fmt.Errorf("orgrecovery: list codes: %w", err)
		}
		set := make([]storage.OrgRecoveryCode, len(codes))
		for i, c := range codes {
			set[i] = storage.OrgRecoveryCode{ID: uuid.NewString(), OrgID: orgID, CodeHash: hash(c), CreatedAt: now, CreatedBy: actor.ID}
		}
		if err := tx.ReplaceOrgRecoveryCodes(ctx, orgID, set); err != nil {
			return fmt.Errorf("orgrecovery: store codes: %w", err)
		}
		return record(ctx, tx, now, storage.AuditEvent{OrgID: orgID, Action: "recovery_codes.generate", TargetType: "organization",
			TargetID: orgID, Details: map[string]string{"count": fmt.Sprint(Count), "voided": fmt.Sprint(unused(old))}})
	})
	if err != nil {
		return nil, err
	}
	return codes, nil
}

func unused(cs []storage.OrgRecoveryCode) int {
	n := 0
	for _, c := range cs {
		if c.UsedAt.IsZero() {
			n++
		}
	}
	return n
}

// Status is what the console and the API show about the current set.
type Status struct {
	Generated   bool      // a set exists
	GeneratedAt time.Time // when the current set was made
	Left        int       // unused codes
	Used        int
}

// Status reports orgID's current set. Readers may see it.
func (s *Service) Status(ctx context.Context, orgID string) (Status, error) {
	if _, err := authz.RequireReader(ctx, s.store, orgID); err != nil {
		return Status{}, err
	}
	cs, err := s.store.ListOrgRecoveryCodes(ctx, orgID)
	if err != nil {
		return Status{}, fmt.Errorf("orgrecovery: list codes: %w", err)
	}
	st := Status{Generated: len(cs) > 0}
	for _, c := range cs {
		st.GeneratedAt = c.CreatedAt
		if c.UsedAt.IsZero() {
			st.Left++
		} else {
			st.Used++
		}
	}
	return st, nil
}

// Redeem checks email and code and, when they belong together — email is
// an active owner's and code an unused code of that owner's organization —
// marks the code used and returns the owner to sign in. Anything else is
// ErrInvalid (or *account.ThrottledError once the address or the email
// has tried too often). The caller's address comes from reqctx. Every
// attempt is audited as recovery_codes.use; a use is mailed to all admins.
func (s *Service) Redeem(ctx context.Context, email, code string) (storage.Account, error) {
	now := s.clock()
	info := reqctx.From(ctx)
	// Something that is not an address is refused like a wrong code, but
	// never stored: it gets no throttle key of its own (the address's
	// budget still counts it) and is not written to the audit log.
	norm, nerr := account.NormalizeEmail(email)
	if nerr != nil {
		norm = ""
	}
	var keys []struct {
		key string
		b   storage.Backoff
	}
	if norm != "" {
		keys = append(keys, struct {
			key string
			b   storage.Backoff
		}{"orgrec:acct:" + norm, perEmail})
	}
	if info.IP != "" {
		keys = append(keys, struct {
			key string
			b   storage.Backoff
		}{"orgrec:ip:" + ratelimit.ClientKey(info.IP), perIP})
	}
	var wait time.Duration
	errThrottled := errors.New("throttled")
	err := s.store.InTx(ctx, func(tx storage.Store) error {
		for _, k := range keys {
			t, ok, err := tx.ReserveAttempt(ctx, k.key, now, k.b)
			if err != nil {
				return fmt.Errorf("orgrecovery: reserve attempt: %w", err)
			}
			if !ok {
				wait = max(t.BlockedUntil.Sub(now).Round(time.Second), time.Second)
				return errThrottled
			}
		}
		return nil
	})
	acct, lookErr := s.store.GetAccountByEmail(ctx, norm)
	known := nerr == nil && lookErr == nil
	orgID := ""
	if known {
		orgID = acct.OrgID
	}
	if errors.Is(err, errThrottled) {
		s.refused(ctx, orgID, norm, "throttled", now)
		return storage.Account{}, &account.ThrottledError{RetryAfter: wait}
	}
	if err != nil {
		return storage.Account{}, err
	}
	h := hash(code) // also for unknown emails: the same work either way
	switch {
	case !known:
		s.refused(ctx, "", norm, "unknown_account", now)
		return storage.Account{}, ErrInvalid
	case acct.Role != storage.RoleOwner:
		s.refused(ctx, orgID, norm, "not_owner", now)
		return storage.Account{}, ErrInvalid
	case acct.Status != storage.StatusActive:
		s.refused(ctx, orgID, norm, "suspended", now)
		return storage.Account{}, ErrInvalid
	case normalize(code) == "":
		s.refused(ctx, orgID, norm, "wrong_code", now)
		return storage.Account{}, ErrInvalid
	}
	var left int
	err = s.store.InTx(ctx, func(tx storage.Store) error {
		c, err := tx.UseOrgRecoveryCode(ctx, acct.OrgID, h, acct.ID, now)
		if errors.Is(err, storage.ErrNotFound) {
			return ErrInvalid
		}
		if err != nil {
			return fmt.Errorf("orgrecovery: use code: %w", err)
		}
		cs, err := tx.ListOrgRecoveryCodes(ctx, acct.OrgID)
		if err != nil {
			return fmt.Errorf("orgrecovery: list codes: %w", err)
		}
		left = unused(cs)
		actx := reqctx.WithActor(ctx, "account", acct.ID, acct.Email)
		return record(actx, tx, now, storage.AuditEvent{OrgID: acct.OrgID, Action: "recovery_codes.use", TargetType: "account",
			TargetID: acct.ID, Details: map[string]string{"email": acct.Email, "code_id": c.ID, "codes_left": fmt.Sprint(left)}})
	})
	if errors.Is(err, ErrInvalid) {
		s.refused(ctx, orgID, norm, "wrong_code", now)
		return storage.Account{}, ErrInvalid
	}
	if err != nil {
		return storage.Account{}, err
	}
	// A code that worked is not a failure: give the attempts back.
	for _, k := range keys {
		if err := s.store.ReleaseAttempt(ctx, k.key, k.b); err != nil {
			s.log.WarnContext(ctx, "releasing a recovery attempt failed", "err", err)
		}
	}
	if s.notify != nil {
		s.notify.Send(ctx, acct.OrgID, "An organization recovery code was used",
			fmt.Sprintf("%s signed in with an organization recovery code at %s, from %s, without SSO and without mail.\n\n"+
				"%d of the organization's recovery codes are left. If this was not expected, suspend the account in the admin console "+
				"and generate new recovery codes (which voids the old ones).\n",
				acct.Email, now.UTC().Format("2 Jan 2006, 15:04 UTC"), orEmpty(info.IP, "an unknown address"), left))
	}
	return acct, nil
}

func orEmpty(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

// refused audits an attempt that did not sign anyone in, in the
// organization's log when the email names one of its accounts.
func (s *Service) refused(ctx context.Context, orgID, email, reason string, now time.Time) {
	err := s.store.InTx(ctx, func(tx storage.Store) error {
		return record(ctx, tx, now, storage.AuditEvent{OrgID: orgID, Action: "recovery_codes.use", Outcome: "failure",
			Reason: reason, TargetType: "account", Details: map[string]string{"email": email}})
	})
	if err != nil {
		s.log.ErrorContext(ctx, "cannot audit a refused recovery code", "err", err)
	}
}

func record(ctx context.Context, tx storage.Audit, now time.Time, e storage.AuditEvent) error {
	e.ID, e.Time = uuid.NewString(), now
	if e.Outcome == "" {
		e.Outcome = "success"
	}
	if err := audit.Record(ctx, tx, e); err != nil {
		return fmt.Errorf("orgrecovery: audit %s: %w", e.Action, err)
	}
	return nil
}
